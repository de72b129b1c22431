// Shared pieces of the rulebook-application kernels (SparseConv f32/f16/int8, SparseMaxPool): argument checks,
// the workspace (the error word alone), and the kernel-map read that never leaves the feature buffer.
#pragma once

#include "launch.cuh"
#include "tsp3d/point_math.h"

namespace tsp3d {
namespace cuda {

// Input row of nbr[o, k]: -1 when absent; an entry >= n_in raises kIndexOutOfRange and reads as absent (the
// reference treats every negative entry as absent).
__device__ __forceinline__ int32_t read_nbr(const int32_t* nbr, int64_t o, int64_t k, int64_t kvol, int64_t n_in,
                                            uint32_t* bits) {
  const int32_t r = nbr[o * kvol + k];
  if (r < 0) return -1;
  if (r >= n_in) {
    raise_error(bits, Status::kIndexOutOfRange);
    return -1;
  }
  return r;
}

// The conv kernels' gather step: thread t < kTileRows writes rows[t], the input row of kernel offset k for output
// m0 + t (-1 when absent or past n_out); returns whether it is present (for __syncthreads_or: a tile skips an
// offset absent for all its outputs).
template <int kTileRows>
__device__ __forceinline__ int load_tile_rows(int32_t* rows, int t, const int32_t* nbr, int64_t m0, int64_t k,
                                              int64_t kvol, int64_t n_in, int64_t n_out, uint32_t* bits) {
  if (t >= kTileRows) return 0;
  const int64_t o = m0 + t;
  rows[t] = o < n_out ? read_nbr(nbr, o, k, kvol, n_in, bits) : -1;
  return rows[t] >= 0;
}

const ErrorOrder kRulebookErrors{Status::kIndexOutOfRange};

// Host checks shared by every rulebook op.
inline int32_t check_rulebook_args(const void* feats, int64_t n_in, int64_t c, const int32_t* nbr, int64_t n_out,
                                   int64_t k, const void* out, const int32_t* status_out) {
  if (n_in < 0 || n_in > kMaxRows || c < 1 || c > kMaxRows || n_out < 0 || n_out > kMaxRows || k < 1 ||
      k > 4096 || (n_in > 0 && feats == nullptr) || (n_out > 0 && (nbr == nullptr || out == nullptr)) ||
      status_out == nullptr) {
    return invalid();
  }
  return 0;
}

// ... and by every conv: the weights, the output channels and the activation.
inline int32_t check_conv_args(const void* feats, int64_t n_in, int64_t cin, const int32_t* nbr, int64_t n_out,
                               int64_t k, const void* weight, int64_t cout, int32_t activation, const void* out,
                               const int32_t* status_out) {
  TSP3D_TRY(check_rulebook_args(feats, n_in, cin, nbr, n_out, k, out, status_out));
  if (weight == nullptr || cout < 1 || cout > kMaxRows || (activation != kActNone && activation != kActRelu)) {
    return invalid();
  }
  return 0;
}

struct RulebookPlan : ErrorWord {
  int32_t carve(Carver& carver) {
    bits = carver.take<uint32_t>(1);
    return 0;
  }
};

// The workspace query of every rulebook op (the same for all sizes).
inline int32_t rulebook_workspace_size(int64_t n_out, size_t* bytes) {
  if (n_out < 0) return invalid();
  return measure_workspace(RulebookPlan{}, bytes);
}

}  // namespace cuda
}  // namespace tsp3d
