// Helpers shared by the CUDA kernels: grid sizes, the device-side error word, the final status/count kernel, and
// the workspace carver (the launcher preamble and kernel launches built on them: launch.cuh). Internal to
// libtsp3d_cuda.so.
//
// Device errors: kernels set bit (1 << Status) in a uint32 error word (atomicOr, so every error that occurs is
// recorded whatever the thread order). One final single-thread kernel turns the word into *status_out by the
// op's precedence list (the order in which the reference checks its inputs), so the reported error is a pure
// function of the inputs, and checks the row count against the capacity. Kernels that write outputs after it read
// *status_out and write nothing on error.
#pragma once

#include <cuda_runtime.h>

#include <cstddef>
#include <cstdint>
#include <initializer_list>

#include "tsp3d/common.h"

namespace tsp3d {
namespace cuda {

constexpr int kThreads = 256;
constexpr int64_t kMaxRows = (int64_t{1} << 31) - 1;  // int32 row indices everywhere

inline unsigned grid_for(int64_t n, int threads = kThreads) {
  int64_t blocks = (n + threads - 1) / threads;
  if (blocks < 1) blocks = 1;
  if (blocks > 65535LL * 32) blocks = 65535LL * 32;  // kernels use grid-stride loops past this
  return static_cast<unsigned>(blocks);
}

__device__ __forceinline__ void raise_error(uint32_t* bits, Status s) {
  atomicOr(bits, 1u << static_cast<uint32_t>(s));
}

// An internal code for "a coordinate the op creates leaves the range": reported as kCoordOutOfRange, but it has
// its own place in the precedence list (the reference checks the inputs first, then what it creates).
constexpr Status kCreatedOutOfRange = static_cast<Status>(15);

// Precedence list of error codes packed as 4-bit nibbles, first checked first (0 ends the list).
struct ErrorOrder {
  uint64_t nibbles = 0;
  constexpr ErrorOrder() = default;
  ErrorOrder(std::initializer_list<Status> codes) {
    int shift = 0;
    for (Status s : codes) {
      nibbles |= static_cast<uint64_t>(static_cast<uint32_t>(s) & 0xF) << shift;
      shift += 4;
    }
  }
};

// The row count the final kernel checks: add + (scan_last_pos ? *scan_last_pos + *scan_last_flag : 0), compared
// with `bound`; count_out null = an op without a data-dependent count.
struct CountSpec {
  const int32_t* scan_last_pos = nullptr;   // exclusive-scan result at the last element
  const int32_t* scan_last_flag = nullptr;  // the flag at the last element
  int64_t add = 0;                          // constant rows added (e.g. na for AppendMissing)
  int64_t bound = 0;                        // rows the output buffers hold
  int64_t* count_out = nullptr;
};

// Queue the one-thread kernel that writes *status_out (and *count_out) from the error word and the count.
cudaError_t finalize(const uint32_t* bits, ErrorOrder order, CountSpec spec, int32_t* status_out,
                     cudaStream_t stream);

// Carves 256-byte aligned pieces out of a workspace. With base == nullptr it only measures.
class Carver {
 public:
  explicit Carver(void* base) : base_(static_cast<char*>(base)) {}
  template <typename T>
  T* take(int64_t count) {
    offset_ = (offset_ + 255) & ~size_t{255};
    T* p = base_ ? reinterpret_cast<T*>(base_ + offset_) : nullptr;
    offset_ += static_cast<size_t>(count > 0 ? count : 0) * sizeof(T);
    return p;
  }
  void* take_bytes(size_t bytes) { return take<char>(static_cast<int64_t>(bytes)); }
  size_t size() const { return (offset_ + 255) & ~size_t{255}; }

 private:
  char* base_;
  size_t offset_ = 0;
};

inline int32_t to_status(cudaError_t e) {
  return e == cudaSuccess ? static_cast<int32_t>(Status::kOk) : static_cast<int32_t>(Status::kCudaError);
}

inline int32_t invalid() { return static_cast<int32_t>(Status::kInvalidArgument); }

// After a launch: kCudaError if the launch failed.
inline int32_t launch_status() { return to_status(cudaGetLastError()); }

}  // namespace cuda
}  // namespace tsp3d

// Early return of a non-ok status (int32) or cudaError_t.
#define TSP3D_TRY(expr)                   \
  do {                                    \
    const int32_t tsp3d_s_ = (expr);      \
    if (tsp3d_s_ != 0) return tsp3d_s_;   \
  } while (0)
// Grid-stride loop over [0, n) with a 64-bit index.
#define TSP3D_GRID_STRIDE(i, n) \
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < (n); i += int64_t{gridDim.x} * blockDim.x)
#define TSP3D_TRY_CUDA(expr) TSP3D_TRY(::tsp3d::cuda::to_status(expr))
