// The library's only CUB instantiations (see cub_primitives.cuh).
#include <cub/device/device_radix_sort.cuh>
#include <cub/device/device_scan.cuh>

#include "cub_primitives.cuh"

namespace tsp3d {
namespace cuda {

cudaError_t sort_pairs_bytes(int n, int end_bit, size_t* bytes) {
  *bytes = 0;
  return cub::DeviceRadixSort::SortPairs(nullptr, *bytes, static_cast<const uint64_t*>(nullptr),
                                         static_cast<uint64_t*>(nullptr), static_cast<const int32_t*>(nullptr),
                                         static_cast<int32_t*>(nullptr), n, 0, end_bit);
}

cudaError_t sort_pairs(void* temp, size_t temp_bytes, const uint64_t* keys_in, uint64_t* keys_out,
                       const int32_t* vals_in, int32_t* vals_out, int n, int end_bit, cudaStream_t stream) {
  return cub::DeviceRadixSort::SortPairs(temp, temp_bytes, keys_in, keys_out, vals_in, vals_out, n, 0, end_bit,
                                         stream);
}

cudaError_t exclusive_sum_bytes(int n, size_t* bytes) {
  *bytes = 0;
  return cub::DeviceScan::ExclusiveSum(nullptr, *bytes, static_cast<const int32_t*>(nullptr),
                                       static_cast<int32_t*>(nullptr), n);
}

cudaError_t exclusive_sum(void* temp, size_t temp_bytes, const int32_t* in, int32_t* out, int n,
                          cudaStream_t stream) {
  return cub::DeviceScan::ExclusiveSum(temp, temp_bytes, in, out, n, stream);
}

}  // namespace cuda
}  // namespace tsp3d
