#include "hash_table_cuda.cuh"

namespace tsp3d {
namespace cuda {
namespace {

__global__ void insert_kernel(DeviceTable t, const int32_t* coords, int n, uint32_t* bits) {
  TSP3D_GRID_STRIDE(i, n) {
    const int32_t* c = coords + 4 * i;
    if (!row_in_range(c[0], c[1], c[2], c[3])) {
      raise_error(bits, Status::kCoordOutOfRange);
      continue;
    }
    int64_t* keys = t.keys;
    auto claim = [keys](uint64_t slot, int64_t key) -> int64_t {
      return static_cast<int64_t>(atomicCAS(reinterpret_cast<unsigned long long*>(keys + slot),
                                            static_cast<unsigned long long>(kEmptyKey),
                                            static_cast<unsigned long long>(key)));
    };
    if (!probe_insert(t.keys, t.vals, t.capacity, pack_key(c[0], c[1], c[2], c[3]), static_cast<int32_t>(i),
                      claim)) {
      raise_error(bits, Status::kDuplicateCoord);
    }
  }
}

}  // namespace

int32_t build_table(const DeviceTable& table, const int32_t* coords, int n, uint32_t* bits, cudaStream_t stream) {
  TSP3D_TRY_CUDA(cudaMemsetAsync(table.keys, 0xFF, sizeof(int64_t) * table.capacity, stream));
  if (n == 0) return 0;
  insert_kernel<<<grid_for(n), kThreads, 0, stream>>>(table, coords, n, bits);
  return launch_status();
}

}  // namespace cuda
}  // namespace tsp3d
