// SparseMaxPool: channel-wise max over the present neighbours, with the reference's rules exactly: a candidate
// replaces the running max only when strictly greater (NaN never wins, ties keep the lower k), and an output
// whose max never rose above -inf (no neighbour, or only -inf/NaN ones) is 0.
#include <atomic>
#include <cmath>
#include <limits>
#include <new>
#include <vector>

#include "tsp3d/cpu/half.h"
#include "tsp3d/cpu/kernels.h"
#include "tsp3d/cpu/parallel.h"

namespace tsp3d {
namespace cpu {
namespace {

template <typename T, typename ToFloat, typename FromFloat>
Status max_pool(const T* feats, int64_t n_in, int64_t c, const int32_t* nbr, int64_t n_out, int64_t k, T* out,
                ToFloat to_float, FromFloat from_float, Diag* diag) {
  if (n_in < 0 || n_out < 0 || c <= 0 || k <= 0) return Status::kInvalidArgument;
  std::atomic<int64_t> bad{INT64_MAX};
  std::atomic<bool> oom{false};
  const float ninf = -std::numeric_limits<float>::infinity();
  parallel_for(n_out, 256, [&](int64_t b, int64_t e) {
    thread_local std::vector<float> best;
    try {
      if (best.size() < static_cast<size_t>(c)) best.resize(static_cast<size_t>(c));
    } catch (const std::bad_alloc&) {
      oom.store(true);
      return;
    }
    float* m = best.data();
    for (int64_t o = b; o < e; ++o) {
      for (int64_t j = 0; j < c; ++j) m[j] = ninf;
      for (int64_t kk = 0; kk < k; ++kk) {
        const int32_t i = nbr[o * k + kk];
        if (i < 0) continue;
        if (i >= n_in) {
          const int64_t pos = o * k + kk;
          int64_t cur = bad.load(std::memory_order_relaxed);
          while (pos < cur && !bad.compare_exchange_weak(cur, pos, std::memory_order_relaxed)) {
          }
          continue;
        }
        const T* f = feats + static_cast<int64_t>(i) * c;
        for (int64_t j = 0; j < c; ++j) {
          const float v = to_float(f[j]);
          m[j] = v > m[j] ? v : m[j];
        }
      }
      T* dst = out + o * c;
      for (int64_t j = 0; j < c; ++j) dst[j] = from_float(m[j] == ninf ? 0.f : m[j]);
    }
  });
  if (oom.load()) return Status::kOutOfMemory;
  const int64_t pos = bad.load();
  if (pos != INT64_MAX) {
    if (diag) {
      diag->input = 1;
      diag->row = pos / k;
      diag->row2 = pos % k;
      diag->value = nbr[pos];
    }
    return Status::kIndexOutOfRange;
  }
  return Status::kOk;
}

}  // namespace

Status sparse_max_pool_f32(const float* feats, int64_t n_in, int64_t c, const int32_t* nbr, int64_t n_out, int64_t k,
                           float* out, Diag* diag) {
  auto id = [](float v) { return v; };
  return max_pool(feats, n_in, c, nbr, n_out, k, out, id, id, diag);
}

// The max of half values converted to float is one of them, so converting it back is exact.
Status sparse_max_pool_f16(const uint16_t* feats, int64_t n_in, int64_t c, const int32_t* nbr, int64_t n_out,
                           int64_t k, uint16_t* out, Diag* diag) {
  return max_pool(feats, n_in, c, nbr, n_out, k, out, half_to_float, float_to_half, diag);
}

}  // namespace cpu
}  // namespace tsp3d
