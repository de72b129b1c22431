#include "cub_primitives.cuh"
#include "sorted_unique.cuh"
#include "tsp3d/coord_key.h"

namespace tsp3d {
namespace cuda {

namespace {

__global__ void run_heads_kernel(const uint64_t* keys, int n, int32_t* heads) {
  TSP3D_GRID_STRIDE(i, n) {
    heads[i] = (i == 0 || keys[i] != keys[i - 1]) ? 1 : 0;
  }
}

__global__ void scatter_unique_kernel(const uint64_t* keys, const int32_t* vals, const int32_t* heads,
                                      const int32_t* pos, int n, const int32_t* status, int32_t* coords_out,
                                      int32_t* first_out) {
  if (*status != 0) return;
  TSP3D_GRID_STRIDE(i, n) {
    if (!heads[i]) continue;
    const int64_t row = pos[i];
    unpack_key(static_cast<int64_t>(keys[i]), coords_out + 4 * row);
    if (first_out != nullptr) first_out[row] = vals[i];
  }
}

}  // namespace

int32_t SortedUnique::plan(Carver& carver, int64_t count) {
  if (count < 0 || count > kMaxRows) return invalid();
  n = static_cast<int>(count);
  keys_in = carver.take<uint64_t>(n);
  vals_in = carver.take<int32_t>(n);
  keys = carver.take<uint64_t>(n);
  vals = carver.take<int32_t>(n);
  heads = carver.take<int32_t>(n);
  pos = carver.take<int32_t>(n);
  if (n == 0) return 0;
  TSP3D_TRY_CUDA(sort_pairs_bytes(n, kKeyBits, &sort_bytes));
  TSP3D_TRY_CUDA(exclusive_sum_bytes(n, &scan_bytes));
  sort_temp = carver.take_bytes(sort_bytes);
  scan_temp = carver.take_bytes(scan_bytes);
  return 0;
}

int32_t SortedUnique::run(cudaStream_t stream) const {
  if (n == 0) return 0;
  TSP3D_TRY_CUDA(sort_pairs(sort_temp, sort_bytes, keys_in, keys, vals_in, vals, n, kKeyBits, stream));
  run_heads_kernel<<<grid_for(n), kThreads, 0, stream>>>(keys, n, heads);
  TSP3D_TRY(launch_status());
  TSP3D_TRY_CUDA(exclusive_sum(scan_temp, scan_bytes, heads, pos, n, stream));
  return 0;
}

CountSpec SortedUnique::count_spec(int64_t bound, int64_t* count_out) const {
  CountSpec spec;
  if (n > 0) {
    spec.scan_last_pos = pos + (n - 1);
    spec.scan_last_flag = heads + (n - 1);
  }
  spec.bound = bound;
  spec.count_out = count_out;
  return spec;
}

cudaError_t scatter_unique(const SortedUnique& su, const int32_t* status, int32_t* coords_out, int32_t* first_out,
                           cudaStream_t stream) {
  if (su.n == 0) return cudaSuccess;
  scatter_unique_kernel<<<grid_for(su.n), kThreads, 0, stream>>>(su.keys, su.vals, su.heads, su.pos, su.n, status,
                                                                 coords_out, first_out);
  return cudaGetLastError();
}

}  // namespace cuda
}  // namespace tsp3d
