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

constexpr int64_t kNoRow = INT64_MAX;

// `st` naming row `row` of the input (kOk when row is kNoRow).
Status at_row(int64_t row, Status st, Diag* diag) {
  if (row == kNoRow) return Status::kOk;
  if (diag) {
    diag->input = 0;
    diag->row = row;
  }
  return st;
}

// Range and stride checks of an input set (rows [n, 4] at tensor stride `stride`).
Status check_input(const int32_t* coords, int64_t n, int32_t stride, Diag* diag) {
  const int64_t bad_range = first_row_out_of_range(coords, n);
  if (bad_range >= 0) return at_row(bad_range, Status::kCoordOutOfRange, diag);
  std::atomic<int64_t> bad{kNoRow};
  parallel_for(n, kGrain, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) {
      const int32_t* r = coords + 4 * i;
      if (!on_stride(r[1], stride) || !on_stride(r[2], stride) || !on_stride(r[3], stride)) {
        atomic_min(&bad, i);
        return;
      }
    }
  });
  return at_row(bad.load(), Status::kNotOnStride, diag);
}

// The sorted unique keys of the kSites output sites of every input row: site(row, j, xyz) writes the j-th site's
// x, y, z (int64, may leave the range). A site outside the coordinate range is an error naming its input row.
template <int kSites, typename Site>
Status make_sites(const int32_t* coords, int64_t n, std::vector<int64_t>* keys, Diag* diag, Site site) {
  try {
    keys->resize(static_cast<size_t>(n * kSites));
  } catch (const std::bad_alloc&) {
    return Status::kOutOfMemory;
  }
  std::atomic<int64_t> bad{kNoRow};
  int64_t* out = keys->data();
  parallel_for(n, kGrain, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) {
      const int32_t* r = coords + 4 * i;
      for (int j = 0; j < kSites; ++j) {
        int64_t p[3];
        site(r, j, p);
        if (!in_range64(p[0]) || !in_range64(p[1]) || !in_range64(p[2])) {
          atomic_min(&bad, i);
          out[i * kSites + j] = 0;
          continue;
        }
        out[i * kSites + j] =
            pack_key(r[0], static_cast<int32_t>(p[0]), static_cast<int32_t>(p[1]), static_cast<int32_t>(p[2]));
      }
    }
  });
  const Status st = at_row(bad.load(), Status::kCoordOutOfRange, diag);
  if (st != Status::kOk) return st;
  try {
    sort_unique_keys(keys);
  } catch (const std::bad_alloc&) {
    return Status::kOutOfMemory;
  }
  return Status::kOk;
}

}  // namespace

Status coords_down(const int32_t* coords, int64_t n, int32_t stride, std::vector<int64_t>* keys, Diag* diag) {
  if (stride < 1 || n < 0) return Status::kInvalidArgument;
  const Status st = check_input(coords, n, stride, diag);
  if (st != Status::kOk) return st;
  // An output site can fall below the range only for strides that are not 2^k.
  const int64_t s2 = 2 * static_cast<int64_t>(stride);
  return make_sites<1>(coords, n, keys, diag, [s2](const int32_t* r, int, int64_t* p) {
    for (int a = 0; a < 3; ++a) p[a] = floor_div64(r[1 + a], s2) * s2;
  });
}

Status coords_up(const int32_t* coords, int64_t n, int32_t stride, std::vector<int64_t>* keys, Diag* diag) {
  if (stride < 2 || stride % 2 != 0 || n < 0) return Status::kInvalidArgument;
  const Status st = check_input(coords, n, stride, diag);
  if (st != Status::kOk) return st;
  constexpr int kK = 27;
  const int64_t half = stride / 2;
  int32_t off[kK][3];
  for (int k = 0; k < kK; ++k) kernel_offset(3, k, off[k]);
  return make_sites<kK>(coords, n, keys, diag, [half, &off](const int32_t* r, int k, int64_t* p) {
    for (int a = 0; a < 3; ++a) p[a] = r[1 + a] + off[k][a] * half;
  });
}

}  // namespace cpu
}  // namespace tsp3d
