// Prune: ascending rows whose score passes the threshold; when fewer than min(min_keep, N) pass, the
// min(min_keep, N) best rows instead (point_math.h prune_ranks_before: NaN last, ties to the lower row).
#include <algorithm>
#include <new>
#include <numeric>

#include "tsp3d/cpu/half.h"
#include "tsp3d/cpu/kernels.h"
#include "tsp3d/point_math.h"

namespace tsp3d {
namespace cpu {
namespace {

template <typename T, typename ToFloat>
Status prune(const T* scores, int64_t n, float threshold, int32_t mode, int64_t min_keep, std::vector<int32_t>* idx,
             ToFloat to_float) {
  if ((mode != kKeepBelow && mode != kKeepAbove) || min_keep < 0 || n < 0 || n > INT32_MAX) {
    return Status::kInvalidArgument;
  }
  try {
    std::vector<float> s(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) s[i] = to_float(scores[i]);
    idx->clear();
    for (int64_t i = 0; i < n; ++i)
      if (prune_pass(s[i], threshold, mode)) idx->push_back(static_cast<int32_t>(i));
    const int64_t want = std::min(min_keep, n);
    if (static_cast<int64_t>(idx->size()) >= want) return Status::kOk;
    std::vector<int32_t> order(static_cast<size_t>(n));
    std::iota(order.begin(), order.end(), 0);
    std::partial_sort(order.begin(), order.begin() + want, order.end(), [&](int32_t a, int32_t b) {
      return prune_ranks_before(s[a], a, s[b], b, mode);
    });
    order.resize(static_cast<size_t>(want));
    std::sort(order.begin(), order.end());
    idx->swap(order);
    return Status::kOk;
  } catch (const std::bad_alloc&) {
    return Status::kOutOfMemory;
  }
}

}  // namespace

Status prune_f32(const float* scores, int64_t n, float threshold, int32_t mode, int64_t min_keep,
                 std::vector<int32_t>* idx, Diag*) {
  return prune(scores, n, threshold, mode, min_keep, idx, [](float v) { return v; });
}

Status prune_f16(const uint16_t* scores, int64_t n, float threshold, int32_t mode, int64_t min_keep,
                 std::vector<int32_t>* idx, Diag*) {
  return prune(scores, n, threshold, mode, min_keep, idx, half_to_float);
}

}  // namespace cpu
}  // namespace tsp3d
