// KernelMap by merging sorted keys.
//
// Packing is linear in each field: key(o + d) = key(o) + (dx << 32) + (dy << 16) + dz whenever o + d stays in
// the coordinate range. So for one offset the queries of sorted outputs are sorted too, and their rows in the
// sorted input keys are found by one forward merge instead of K hash probes per output. Measured on the 50k-site
// room set (bench/bench_conv.py sets, one thread): 27 hash probes per output (hash_table.h) 11 ms, the merge 3 ms
// (branch mispredictions, not cache misses, dominate the probes). Results are identical: exact key equality.
//
// Sets in canonical order (every set an op creates) skip the sorts; others (e.g. after AppendMissing) are sorted
// with their row permutation first. Duplicate input coordinates show up as equal neighbours after the sort.
#include <algorithm>
#include <cstring>
#include <new>
#include <numeric>
#include <vector>

#include "coord_table.h"
#include "key_sort.h"
#include "tsp3d/cpu/kernels.h"
#include "tsp3d/cpu/parallel.h"
#include "tsp3d/kernel_offsets.h"

namespace tsp3d {
namespace cpu {
namespace {

constexpr int64_t kChunk = 256;  // sorted output rows per task

// Keys of rows [n, 4] (all in range), sorted; perm = their rows (empty when already in canonical order).
void sorted_keys(const int32_t* rows, int64_t n, std::vector<int64_t>* keys, std::vector<int32_t>* perm) {
  keys->resize(static_cast<size_t>(n));
  int64_t* k = keys->data();
  parallel_for(n, 1 << 14, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) k[i] = pack_key(rows[4 * i], rows[4 * i + 1], rows[4 * i + 2], rows[4 * i + 3]);
  });
  perm->clear();
  if (std::is_sorted(keys->begin(), keys->end())) return;
  perm->resize(static_cast<size_t>(n));
  std::iota(perm->begin(), perm->end(), 0);
  sort_keys(keys, perm);
}

int32_t field(int64_t key, int shift) { return static_cast<int32_t>((key >> shift) & 0xFFFF) - kCoordBias; }

bool shifted_in_range(int64_t key, const int64_t* d) {
  const int64_t x = field(key, 32) + d[0], y = field(key, 16) + d[1], z = field(key, 0) + d[2];
  return x >= kCoordMin && x <= kCoordMax && y >= kCoordMin && y <= kCoordMax && z >= kCoordMin && z <= kCoordMax;
}

}  // namespace

Status kernel_map(const int32_t* in_coords, int64_t n_in, const int32_t* out_coords, int64_t n_out,
                  int32_t kernel_size, int32_t offset_stride, bool transposed, int32_t* nbr, Diag* diag) {
  if (!kernel_size_supported(kernel_size) || offset_stride < 1 || n_in < 0 || n_out < 0 || n_in > INT32_MAX) {
    return Status::kInvalidArgument;
  }
  for (int input = 0; input < 2; ++input) {
    const int64_t bad = first_row_out_of_range(input ? out_coords : in_coords, input ? n_out : n_in);
    if (bad >= 0) {
      if (diag) {
        diag->input = input;
        diag->row = bad;
      }
      return Status::kCoordOutOfRange;
    }
  }
  std::vector<int64_t> a, b;
  std::vector<int32_t> a_rows, b_rows;
  try {
    sorted_keys(in_coords, n_in, &a, &a_rows);
    sorted_keys(out_coords, n_out, &b, &b_rows);
  } catch (const std::bad_alloc&) {
    return Status::kOutOfMemory;
  }
  for (int64_t i = 1; i < n_in; ++i) {
    if (a[i] == a[i - 1]) {
      if (diag) {
        const int64_t r0 = a_rows.empty() ? i - 1 : a_rows[i - 1], r1 = a_rows.empty() ? i : a_rows[i];
        diag->input = 0;
        diag->row = std::max(r0, r1);
        diag->row2 = std::min(r0, r1);
      }
      return Status::kDuplicateCoord;
    }
  }
  const int32_t K = kernel_volume(kernel_size);
  int64_t off[27][3], delta[27];
  for (int32_t k = 0; k < K; ++k) {
    int32_t d[3];
    kernel_offset(kernel_size, k, d);
    for (int c = 0; c < 3; ++c) off[k][c] = (transposed ? -1 : 1) * static_cast<int64_t>(d[c]) * offset_stride;
    delta[k] = off[k][0] * (int64_t{1} << 32) + off[k][1] * (int64_t{1} << 16) + off[k][2];
  }
  // Outputs whose every neighbour stays in range need no per-query check (all but a scene's outer rim, if any).
  int64_t reach = 0;
  for (int32_t k = 0; k < K; ++k)
    for (int c = 0; c < 3; ++c) reach = std::max(reach, off[k][c] < 0 ? -off[k][c] : off[k][c]);
  const int64_t* A = a.data();
  const int64_t* B = b.data();
  const int32_t* a_perm = a_rows.empty() ? nullptr : a_rows.data();
  const int32_t* b_perm = b_rows.empty() ? nullptr : b_rows.data();
  parallel_for((n_out + kChunk - 1) / kChunk, 1, [&](int64_t cb, int64_t ce) {
    int32_t buf[kChunk * 27];
    for (int64_t c = cb; c < ce; ++c) {
      const int64_t j0 = c * kChunk, j1 = std::min(n_out, j0 + kChunk);
      bool interior = true;
      for (int64_t j = j0; j < j1 && interior; ++j) {
        for (int s = 0; s < 48; s += 16) {
          const int64_t v = field(B[j], s);
          interior = interior && v - reach >= kCoordMin && v + reach <= kCoordMax;
        }
      }
      for (int32_t k = 0; k < K; ++k) {
        const int64_t dk = delta[k];
        int64_t i = -1;  // positioned by binary search at the chunk's first valid query, then merged forward
        for (int64_t j = j0; j < j1; ++j) {
          int32_t found = -1;
          if (interior || shifted_in_range(B[j], off[k])) {
            const int64_t q = B[j] + dk;
            if (i < 0) i = std::lower_bound(A, A + n_in, q) - A;
            while (i < n_in && A[i] < q) ++i;
            if (i < n_in && A[i] == q) found = a_perm ? a_perm[i] : static_cast<int32_t>(i);
          }
          buf[(j - j0) * K + k] = found;
        }
      }
      for (int64_t j = j0; j < j1; ++j) {
        const int64_t row = b_perm ? b_perm[j] : j;
        std::memcpy(nbr + row * K, buf + (j - j0) * K, sizeof(int32_t) * static_cast<size_t>(K));
      }
    }
  });
  return Status::kOk;
}

}  // namespace cpu
}  // namespace tsp3d
