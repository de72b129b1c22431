// Shared by the C++ CPU kernels and the CUDA kernels: one definition of each piece of per-element math.
// Semantics: docs/opset.md. Reference implementation: tsp3d/sparse/*.py.
#pragma once

#include <cstdint>

#if defined(__CUDACC__)
#define TSP3D_HD __host__ __device__ __forceinline__
#else
#define TSP3D_HD inline
#endif

namespace tsp3d {

// Status codes returned by every kernel launcher (CPU and CUDA). Messages are built by the glue, which knows the
// node name and the attribute to raise.
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

TSP3D_HD const char* status_name(Status s) {
  switch (s) {
    case Status::kOk: return "ok";
    case Status::kCapacityExceeded: return "capacity exceeded";
    case Status::kCoordOutOfRange: return "coordinate out of range";
    case Status::kNotOnStride: return "coordinate not a multiple of the tensor stride";
    case Status::kDuplicateCoord: return "duplicate coordinate";
    case Status::kNonFinitePoint: return "non-finite point coordinate";
    case Status::kIndexOutOfRange: return "kernel map index out of range";
    case Status::kInvalidArgument: return "invalid argument";
    case Status::kCudaError: return "CUDA error";
    case Status::kOutOfMemory: return "out of memory";
  }
  return "unknown";
}

}  // namespace tsp3d
