// Device side of the coordinate hash table (plugins/kernels/include/tsp3d/hash_table.h): a table lives in the
// workspace as keys int64[capacity] (kEmptyKey = all bits set, so a 0xFF memset empties it) and vals
// int32[capacity]. Insertion claims a slot with atomicCAS; a key met twice raises kDuplicateCoord.
#pragma once

#include "cuda_utils.cuh"
#include "tsp3d/hash_table.h"

namespace tsp3d {
namespace cuda {

struct DeviceTable {
  int64_t* keys = nullptr;
  int32_t* vals = nullptr;
  int64_t capacity = 0;

  void plan(Carver& carver, int64_t rows) {
    capacity = hash_capacity(rows);
    keys = carver.take<int64_t>(capacity);
    vals = carver.take<int32_t>(capacity);
  }
};

// Empty the table, then insert rows [0, n) of coords; invalid rows raise kCoordOutOfRange, repeated ones
// kDuplicateCoord.
int32_t build_table(const DeviceTable& table, const int32_t* coords, int n, uint32_t* bits, cudaStream_t stream);

// Row of a coordinate, or -1 (also for coordinates outside the key range).
__device__ __forceinline__ int32_t table_find(const DeviceTable& t, int64_t b, int64_t x, int64_t y, int64_t z) {
  if (b < 0 || b > kBatchMax || x < kCoordMin || x > kCoordMax || y < kCoordMin || y > kCoordMax ||
      z < kCoordMin || z > kCoordMax) {
    return -1;
  }
  const int64_t key = pack_key(static_cast<int32_t>(b), static_cast<int32_t>(x), static_cast<int32_t>(y),
                               static_cast<int32_t>(z));
  return hash_find(t.keys, t.vals, t.capacity, key);
}

}  // namespace cuda
}  // namespace tsp3d
