// The status codes every kernel launcher returns (CPU and CUDA) and the one table of what each means: its name
// (what went wrong) and its hint (what to change). The three glues add only what they alone know - the op, the
// node, the offending row, the attribute values - around these texts:
//   ONNX Runtime ops   plugins/ort/src/op_glue.cpp
//   TensorRT plugins   plugins/trt/plugin_utils.cpp (status_message)
//   Python             tsp3d/runtime/kernel_status.py, through tsp3d_status_string / tsp3d_status_hint (c_api.h)
//                      and their tsp3d_cuda_ twins (c_api_cuda.h)
// A hint never mentions "capacity" unless the status is kCapacityExceeded: runtimes classify messages by it.
#pragma once

#include <cstdint>

namespace tsp3d {

enum class Status : int32_t {
  kOk = 0,
  kCapacityExceeded = 1,   // more output rows than the capacity attribute allows
  kCoordOutOfRange = 2,    // an input coordinate (or a created one) outside [-32768, 32767] / batch [0, 32767]
  kNotOnStride = 3,        // a coordinate that is not a multiple of the tensor stride
  kDuplicateCoord = 4,     // a table (kernel-map input, lookup table, append set) holds a coordinate twice
  kNonFinitePoint = 5,     // NaN/Inf point coordinate in Voxelize
  kIndexOutOfRange = 6,    // a kernel-map entry >= number of feature rows
  kInvalidArgument = 7,    // bad attribute or shape
  kCudaError = 8,
  kOutOfMemory = 9,        // a host/device allocation failed
};

struct StatusText {
  Status status;
  const char* name;
  const char* hint;  // "" when there is nothing to add
};

// Indexed by code (checked below).
constexpr StatusText kStatusTexts[] = {
    {Status::kOk, "ok", ""},
    {Status::kCapacityExceeded, "capacity exceeded",
     "raise the node's 'capacity' attribute (model config 'capacities' / tsp3d export --capacity) or feed fewer "
     "points"},
    {Status::kCoordOutOfRange, "coordinate out of range", "crop or re-centre the scene, or raise 'voxel_size'"},
    {Status::kNotOnStride, "coordinate not a multiple of the tensor stride", ""},
    {Status::kDuplicateCoord, "duplicate coordinate", "a coordinate set must be unique"},
    {Status::kNonFinitePoint, "non-finite point coordinate", "drop or repair NaN/Inf points before inference"},
    {Status::kIndexOutOfRange, "kernel map index out of range",
     "a kernel map must index rows of the features it is applied to"},
    {Status::kInvalidArgument, "invalid argument", ""},
    {Status::kCudaError, "CUDA error", ""},
    {Status::kOutOfMemory, "out of memory", ""},
};
constexpr int32_t kStatusCount = static_cast<int32_t>(sizeof(kStatusTexts) / sizeof(kStatusTexts[0]));

constexpr bool status_table_in_code_order() {
  for (int32_t i = 0; i < kStatusCount; ++i) {
    if (static_cast<int32_t>(kStatusTexts[i].status) != i) return false;
  }
  return true;
}
static_assert(status_table_in_code_order(), "kStatusTexts must list every Status once, in code order");
static_assert(kStatusCount == static_cast<int32_t>(Status::kOutOfMemory) + 1, "a Status without a text");

inline const StatusText* status_text_of(int32_t code) {
  return code >= 0 && code < kStatusCount ? &kStatusTexts[code] : nullptr;
}

inline const char* status_name(Status s) {
  const StatusText* t = status_text_of(static_cast<int32_t>(s));
  return t != nullptr ? t->name : "unknown";
}

inline const char* status_hint(Status s) {
  const StatusText* t = status_text_of(static_cast<int32_t>(s));
  return t != nullptr ? t->hint : "";
}

}  // namespace tsp3d
