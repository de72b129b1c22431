#!/usr/bin/env bash
# Configure and build plugins/ (C++ CPU kernels, ONNX Runtime library, and the CUDA/TensorRT parts where nvcc is
# present) into build/plugins, then run the C++ tests. Prints what it skipped and why.
#
#   scripts/build_plugins.sh [--no-tests]
#
# Environment: BUILD_DIR (default build/plugins), JOBS (default 2), ONNXRUNTIME_INCLUDE_DIR (ORT headers; fetched
# into third_party/onnxruntime otherwise), TENSORRT_ROOT (passed on to CMake), TSP3D_NATIVE=OFF (portable CPU
# code instead of -march=native), TSP3D_BUILD_CUDA=OFF (skip the CUDA/TensorRT parts even where nvcc exists),
# CMAKE_ARGS (extra arguments for the configure step).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD_DIR="${BUILD_DIR:-$ROOT/build/plugins}"
JOBS="${JOBS:-2}"
RUN_TESTS=1
for arg in "$@"; do
  case "$arg" in
    --no-tests) RUN_TESTS=0 ;;
    -h|--help) sed -n '2,10p' "$0"; exit 0 ;;
    *) echo "build_plugins: unknown argument '$arg'" >&2; exit 2 ;;
  esac
done

for tool in cmake c++; do
  command -v "$tool" >/dev/null || { echo "build_plugins: error: '$tool' not found" >&2; exit 1; }
done

ARGS=(-DCMAKE_BUILD_TYPE=Release "-DTSP3D_NATIVE=${TSP3D_NATIVE:-ON}")
SKIPPED=()

# ONNX Runtime headers (for libtsp3d_ort.so).
if "$ROOT/scripts/fetch_ort_headers.sh"; then
  ORT_INCLUDE="${ONNXRUNTIME_INCLUDE_DIR:-$ROOT/third_party/onnxruntime/include}"
  ARGS+=(-DTSP3D_BUILD_ORT=ON "-DONNXRUNTIME_INCLUDE_DIR=$ORT_INCLUDE")
else
  ARGS+=(-DTSP3D_BUILD_ORT=OFF)
  SKIPPED+=("libtsp3d_ort.so (no ONNX Runtime headers: see the fetch error above, or set ONNXRUNTIME_INCLUDE_DIR)")
fi

# CUDA / TensorRT parts: need nvcc and their sources.
NVCC="$(command -v nvcc || true)"
[[ -z "$NVCC" && -x /usr/local/cuda/bin/nvcc ]] && NVCC=/usr/local/cuda/bin/nvcc
if [[ "${TSP3D_BUILD_CUDA:-ON}" == OFF ]]; then
  ARGS+=(-DTSP3D_BUILD_CUDA=OFF)
  SKIPPED+=("CUDA kernels, TensorRT plugins, robot runtime (TSP3D_BUILD_CUDA=OFF)")
elif [[ -z "$NVCC" ]]; then
  ARGS+=(-DTSP3D_BUILD_CUDA=OFF)
  SKIPPED+=("CUDA kernels, TensorRT plugins, robot runtime (nvcc not found)")
elif [[ ! -f "$ROOT/plugins/kernels/cuda/CMakeLists.txt" ]]; then
  ARGS+=(-DTSP3D_BUILD_CUDA=OFF)
  SKIPPED+=("CUDA kernels, TensorRT plugins, robot runtime (plugins/kernels/cuda has no CMakeLists.txt)")
else
  ARGS+=(-DTSP3D_BUILD_CUDA=ON "-DCMAKE_CUDA_COMPILER=$NVCC")
  if [[ -f "$ROOT/plugins/trt/CMakeLists.txt" ]]; then
    ARGS+=(-DTSP3D_BUILD_TRT=ON)
  else
    ARGS+=(-DTSP3D_BUILD_TRT=OFF)
    SKIPPED+=("TensorRT plugins (plugins/trt has no CMakeLists.txt)")
  fi
  if [[ -f "$ROOT/plugins/runtime/CMakeLists.txt" ]]; then
    ARGS+=(-DTSP3D_BUILD_RUNTIME=ON)
  else
    ARGS+=(-DTSP3D_BUILD_RUNTIME=OFF)
    SKIPPED+=("robot runtime (plugins/runtime has no CMakeLists.txt)")
  fi
fi
[[ -n "${TENSORRT_ROOT:-}" ]] && ARGS+=("-DTENSORRT_ROOT=$TENSORRT_ROOT")
# shellcheck disable=SC2206
[[ -n "${CMAKE_ARGS:-}" ]] && ARGS+=(${CMAKE_ARGS})

echo "build_plugins: configuring $BUILD_DIR"
cmake -S "$ROOT/plugins" -B "$BUILD_DIR" "${ARGS[@]}"
echo "build_plugins: building (-j$JOBS)"
cmake --build "$BUILD_DIR" -j "$JOBS"

if [[ "$RUN_TESTS" == 1 ]]; then
  echo "build_plugins: running the C++ tests"
  (cd "$BUILD_DIR" && ctest --output-on-failure)
else
  SKIPPED+=("C++ tests (--no-tests)")
fi

echo "build_plugins: libraries in $BUILD_DIR/lib:"
ls -1 "$BUILD_DIR/lib" 2>/dev/null | sed 's/^/  /' || echo "  (none)"
if [[ ${#SKIPPED[@]} -gt 0 ]]; then
  echo "build_plugins: skipped:"
  printf '  %s\n' "${SKIPPED[@]}"
fi
