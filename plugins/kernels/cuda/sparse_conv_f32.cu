// SparseConv, float32: output-stationary gather-GEMM. A block owns a 64 x 64 tile of (output rows, output
// channels) and loops over kernel offsets k and input-channel slices; it gathers the tile's input rows of offset k
// (skipping an offset absent for the whole tile), so every output value is summed by one thread in a fixed order:
// no atomics, the same bits on every run. Bias and activation are applied once at the end.
#include "rulebook_common.cuh"
#include "tsp3d/c_api_cuda.h"

namespace tsp3d {
namespace cuda {
namespace {

constexpr int kBM = 64, kBN = 64, kBK = 16, kTM = 4, kTN = 4;
constexpr int kConvThreads = (kBM / kTM) * (kBN / kTN);  // 256

__global__ void __launch_bounds__(kConvThreads)
    conv_f32_kernel(const float* __restrict__ feats, int64_t n_in, int64_t cin, const int32_t* __restrict__ nbr,
                    int64_t n_out, int64_t kvol, const float* __restrict__ weight, int64_t cout,
                    const float* __restrict__ bias, int32_t activation, float* __restrict__ out, uint32_t* bits) {
  __shared__ float As[kBK][kBM + 4];
  __shared__ float Bs[kBK][kBN];
  __shared__ int32_t rows[kBM];
  const int t = threadIdx.x;
  const int tx = t % (kBN / kTN), ty = t / (kBN / kTN);
  const int64_t m0 = int64_t{blockIdx.x} * kBM, n0 = int64_t{blockIdx.y} * kBN;

  float acc[kTM][kTN] = {};
  for (int64_t k = 0; k < kvol; ++k) {
    const int present = load_tile_rows<kBM>(rows, t, nbr, m0, k, kvol, n_in, n_out, bits);
    if (!__syncthreads_or(present)) continue;  // offset k absent for every output of the tile
    for (int64_t c0 = 0; c0 < cin; c0 += kBK) {
      for (int e = t; e < kBM * kBK; e += kConvThreads) {
        const int m = e / kBK, kk = e % kBK;
        const int32_t r = rows[m];
        As[kk][m] = (r >= 0 && c0 + kk < cin) ? feats[r * cin + c0 + kk] : 0.f;
      }
      for (int e = t; e < kBK * kBN; e += kConvThreads) {
        const int kk = e / kBN, n = e % kBN;
        Bs[kk][n] = (c0 + kk < cin && n0 + n < cout) ? weight[(k * cin + c0 + kk) * cout + n0 + n] : 0.f;
      }
      __syncthreads();
#pragma unroll
      for (int kk = 0; kk < kBK; ++kk) {
        float a[kTM], b[kTN];
#pragma unroll
        for (int i = 0; i < kTM; ++i) a[i] = As[kk][ty * kTM + i];
#pragma unroll
        for (int j = 0; j < kTN; ++j) b[j] = Bs[kk][tx * kTN + j];
#pragma unroll
        for (int i = 0; i < kTM; ++i)
#pragma unroll
          for (int j = 0; j < kTN; ++j) acc[i][j] = fmaf(a[i], b[j], acc[i][j]);
      }
      __syncthreads();
    }
  }
#pragma unroll
  for (int i = 0; i < kTM; ++i) {
    const int64_t o = m0 + ty * kTM + i;
    if (o >= n_out) continue;
#pragma unroll
    for (int j = 0; j < kTN; ++j) {
      const int64_t c = n0 + tx * kTN + j;
      if (c >= cout) continue;
      const float v = bias != nullptr ? acc[i][j] + bias[c] : acc[i][j];
      out[o * cout + c] = activate(v, activation);
    }
  }
}

}  // namespace
}  // namespace cuda
}  // namespace tsp3d

using namespace tsp3d;
using namespace tsp3d::cuda;

extern "C" int32_t tsp3d_cuda_sparse_conv_workspace_size(int64_t n_out, size_t* bytes) {
  return rulebook_workspace_size(n_out, bytes);
}

extern "C" int32_t tsp3d_cuda_sparse_conv_f32(const float* feats, int64_t n_in, int64_t cin, const int32_t* nbr,
                                              int64_t n_out, int64_t k, const float* weight, int64_t cout,
                                              const float* bias, int32_t activation, float* out,
                                              int32_t* status_out, void* workspace, size_t workspace_bytes,
                                              cudaStream_t stream) {
  TSP3D_TRY(check_conv_args(feats, n_in, cin, nbr, n_out, k, weight, cout, activation, out, status_out));
  RulebookPlan p;
  TSP3D_TRY(start_launch(&p, workspace, workspace_bytes, stream));
  TSP3D_TRY(launch_tiles(conv_f32_kernel, n_out, cout, kBM, kBN, kConvThreads, stream, feats, n_in, cin, nbr, n_out,
                         k, weight, cout, bias, activation, out, p.bits));
  return to_status(finalize(p.bits, kRulebookErrors, CountSpec{}, status_out, stream));
}
