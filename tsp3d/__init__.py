"""tsp3d: train, export and deploy TSP3D (text-guided sparse voxel pruning for 3D visual grounding)."""
import os as _os

# PyTorch's OpenMP workers spin after every op and starve our C++ kernels' own thread pool: measured 10x slower
# eager forwards with the cpp sparse backend at 2 threads (docs/BENCHMARKS.md). Only effective when tsp3d is
# imported before torch (the CLI does); an explicit setting wins.
_os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

__version__ = "0.1.0"
OPSET_DOMAIN = "tsp3d"
OPSET_VERSION = 1
