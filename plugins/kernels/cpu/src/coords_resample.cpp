// CoordsDown and CoordsUp: the output sites of strided convs / pools and of the generative transposed conv, as
// sorted unique keys (canonical order).
#include <atomic>
#include <new>

#include "coord_table.h"
#include "key_sort.h"
#include "tsp3d/coord_key.h"
#include "tsp3d/cpu/kernels.h"
#include "tsp3d/cpu/parallel.h"
#include "tsp3d/kernel_offsets.h"

namespace tsp3d {
namespace cpu {
namespace {

constexpr int64_t kGrain = 1 << 13;

void atomic_min(std::atomic<int64_t>* t, int64_t v) {
  int64_t cur = t->load(std::memory_order_relaxed);
  while (v < cur && !t->compare_exchange_weak(cur, v, std::memory_order_relaxed)) {
  }
}

bool in_range64(int64_t v) { return v >= kCoordMin && v <= kCoordMax; }

int64_t floor_div64(int64_t v, int64_t d) {
  const int64_t q = v / d;
  return (v % d != 0 && v < 0) ? q - 1 : q;
}

// Range and stride checks of an input set (rows [n, 4] at tensor stride `stride`).
Status check_input(const int32_t* coords, int64_t n, int32_t stride, Diag* diag) {
  const int64_t bad_range = first_row_out_of_range(coords, n);
  if (bad_range >= 0) {
    if (diag) {
      diag->input = 0;
      diag->row = bad_range;
    }
    return Status::kCoordOutOfRange;
  }
  std::atomic<int64_t> bad{INT64_MAX};
  parallel_for(n, kGrain, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) {
      const int32_t* r = coords + 4 * i;
      if (!on_stride(r[1], stride) || !on_stride(r[2], stride) || !on_stride(r[3], stride)) {
        atomic_min(&bad, i);
        return;
      }
    }
  });
  if (bad.load() != INT64_MAX) {
    if (diag) {
      diag->input = 0;
      diag->row = bad.load();
    }
    return Status::kNotOnStride;
  }
  return Status::kOk;
}

}  // namespace

Status coords_down(const int32_t* coords, int64_t n, int32_t stride, std::vector<int64_t>* keys, Diag* diag) {
  if (stride < 1 || n < 0) return Status::kInvalidArgument;
  Status st = check_input(coords, n, stride, diag);
  if (st != Status::kOk) return st;
  try {
    keys->resize(static_cast<size_t>(n));
  } catch (const std::bad_alloc&) {
    return Status::kOutOfMemory;
  }
  const int64_t s2 = 2 * static_cast<int64_t>(stride);
  std::atomic<int64_t> bad{INT64_MAX};  // an output site below the range (only for strides that are not 2^k)
  int64_t* k = keys->data();
  parallel_for(n, kGrain, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) {
      const int32_t* r = coords + 4 * i;
      const int64_t x = floor_div64(r[1], s2) * s2, y = floor_div64(r[2], s2) * s2, z = floor_div64(r[3], s2) * s2;
      if (!in_range64(x) || !in_range64(y) || !in_range64(z)) {
        atomic_min(&bad, i);
        k[i] = 0;
        continue;
      }
      k[i] = pack_key(r[0], static_cast<int32_t>(x), static_cast<int32_t>(y), static_cast<int32_t>(z));
    }
  });
  if (bad.load() != INT64_MAX) {
    if (diag) {
      diag->input = 0;
      diag->row = bad.load();
    }
    return Status::kCoordOutOfRange;
  }
  try {
    sort_unique_keys(keys);
  } catch (const std::bad_alloc&) {
    return Status::kOutOfMemory;
  }
  return Status::kOk;
}

Status coords_up(const int32_t* coords, int64_t n, int32_t stride, std::vector<int64_t>* keys, Diag* diag) {
  if (stride < 2 || stride % 2 != 0 || n < 0) return Status::kInvalidArgument;
  Status st = check_input(coords, n, stride, diag);
  if (st != Status::kOk) return st;
  constexpr int kK = 27;
  try {
    keys->resize(static_cast<size_t>(n * kK));
  } catch (const std::bad_alloc&) {
    return Status::kOutOfMemory;
  }
  const int64_t half = stride / 2;
  int32_t off[kK][3];
  for (int k = 0; k < kK; ++k) kernel_offset(3, k, off[k]);
  std::atomic<int64_t> bad{INT64_MAX};
  int64_t* out = keys->data();
  parallel_for(n, kGrain, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) {
      const int32_t* r = coords + 4 * i;
      for (int k = 0; k < kK; ++k) {
        const int64_t x = r[1] + off[k][0] * half, y = r[2] + off[k][1] * half, z = r[3] + off[k][2] * half;
        if (!in_range64(x) || !in_range64(y) || !in_range64(z)) {
          atomic_min(&bad, i);
          out[i * kK + k] = 0;
          continue;
        }
        out[i * kK + k] = pack_key(r[0], static_cast<int32_t>(x), static_cast<int32_t>(y), static_cast<int32_t>(z));
      }
    }
  });
  if (bad.load() != INT64_MAX) {
    if (diag) {
      diag->input = 0;
      diag->row = bad.load();
    }
    return Status::kCoordOutOfRange;
  }
  try {
    sort_unique_keys(keys);
  } catch (const std::bad_alloc&) {
    return Status::kOutOfMemory;
  }
  return Status::kOk;
}

}  // namespace cpu
}  // namespace tsp3d
