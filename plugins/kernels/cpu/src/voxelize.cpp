// Voxelize: floor(xyz / voxel_size) (IEEE float32 division), one representative per voxel = its lowest point
// index, voxels in canonical order. The stable key sort keeps equal keys in point order, so the first of each run
// is the lowest index.
#include <atomic>
#include <cmath>
#include <new>

#include "key_sort.h"
#include "tsp3d/coord_key.h"
#include "tsp3d/cpu/kernels.h"
#include "tsp3d/cpu/parallel.h"
#include "tsp3d/point_math.h"

namespace tsp3d {
namespace cpu {
namespace {

void atomic_min(std::atomic<int64_t>* t, int64_t v) {
  int64_t cur = t->load(std::memory_order_relaxed);
  while (v < cur && !t->compare_exchange_weak(cur, v, std::memory_order_relaxed)) {
  }
}

bool voxel_in_range(float q) { return q >= static_cast<float>(kCoordMin) && q <= static_cast<float>(kCoordMax); }

}  // namespace

Status voxelize(const float* points, int64_t n, int64_t dim, float voxel_size, int32_t batch,
                std::vector<int64_t>* keys, std::vector<int32_t>* first, Diag* diag) {
  if (n <= 0 || dim < 3 || n > INT32_MAX || !(voxel_size > 0.f) || !std::isfinite(voxel_size) || batch < 0 ||
      batch > kBatchMax) {
    return Status::kInvalidArgument;
  }
  try {
    keys->resize(static_cast<size_t>(n));
    first->resize(static_cast<size_t>(n));
  } catch (const std::bad_alloc&) {
    return Status::kOutOfMemory;
  }
  std::atomic<int64_t> non_finite{INT64_MAX}, out_of_range{INT64_MAX};
  int64_t* k = keys->data();
  int32_t* f = first->data();
  parallel_for(n, 1 << 14, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) {
      const float* p = points + i * dim;
      if (!finite3(p[0], p[1], p[2])) {
        atomic_min(&non_finite, i);
        continue;
      }
      const float qx = voxel_floor(p[0], voxel_size), qy = voxel_floor(p[1], voxel_size);
      const float qz = voxel_floor(p[2], voxel_size);
      if (!voxel_in_range(qx) || !voxel_in_range(qy) || !voxel_in_range(qz)) {
        atomic_min(&out_of_range, i);
        continue;
      }
      k[i] = pack_key(batch, static_cast<int32_t>(qx), static_cast<int32_t>(qy), static_cast<int32_t>(qz));
      f[i] = static_cast<int32_t>(i);
    }
  });
  // Non-finite points are reported before range problems, as the reference does.
  if (non_finite.load() != INT64_MAX || out_of_range.load() != INT64_MAX) {
    const bool nf = non_finite.load() != INT64_MAX;
    if (diag) {
      diag->input = 0;
      diag->row = nf ? non_finite.load() : out_of_range.load();
    }
    return nf ? Status::kNonFinitePoint : Status::kCoordOutOfRange;
  }
  try {
    sort_keys(keys, first);
  } catch (const std::bad_alloc&) {
    return Status::kOutOfMemory;
  }
  // Keep the first of each run of equal keys (sort_keys swapped the buffers: re-read the pointers).
  int64_t* sk = keys->data();
  int32_t* sf = first->data();
  size_t m = 0;
  for (size_t i = 0; i < keys->size(); ++i) {
    if (m == 0 || sk[i] != sk[m - 1]) {
      sk[m] = sk[i];
      sf[m] = sf[i];
      ++m;
    }
  }
  keys->resize(m);
  first->resize(m);
  return Status::kOk;
}

}  // namespace cpu
}  // namespace tsp3d
