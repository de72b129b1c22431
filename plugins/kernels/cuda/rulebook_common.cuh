// Shared pieces of the rulebook-application kernels (SparseConv f32/f16/int8, SparseMaxPool): argument checks,
// the error word workspace, and the kernel-map read that never leaves the feature buffer.
#pragma once

#include "cuda_utils.cuh"
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

const ErrorOrder kRulebookErrors{Status::kIndexOutOfRange};

// Host checks shared by every rulebook op; also carves the error word.
inline int32_t check_rulebook_args(const void* feats, int64_t n_in, int64_t c, const int32_t* nbr, int64_t n_out,
                                   int64_t k, const void* out, const int32_t* status_out, void* workspace,
                                   size_t workspace_bytes, uint32_t** bits) {
  if (n_in < 0 || n_in > kMaxRows || c < 1 || c > kMaxRows || n_out < 0 || n_out > kMaxRows || k < 1 ||
      k > 4096 || (n_in > 0 && feats == nullptr) || (n_out > 0 && (nbr == nullptr || out == nullptr)) ||
      status_out == nullptr) {
    return invalid();
  }
  Carver carver(workspace);
  *bits = carver.take<uint32_t>(1);
  if (workspace == nullptr || workspace_bytes < carver.size()) return invalid();
  return 0;
}

inline size_t rulebook_workspace_bytes() {
  Carver carver(nullptr);
  carver.take<uint32_t>(1);
  return carver.size();
}

}  // namespace cuda
}  // namespace tsp3d
