// Output-stationary driver of the sparse conv, shared by the float and int8 kernels.
//
// The outputs are cut into tiles of rows; one task owns a tile and its accumulator (no scatter races, no atomics).
// For each kernel offset k the task gathers the tile's present input rows (pointers into feats, no copy) and runs
// the micro-kernel over groups of up to `mr` of them against W[k], column block by column block. Every output
// element sums over k = 0..K-1 and ci = 0..cin-1 in that order, so the result is independent of the tile size
// and the thread count.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstring>
#include <new>
#include <vector>

#include "gather_gemm.h"
#include "tsp3d/cpu/kernels.h"
#include "tsp3d/cpu/parallel.h"

namespace tsp3d {
namespace cpu {

inline int64_t round_up(int64_t v, int64_t m) { return (v + m - 1) / m * m; }

// Rows per tile: large enough to reuse W[k] over many rows, small enough to give every thread a few tiles.
inline int64_t conv_tile_rows(int64_t n_out) {
  const int64_t threads = num_threads();
  const int64_t want = (n_out + 4 * threads - 1) / (4 * threads);
  return std::min<int64_t>(128, std::max<int64_t>(16, round_up(want, 8)));
}

// A thread's scratch, grown once and reused across calls (no allocation in the steady state).
template <typename T>
T* scratch(size_t n, int slot) {
  thread_local std::vector<T> buffers[3];
  std::vector<T>& b = buffers[slot];
  if (b.size() < n) b.resize(n);
  return b.data();
}

// The GEMM side of one conv: the gathered operand, the packed weights and the micro-kernel's blocking.
//   feats: n_in rows of row_stride elements; the micro-kernel reads `depth` steps of each (its own unit: one
//          channel for the float and portable int8 kernels, four for the int8 dot-product kernels);
//   w:     W[k] at w + k * w_k_stride, rows of ldw elements (ldw a multiple of lanes);
//   mr / lanes / max_nv: rows per micro-kernel call, accumulator elements per vector, vectors per column block.
template <typename A, typename W>
struct ConvGemm {
  const A* feats;
  int64_t n_in, row_stride, depth;
  const W* w;
  int64_t w_k_stride, ldw;
  int mr, lanes, max_nv;
};
constexpr int kMaxMR = 8;  // the most rows any micro-kernel takes

// Acc: accumulator element. pick(mr, nv) -> micro-kernel. finish(o0, rows, acc) writes the outputs of the tile
// [o0, o0 + rows) from acc [rows][ldw].
template <typename A, typename Acc, typename W, typename Pick, typename Finish>
Status run_conv_tiles(const ConvGemm<A, W>& gm, const int32_t* nbr, int64_t n_out, int64_t K, Pick pick,
                      Finish finish, Diag* diag) {
  const A* feats = gm.feats;
  const int64_t n_in = gm.n_in, ldw = gm.ldw, stride = gm.row_stride;
  const int64_t tile = conv_tile_rows(n_out);
  const int64_t row_bytes = stride * static_cast<int64_t>(sizeof(A));
  const int64_t block = static_cast<int64_t>(gm.max_nv) * gm.lanes;
  const bool prefetch = K <= 8;
  const int64_t n_tiles = (n_out + tile - 1) / tile;
  std::atomic<int64_t> bad{INT64_MAX};  // first (o * K + k) with nbr >= n_in
  std::atomic<bool> oom{false};
  parallel_for(n_tiles, 1, [&](int64_t tb, int64_t te) {
    Acc* acc;
    const A** a;
    Acc** crow;
    try {
      acc = scratch<Acc>(static_cast<size_t>(tile * ldw), 0);
      a = scratch<const A*>(static_cast<size_t>(tile), 1);
      crow = scratch<Acc*>(static_cast<size_t>(tile), 2);
    } catch (const std::bad_alloc&) {
      oom.store(true);
      return;
    }
    for (int64_t t = tb; t < te; ++t) {
      const int64_t o0 = t * tile;
      const int64_t rows = std::min(tile, n_out - o0);
      std::memset(acc, 0, sizeof(Acc) * static_cast<size_t>(rows * ldw));
      for (int64_t k = 0; k < K; ++k) {
        // Branch-free compaction of the present neighbours: whether an entry is -1 is data-dependent and
        // mispredicts (a third of the time for a k3 map of a surface); an index past n_in is a rare error.
        int64_t cnt = 0;
        for (int64_t r = 0; r < rows; ++r) {
          const int64_t pos = (o0 + r) * K + k;
          const int32_t i = nbr[pos];
          bool present = i >= 0;
          if (i >= n_in) {
            int64_t cur = bad.load(std::memory_order_relaxed);
            while (pos < cur && !bad.compare_exchange_weak(cur, pos, std::memory_order_relaxed)) {
            }
            present = false;
          }
          a[cnt] = feats + static_cast<int64_t>(present ? i : 0) * stride;
          crow[cnt] = acc + r * ldw;
          cnt += present;
        }
        if (cnt == 0) continue;
        const W* wk = gm.w + k * gm.w_k_stride;
        for (int64_t col = 0; col < ldw; col += block) {
          const int nv = static_cast<int>(std::min<int64_t>(gm.max_nv, (ldw - col) / gm.lanes));
          for (int64_t g = 0; g < cnt; g += gm.mr) {
            const int mr = static_cast<int>(std::min<int64_t>(gm.mr, cnt - g));
            // Rows gathered from all over feats defeat the hardware prefetcher. Where each input row is read by
            // few outputs (K <= 8: strided k2/k1 convs), the rows arrive cold: fetch the next group's now
            // (k2 s2 64->64, 27k pairs: 3.2 -> 2.85 ms; for k3 maps the rows are hot and it did not pay).
            if (prefetch && col == 0) {
              for (int64_t j = g + gm.mr; j < std::min(cnt, g + 2 * static_cast<int64_t>(gm.mr)); ++j)
                for (int64_t byte = 0; byte < row_bytes; byte += 64)
                  __builtin_prefetch(reinterpret_cast<const char*>(a[j]) + byte);
            }
            Acc* c[kMaxMR];
            for (int j = 0; j < mr; ++j) c[j] = crow[g + j] + col;
            pick(mr, nv)(a + g, c, wk + col, ldw, gm.depth);
          }
        }
      }
      finish(o0, rows, acc);
    }
  });
  if (oom.load()) return Status::kOutOfMemory;
  const int64_t pos = bad.load();
  if (pos != INT64_MAX) {
    if (diag) {
      diag->input = 1;  // nbr
      diag->row = pos / K;
      diag->row2 = pos % K;
      diag->value = nbr[pos];
    }
    return Status::kIndexOutOfRange;
  }
  return Status::kOk;
}

// Shape checks shared by the conv kernels.
inline Status check_conv_shapes(int64_t n_in, int64_t cin, int64_t n_out, int64_t k, int64_t cout) {
  if (n_in < 0 || n_out < 0 || cin <= 0 || cout <= 0 || k <= 0 || n_in > INT32_MAX) return Status::kInvalidArgument;
  return Status::kOk;
}

}  // namespace cpu
}  // namespace tsp3d
