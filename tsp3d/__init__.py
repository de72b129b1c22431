"""tsp3d: train, export and deploy TSP3D (text-guided sparse voxel pruning for 3D visual grounding)."""
__version__ = "0.1.0"
OPSET_DOMAIN = "tsp3d"
OPSET_VERSION = 1
