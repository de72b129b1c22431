#!/usr/bin/env bash
# Builds libtsp3d_trt.so, tsp3d_infer and the plugin glue tests against the TensorRT headers in INCLUDE_DIR (no
# TensorRT libraries needed: nothing links libnvinfer), then runs the CPU glue tests built against them. Use it
# to check a TensorRT release before deploying, e.g. the headers of the NVIDIA/TensorRT repository:
#
#   git --git-dir=/work/.mirror/NVIDIA+TensorRT/repo archive v10.3.0 include | tar -x -C /tmp/trt-10.3
#   bash scripts/check_trt_headers.sh /tmp/trt-10.3/include [PARSER_INCLUDE_DIR]
#
# PARSER_INCLUDE_DIR: a directory with NvOnnxParser.h (an onnx-tensorrt checkout) when INCLUDE_DIR has none, so
# that tsp3d_infer's engine-building path is compiled too. Environment: BUILD_DIR (default
# build/trt-headers/<version>), CUDA_ARCH (default 87: the headers are what is checked, one architecture is
# enough), JOBS (default 2). Exit status: 0 built and tests passed, 1 a build or test failed, 2 bad arguments.
# The headers are read where they are; never copy them into the repository.
set -uo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
INC="${1:-}"
PARSER="${2:-}"
if [[ -z "$INC" || ! -f "$INC/NvInferRuntime.h" || ! -f "$INC/NvInferVersion.h" ]]; then
  echo "check_trt_headers: error: '${INC}' has no NvInferRuntime.h / NvInferVersion.h" >&2
  echo "usage: bash scripts/check_trt_headers.sh INCLUDE_DIR [PARSER_INCLUDE_DIR]" >&2
  exit 2
fi
INC="$(cd "$INC" && pwd)"
version() {
  local major minor
  major=$(grep -hoE "define (NV_TENSORRT_MAJOR|TRT_MAJOR_ENTERPRISE) [0-9]+" "$INC/NvInferVersion.h" | head -1 | awk '{print $3}')
  minor=$(grep -hoE "define (NV_TENSORRT_MINOR|TRT_MINOR_ENTERPRISE) [0-9]+" "$INC/NvInferVersion.h" | head -1 | awk '{print $3}')
  echo "${major}.${minor}"
}
VERSION=$(version)
BUILD_DIR="${BUILD_DIR:-$ROOT/build/trt-headers/$VERSION}"
NVCC="$(command -v nvcc || echo /usr/local/cuda/bin/nvcc)"
[[ -x "$NVCC" ]] || { echo "check_trt_headers: error: nvcc not found (the plugin library links the CUDA kernels)" >&2; exit 2; }
ARGS=(-DCMAKE_BUILD_TYPE=Release -DTSP3D_BUILD_ORT=OFF -DTSP3D_NATIVE=OFF "-DCMAKE_CUDA_COMPILER=$NVCC"
      "-DCMAKE_CUDA_ARCHITECTURES=${CUDA_ARCH:-87}" "-DTENSORRT_INCLUDE_DIR=$INC")
if [[ -n "$PARSER" ]]; then
  [[ -f "$PARSER/NvOnnxParser.h" ]] || { echo "check_trt_headers: error: no NvOnnxParser.h in '$PARSER'" >&2; exit 2; }
  ARGS+=("-DTENSORRT_PARSER_INCLUDE_DIR=$(cd "$PARSER" && pwd)")
fi
echo "check_trt_headers: TensorRT $VERSION headers from $INC -> $BUILD_DIR"
cmake -S "$ROOT/plugins" -B "$BUILD_DIR" "${ARGS[@]}" > "$BUILD_DIR.configure.log" 2>&1 || {
  tail -20 "$BUILD_DIR.configure.log"; exit 1; }
grep "tsp3d:" "$BUILD_DIR.configure.log"
TARGETS=(tsp3d_trt tsp3d_infer tsp3d_trt_glue_test tsp3d_trt_sync_test)
if ! cmake --build "$BUILD_DIR" -j "${JOBS:-2}" --target "${TARGETS[@]}" > "$BUILD_DIR.build.log" 2>&1; then
  grep -E "error|Error" "$BUILD_DIR.build.log" | head -30
  echo "check_trt_headers: TensorRT $VERSION: BUILD FAILED (log: $BUILD_DIR.build.log)"
  exit 1
fi
if grep -q "warning:" "$BUILD_DIR.build.log"; then grep "warning:" "$BUILD_DIR.build.log" | sort -u | head -10; fi
PARSER_PATH=without
grep -q "NvOnnxParser.h" "$BUILD_DIR/runtime/CMakeFiles/tsp3d_runtime.dir/engine_store.cpp.o.d" 2>/dev/null && PARSER_PATH=with
status=0
for t in tsp3d_trt_glue_test tsp3d_trt_sync_test; do
  if "$BUILD_DIR/bin/$t" > "$BUILD_DIR.$t.log" 2>&1; then echo "  $t: passed"; else echo "  $t: FAILED"; tail -5 "$BUILD_DIR.$t.log"; status=1; fi
done
echo "check_trt_headers: TensorRT $VERSION: built libtsp3d_trt.so + tsp3d_infer ($PARSER_PATH the ONNX-parser build path)$([[ $status == 0 ]] && echo ", glue tests passed")"
exit $status
