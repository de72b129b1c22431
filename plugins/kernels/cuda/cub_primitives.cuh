// The two CUB algorithms the kernels use, wrapped so that each is instantiated once for the whole library
// (CUB templates dominate the compile time): a stable radix sort of (uint64 key, int32 value) pairs and an
// exclusive prefix sum of int32 flags. The *_bytes functions ask CUB for its temporary storage (needs a device).
#pragma once

#include <cuda_runtime.h>

#include <cstddef>
#include <cstdint>

#include "cuda_utils.cuh"

namespace tsp3d {
namespace cuda {

// Stable: equal keys keep the order of their values in the input. Sorts bits [0, end_bit) of the keys.
cudaError_t sort_pairs_bytes(int n, int end_bit, size_t* bytes);
cudaError_t sort_pairs(void* temp, size_t temp_bytes, const uint64_t* keys_in, uint64_t* keys_out,
                       const int32_t* vals_in, int32_t* vals_out, int n, int end_bit, cudaStream_t stream);

cudaError_t exclusive_sum_bytes(int n, size_t* bytes);
cudaError_t exclusive_sum(void* temp, size_t temp_bytes, const int32_t* in, int32_t* out, int n,
                          cudaStream_t stream);

// int32 flags and their exclusive prefix sum (the output row of each flagged element), with the scan's scratch,
// carved from a workspace (Prune, AppendMissing).
struct FlagScan {
  int n = 0;
  int32_t* flags = nullptr;
  int32_t* pos = nullptr;
  void* temp = nullptr;
  size_t temp_bytes = 0;

  int32_t carve(Carver& carver, int64_t count) {
    if (count < 0 || count > kMaxRows) return invalid();
    n = static_cast<int>(count);
    flags = carver.take<int32_t>(n);
    pos = carver.take<int32_t>(n);
    if (n > 0) {
      TSP3D_TRY_CUDA(exclusive_sum_bytes(n, &temp_bytes));
      temp = carver.take_bytes(temp_bytes);
    }
    return 0;
  }
  cudaError_t scan(cudaStream_t stream) const { return exclusive_sum(temp, temp_bytes, flags, pos, n, stream); }
};

}  // namespace cuda
}  // namespace tsp3d
