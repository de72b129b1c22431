// Prune: keep the rows whose score passes the threshold (flags + scan + scatter), or, when fewer than
// min(min_keep, n) pass, the min(min_keep, n) best rows, found by a one-block radix select that only runs in that
// case (a device flag decides; the host never waits).
#include <cuda_fp16.h>

#include <cub/block/block_reduce.cuh>
#include <cub/block/block_scan.cuh>

#include "cub_primitives.cuh"
#include "launch.cuh"
#include "tsp3d/c_api_cuda.h"
#include "tsp3d/point_math.h"

namespace tsp3d {
namespace cuda {
namespace {

constexpr int kSelectThreads = 1024;

__device__ __forceinline__ float score_at(const float* s, int64_t i) { return s[i]; }
__device__ __forceinline__ float score_at(const __half* s, int64_t i) { return __half2float(s[i]); }

// Order key of the fallback: smaller is better. Scores order as floats (-0 == +0; lowest first for mode 0,
// highest first for mode 1) and NaN ranks after every number, +-inf included (docs/opset.md); equal keys are
// resolved by row index by the caller.
__device__ __forceinline__ uint32_t order_key(float score, int32_t mode) {
  if (isnan(score)) return 0xFFFFFFFFu;
  float r = mode == kKeepBelow ? score : -score;
  if (r == 0.f) r = 0.f;  // -0 -> +0
  const uint32_t bits = __float_as_uint(r);
  return (bits & 0x80000000u) ? ~bits : (bits | 0x80000000u);  // monotone float -> uint32 (max: +inf 0xFF800000)
}

template <typename T>
__global__ void pass_flags_kernel(const T* scores, int n, float threshold, int32_t mode, int32_t* flags) {
  TSP3D_GRID_STRIDE(i, n) { flags[i] = prune_pass(score_at(scores, i), threshold, mode) ? 1 : 0; }
}

// count = passed >= want ? passed : want; fallback when passed < want.
__global__ void prune_finalize_kernel(const int32_t* pos, const int32_t* flags, int n, int64_t want, int64_t bound,
                                      int64_t* count_out, int32_t* status_out, int32_t* fallback) {
  if (blockIdx.x != 0 || threadIdx.x != 0) return;
  const int64_t passed = n > 0 ? int64_t{pos[n - 1]} + flags[n - 1] : 0;
  const bool fall = passed < want;
  const int64_t count = fall ? want : passed;
  *fallback = fall ? 1 : 0;
  *count_out = count;
  *status_out = count > bound ? static_cast<int32_t>(Status::kCapacityExceeded) : 0;
}

__global__ void scatter_passed_kernel(const int32_t* flags, const int32_t* pos, int n, const int32_t* status,
                                      const int32_t* fallback, int32_t* idx_out) {
  if (*status != 0 || *fallback != 0) return;
  TSP3D_GRID_STRIDE(i, n) {
    if (flags[i]) idx_out[pos[i]] = static_cast<int32_t>(i);
  }
}

template <typename T>
__global__ void __launch_bounds__(kSelectThreads)
    select_best_kernel(const T* scores, int n, int32_t mode, int want, const int32_t* status,
                       const int32_t* fallback, int32_t* idx_out) {
  if (*status != 0 || *fallback == 0 || want <= 0) return;
  using Reduce = cub::BlockReduce<int, kSelectThreads>;
  using Scan = cub::BlockScan<int, kSelectThreads>;
  __shared__ union {
    typename Reduce::TempStorage reduce;
    typename Scan::TempStorage scan;
  } temp;
  __shared__ int shared_total;
  const int tid = threadIdx.x;

  // Radix select, most significant bit first: the want-th smallest key `prefix`, and k = how many rows holding
  // exactly that key are taken (the ones with the lowest row indices).
  uint32_t prefix = 0;
  int k = want;
  for (int bit = 31; bit >= 0; --bit) {
    const uint32_t high = bit == 31 ? 0u : (0xFFFFFFFFu << (bit + 1));
    int zeros = 0;
    for (int i = tid; i < n; i += kSelectThreads) {
      const uint32_t key = order_key(score_at(scores, i), mode);
      zeros += ((key & high) == prefix && ((key >> bit) & 1u) == 0u) ? 1 : 0;
    }
    const int total = Reduce(temp.reduce).Sum(zeros);
    if (tid == 0) shared_total = total;
    __syncthreads();
    const int c0 = shared_total;
    __syncthreads();
    if (k > c0) {
      k -= c0;
      prefix |= 1u << bit;
    }
  }

  // Ordered compaction: rows with key < prefix, plus the first k rows with key == prefix, ascending.
  int written = 0, equal_seen = 0;
  for (int base = 0; base < n; base += kSelectThreads) {
    const int i = base + tid;
    const uint32_t key = i < n ? order_key(score_at(scores, i), mode) : 0xFFFFFFFFu;
    const int is_eq = (i < n && key == prefix) ? 1 : 0;
    int eq_rank, eq_total;
    Scan(temp.scan).ExclusiveSum(is_eq, eq_rank, eq_total);
    __syncthreads();
    const int keep = (i < n && (key < prefix || (is_eq && equal_seen + eq_rank < k))) ? 1 : 0;
    int out_rank, keep_total;
    Scan(temp.scan).ExclusiveSum(keep, out_rank, keep_total);
    __syncthreads();
    if (keep) idx_out[written + out_rank] = i;
    written += keep_total;
    equal_seen += eq_total;
  }
}

// No error word: the only data error is the capacity, which prune_finalize_kernel writes itself.
struct PrunePlan {
  int64_t n;
  int32_t* fallback = nullptr;
  FlagScan passed;  // flags: the row passes the threshold

  explicit PrunePlan(int64_t rows) : n(rows) {}
  int32_t carve(Carver& carver) {
    if (n < 0 || n > kMaxRows) return invalid();
    fallback = carver.take<int32_t>(1);
    return passed.carve(carver, n);
  }
};

template <typename T>
int32_t prune_impl(const T* scores, int64_t n, float threshold, int32_t mode, int64_t min_keep, int64_t capacity,
                   int32_t* idx_out, int64_t* count_out, int32_t* status_out, void* workspace,
                   size_t workspace_bytes, cudaStream_t stream) {
  if (n < 0 || n > kMaxRows || (mode != kKeepBelow && mode != kKeepAbove) || min_keep < 0 || capacity < 0 ||
      (n > 0 && (scores == nullptr || idx_out == nullptr)) || count_out == nullptr || status_out == nullptr) {
    return invalid();
  }
  PrunePlan p(n);
  TSP3D_TRY(start_launch(&p, workspace, workspace_bytes, stream));
  const int in = static_cast<int>(n);
  const int64_t want = min_keep < n ? min_keep : n;
  if (n > 0) {
    TSP3D_TRY(launch_rows(pass_flags_kernel<T>, n, stream, scores, in, threshold, mode, p.passed.flags));
    TSP3D_TRY_CUDA(p.passed.scan(stream));
  }
  prune_finalize_kernel<<<1, 1, 0, stream>>>(p.passed.pos, p.passed.flags, in, want, capacity > 0 ? capacity : n,
                                             count_out, status_out, p.fallback);
  TSP3D_TRY(launch_status());
  if (n == 0) return 0;
  TSP3D_TRY(launch_rows(scatter_passed_kernel, n, stream, p.passed.flags, p.passed.pos, in, status_out, p.fallback,
                        idx_out));
  select_best_kernel<T><<<1, kSelectThreads, 0, stream>>>(scores, in, mode, static_cast<int>(want), status_out,
                                                          p.fallback, idx_out);
  return launch_status();
}

}  // namespace
}  // namespace cuda
}  // namespace tsp3d

using namespace tsp3d;
using namespace tsp3d::cuda;

extern "C" int32_t tsp3d_cuda_prune_workspace_size(int64_t n, size_t* bytes) {
  return measure_workspace(PrunePlan(n), bytes);
}

extern "C" int32_t tsp3d_cuda_prune_f32(const float* scores, int64_t n, float threshold, int32_t mode,
                                        int64_t min_keep, int64_t capacity, int32_t* idx_out, int64_t* count_out,
                                        int32_t* status_out, void* workspace, size_t workspace_bytes,
                                        cudaStream_t stream) {
  return prune_impl(scores, n, threshold, mode, min_keep, capacity, idx_out, count_out, status_out, workspace,
                    workspace_bytes, stream);
}

extern "C" int32_t tsp3d_cuda_prune_f16(const uint16_t* scores, int64_t n, float threshold, int32_t mode,
                                        int64_t min_keep, int64_t capacity, int32_t* idx_out, int64_t* count_out,
                                        int32_t* status_out, void* workspace, size_t workspace_bytes,
                                        cudaStream_t stream) {
  return prune_impl(reinterpret_cast<const __half*>(scores), n, threshold, mode, min_keep, capacity, idx_out,
                    count_out, status_out, workspace, workspace_bytes, stream);
}
