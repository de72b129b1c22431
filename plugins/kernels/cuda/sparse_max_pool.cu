// SparseMaxPool: out[o, c] = max over the present neighbours of feats[nbr[o, k], c]; 0 when none wins.
// Same rule as the reference (tsp3d/sparse/conv.py max_pool_forward): start at -inf, a candidate replaces the
// best only when strictly greater, and an output whose best was never replaced (no neighbour, or only NaN / -inf
// values) is 0. One thread per (output, channel); consecutive threads read consecutive channels.
#include <cuda_fp16.h>

#include "rulebook_common.cuh"
#include "tsp3d/c_api_cuda.h"

namespace tsp3d {
namespace cuda {
namespace {

__device__ __forceinline__ float load_f(const float* p) { return *p; }
__device__ __forceinline__ float load_f(const __half* p) { return __half2float(*p); }
__device__ __forceinline__ void store_f(float* p, float v) { *p = v; }
__device__ __forceinline__ void store_f(__half* p, float v) { *p = __float2half_rn(v); }  // exact: v is a T value

template <typename T>
__global__ void max_pool_kernel(const T* feats, int64_t n_in, int64_t c, const int32_t* nbr, int64_t n_out,
                                int64_t kvol, T* out, uint32_t* bits) {
  TSP3D_GRID_STRIDE(e, n_out * c) {
    const int64_t o = e / c, ch = e % c;
    float best = -INFINITY;
    bool won = false;
    for (int64_t k = 0; k < kvol; ++k) {
      const int32_t r = read_nbr(nbr, o, k, kvol, n_in, bits);
      if (r < 0) continue;
      const float v = load_f(feats + r * c + ch);
      if (v > best) {
        best = v;
        won = true;
      }
    }
    store_f(out + e, won ? best : 0.f);
  }
}

template <typename T>
int32_t max_pool_impl(const T* feats, int64_t n_in, int64_t c, const int32_t* nbr, int64_t n_out, int64_t k,
                      T* out, int32_t* status_out, void* workspace, size_t workspace_bytes, cudaStream_t stream) {
  TSP3D_TRY(check_rulebook_args(feats, n_in, c, nbr, n_out, k, out, status_out));
  RulebookPlan p;
  TSP3D_TRY(start_launch(&p, workspace, workspace_bytes, stream));
  TSP3D_TRY(launch_rows(max_pool_kernel<T>, n_out * c, stream, feats, n_in, c, nbr, n_out, k, out, p.bits));
  return to_status(finalize(p.bits, kRulebookErrors, CountSpec{}, status_out, stream));
}

}  // namespace
}  // namespace cuda
}  // namespace tsp3d

using namespace tsp3d::cuda;

extern "C" int32_t tsp3d_cuda_sparse_max_pool_workspace_size(int64_t n_out, size_t* bytes) {
  return rulebook_workspace_size(n_out, bytes);
}

extern "C" int32_t tsp3d_cuda_sparse_max_pool_f32(const float* feats, int64_t n_in, int64_t c, const int32_t* nbr,
                                                  int64_t n_out, int64_t k, float* out, int32_t* status_out,
                                                  void* workspace, size_t workspace_bytes, cudaStream_t stream) {
  return max_pool_impl(feats, n_in, c, nbr, n_out, k, out, status_out, workspace, workspace_bytes, stream);
}

extern "C" int32_t tsp3d_cuda_sparse_max_pool_f16(const uint16_t* feats, int64_t n_in, int64_t c,
                                                  const int32_t* nbr, int64_t n_out, int64_t k, uint16_t* out,
                                                  int32_t* status_out, void* workspace, size_t workspace_bytes,
                                                  cudaStream_t stream) {
  return max_pool_impl(reinterpret_cast<const __half*>(feats), n_in, c, nbr, n_out, k, reinterpret_cast<__half*>(out),
                       status_out, workspace, workspace_bytes, stream);
}
