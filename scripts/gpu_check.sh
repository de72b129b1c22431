#!/usr/bin/env bash
# GPU check for a machine with a CUDA GPU and nvcc but no TensorRT and no network (e.g. Python 3.12, torch+cu13x,
# CMake, 16 cores), run from a copy of the working tree. In under 8 minutes it:
#   1. builds the CPU and CUDA kernels (and the TensorRT plugin glue when TensorRT headers are found: a real
#      install via TENSORRT_ROOT, or the kernel-lens wheel carried in .whl/) for this GPU's architecture only;
#   2. runs the C++ tests (CPU kernels, plugin glue, and each plugin's enqueue against the CPU kernels);
#   3. compares every CUDA kernel with the CPU kernels (scripts/gpu_check.py) and writes the JSON report.
#
#   bash scripts/gpu_check.sh [OUT_DIR]        # OUT_DIR (default: out/gpu_check) receives gpu_check.json + logs
# Environment: PYTHON (default python3), BUILD_DIR (default build/gpu), JOBS (default nproc), SCALE (case size,
# default 1.0), TENSORRT_ROOT. Exit status: 0 all checks passed, 1 a check failed, 2 setup/build failed.
set -uo pipefail
cd "$(dirname "$0")/.."
OUT_DIR=${1:-out/gpu_check}
PYTHON=${PYTHON:-python3}
BUILD_DIR=${BUILD_DIR:-build/gpu}
JOBS=${JOBS:-$(nproc)}
SCALE=${SCALE:-1.0}
mkdir -p "$OUT_DIR"
START=$(date +%s)
say() { printf '\n== %s (%ss)\n' "$*" "$(( $(date +%s) - START ))"; }
status=0

say "Environment"
nvidia-smi --query-gpu=name,driver_version,compute_cap,memory.total --format=csv,noheader || { echo "no GPU"; exit 2; }
nvcc --version | tail -1
"$PYTHON" -c "import torch; print('torch', torch.__version__, 'cuda', torch.version.cuda, torch.cuda.get_device_name(0))" || exit 2

# This GPU's architecture only: a full-matrix build is CI's job.
ARCH=$(nvidia-smi --query-gpu=compute_cap --format=csv,noheader | head -1 | tr -d ' .')
[ -n "$ARCH" ] || ARCH=native

TRT_ARGS=()
if [ -n "${TENSORRT_ROOT:-}" ]; then
  TRT_ARGS=(-DTENSORRT_ROOT="$TENSORRT_ROOT")
elif ls .whl/kernel_lens-*.whl >/dev/null 2>&1; then
  "$PYTHON" -m pip install -q --no-index --no-deps --no-compile --target /tmp/tsp3d_kernel_lens .whl/kernel_lens-*.whl \
    && TRT_ARGS=(-DTENSORRT_INCLUDE_DIR=/tmp/tsp3d_kernel_lens/kernel_lens/include/tensorrt)
fi
[ ${#TRT_ARGS[@]} -gt 0 ] || echo "no TensorRT headers (TENSORRT_ROOT or .whl/kernel_lens-*.whl): plugin glue not built"

say "Configure and build (sm_$ARCH, $JOBS jobs)"
# No ONNX Runtime headers on such a machine (no network): the ORT library is CI's job too.
cmake -S plugins -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release -DTSP3D_BUILD_ORT=OFF \
  -DCMAKE_CUDA_ARCHITECTURES="$ARCH" -DCMAKE_CUDA_COMPILER="$(command -v nvcc)" "${TRT_ARGS[@]}" \
  > "$OUT_DIR/configure.log" 2>&1 || { tail -30 "$OUT_DIR/configure.log"; exit 2; }
grep "tsp3d:" "$OUT_DIR/configure.log"
cmake --build "$BUILD_DIR" -j "$JOBS" > "$OUT_DIR/build.log" 2>&1 || { grep -E "error" "$OUT_DIR/build.log" | head -40; exit 2; }
ls -la "$BUILD_DIR/lib"

say "C++ tests (CPU kernels, plugin glue, plugin enqueue vs CPU kernels)"
ctest --test-dir "$BUILD_DIR" --output-on-failure -j 4 2>&1 | tee "$OUT_DIR/ctest.log" | tail -25
grep -q "tests passed, 0 tests failed" "$OUT_DIR/ctest.log" || status=1

say "CUDA kernels vs CPU kernels (scripts/gpu_check.py)"
PYTHONUNBUFFERED=1 "$PYTHON" scripts/gpu_check.py --lib-dir "$BUILD_DIR/lib" --scale "$SCALE" \
  --json "$OUT_DIR/gpu_check.json" --force 2>&1 | tee "$OUT_DIR/gpu_check.log"
[ "${PIPESTATUS[0]}" -eq 0 ] || status=1

say "Done: $([ $status -eq 0 ] && echo PASS || echo FAIL); report in $OUT_DIR"
exit $status
