// Per-element rules of Voxelize, Prune and the activations. Mirrors tsp3d/sparse/{voxelize,prune,conv}.py.
#pragma once

#include <math.h>

#include "tsp3d/common.h"

namespace tsp3d {

// floor(v / voxel_size) with an IEEE float32 division (not a multiplication by the reciprocal: the reference
// divides, and the two differ in the last bit at voxel borders).
TSP3D_HD float voxel_floor(float v, float voxel_size) { return floorf(v / voxel_size); }

TSP3D_HD bool finite3(float x, float y, float z) { return isfinite(x) && isfinite(y) && isfinite(z); }

// Prune modes.
constexpr int32_t kKeepBelow = 0;  // keep score <  threshold
constexpr int32_t kKeepAbove = 1;  // keep score >  threshold

// NaN compares false either way, so it never passes.
TSP3D_HD bool prune_pass(float score, float threshold, int32_t mode) {
  return mode == kKeepBelow ? (score < threshold) : (score > threshold);
}

// Rank key for the min_keep fallback: smaller is better; NaN ranks last. Ties are broken by row index.
TSP3D_HD float prune_rank(float score, int32_t mode) {
  if (isnan(score)) return INFINITY;
  return mode == kKeepBelow ? score : -score;
}

// Total order of the min_keep fallback (docs/opset.md, Prune): is row `a` (score sa) ranked before row `b`?
// Best score first (lowest for kKeepBelow, highest for kKeepAbove), NaN strictly last (after +-inf), ties to the
// lower row. Unlike comparing prune_rank alone, this never ties an infinite score with a NaN.
TSP3D_HD bool prune_ranks_before(float sa, int64_t a, float sb, int64_t b, int32_t mode) {
  const bool na = isnan(sa), nb = isnan(sb);
  if (na != nb) return nb;
  if (!na) {
    const float ra = mode == kKeepBelow ? sa : -sa;
    const float rb = mode == kKeepBelow ? sb : -sb;
    if (ra < rb) return true;
    if (rb < ra) return false;
  }
  return a < b;
}

constexpr int32_t kActNone = 0;
constexpr int32_t kActRelu = 1;

TSP3D_HD float activate(float v, int32_t activation) {
  return (activation == kActRelu && v < 0.f) ? 0.f : v;
}

}  // namespace tsp3d
