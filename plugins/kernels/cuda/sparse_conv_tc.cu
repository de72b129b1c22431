// SparseConv on tensor cores (WMMA 16x16x16): float16 I/O with float32 accumulation, and int8 I/O with exact
// int32 accumulation plus the scales (SparseConvInt8). Same output-stationary scheme as sparse_conv_f32.cu: a
// block owns a 64 x 64 (rows x output channels) tile, four warps own 32 x 32 each, and the block loops over kernel
// offsets (skipping offsets absent for the whole tile) and 32-wide input-channel slices; the gathered rows and the
// weight slice are staged in shared memory, zero-padded, in 16-wide chunks so that every fragment pointer is
// 256-bit aligned as WMMA requires. Accumulators go through shared memory once for the epilogue.
#include <cuda_fp16.h>
#include <mma.h>

#include "rulebook_common.cuh"
#include "tsp3d/c_api_cuda.h"
#include "tsp3d/int8_math.h"

namespace tsp3d {
namespace cuda {
namespace {

namespace wmma = nvcuda::wmma;

constexpr int kBM = 64, kBN = 64, kBK = 32, kF = 16;  // kF: fragment edge
constexpr int kWarps = 4, kTcThreads = 32 * kWarps;

// Element-type traits: shared-memory row padding (rows stay multiples of 32 bytes apart) and accumulator type.
template <typename In>
struct Tc;
template <>
struct Tc<__half> {
  using Acc = float;
  static constexpr int kPad = 8;  // 16 + 8 halves = 48 bytes per row
  static __device__ __half zero() { return __float2half_rn(0.f); }
};
template <>
struct Tc<signed char> {
  using Acc = int;
  static constexpr int kPad = 16;  // 16 + 16 bytes = 32 bytes per row
  static __device__ signed char zero() { return 0; }
};

// Epilogues: f16 rounds once from float32; int8 applies act(bias + (feats_scale * weight_scale[c]) * acc).
struct EpilogueF16 {
  const __half* bias;
  __half* out;
  int32_t activation;
  __device__ void operator()(int64_t o, int64_t c, int64_t cout, float acc) const {
    const float v = bias != nullptr ? acc + __half2float(bias[c]) : acc;
    out[o * cout + c] = __float2half_rn(activate(v, activation));
  }
};

struct EpilogueI8 {  // the math is tsp3d/int8_math.h, as on the CPU
  const float* feats_scale;
  const float* weight_scale;
  const float* bias;
  float* out;
  int32_t activation;
  __device__ void operator()(int64_t o, int64_t c, int64_t cout, int acc) const {
    out[o * cout + c] = int8_output(acc, int8_channel_scale(*feats_scale, weight_scale[c]), bias, c, activation);
  }
};

template <typename In, typename Epilogue>
__global__ void __launch_bounds__(kTcThreads)
    conv_tc_kernel(const In* __restrict__ feats, int64_t n_in, int64_t cin, const int32_t* __restrict__ nbr,
                   int64_t n_out, int64_t kvol, const In* __restrict__ weight, int64_t cout, Epilogue epilogue,
                   uint32_t* bits) {
  using Acc = typename Tc<In>::Acc;
  constexpr int kLd = kF + Tc<In>::kPad;
  // A: [k-chunk][row][kLd] (row-major fragments); B: [n-chunk][k][kLd] (row-major fragments); C: row-major.
  __shared__ __align__(128) In As[kBK / kF][kBM][kLd];
  __shared__ __align__(128) In Bs[kBN / kF][kBK][kLd];
  __shared__ __align__(128) Acc Cs[kBM][kBN + 8];
  __shared__ int32_t rows[kBM];

  const int t = threadIdx.x, warp = t / 32;
  const int wm = warp / 2, wn = warp % 2;  // the warp's 32 x 32 quadrant
  const int64_t m0 = int64_t{blockIdx.x} * kBM, n0 = int64_t{blockIdx.y} * kBN;

  wmma::fragment<wmma::accumulator, kF, kF, kF, Acc> acc[2][2];
  for (int i = 0; i < 2; ++i)
    for (int j = 0; j < 2; ++j) wmma::fill_fragment(acc[i][j], Acc(0));

  for (int64_t k = 0; k < kvol; ++k) {
    const int present = load_tile_rows<kBM>(rows, t, nbr, m0, k, kvol, n_in, n_out, bits);
    if (!__syncthreads_or(present)) continue;
    for (int64_t c0 = 0; c0 < cin; c0 += kBK) {
      for (int e = t; e < kBM * kBK; e += kTcThreads) {
        const int m = e / kBK, kk = e % kBK;
        const int32_t r = rows[m];
        As[kk / kF][m][kk % kF] = (r >= 0 && c0 + kk < cin) ? feats[r * cin + c0 + kk] : Tc<In>::zero();
      }
      for (int e = t; e < kBK * kBN; e += kTcThreads) {
        const int kk = e / kBN, n = e % kBN;
        Bs[n / kF][kk][n % kF] = (c0 + kk < cin && n0 + n < cout) ? weight[(k * cin + c0 + kk) * cout + n0 + n]
                                                                   : Tc<In>::zero();
      }
      __syncthreads();
#pragma unroll
      for (int kc = 0; kc < kBK / kF; ++kc) {
        wmma::fragment<wmma::matrix_a, kF, kF, kF, In, wmma::row_major> a[2];
        wmma::fragment<wmma::matrix_b, kF, kF, kF, In, wmma::row_major> b[2];
        for (int i = 0; i < 2; ++i) wmma::load_matrix_sync(a[i], &As[kc][wm * 32 + i * kF][0], kLd);
        for (int j = 0; j < 2; ++j) wmma::load_matrix_sync(b[j], &Bs[wn * 2 + j][kc * kF][0], kLd);
        for (int i = 0; i < 2; ++i)
          for (int j = 0; j < 2; ++j) wmma::mma_sync(acc[i][j], a[i], b[j], acc[i][j]);
      }
      __syncthreads();
    }
  }
  for (int i = 0; i < 2; ++i)
    for (int j = 0; j < 2; ++j)
      wmma::store_matrix_sync(&Cs[wm * 32 + i * kF][wn * 32 + j * kF], acc[i][j], kBN + 8, wmma::mem_row_major);
  __syncthreads();
  for (int e = t; e < kBM * kBN; e += kTcThreads) {
    const int m = e / kBN, n = e % kBN;
    const int64_t o = m0 + m, c = n0 + n;
    if (o < n_out && c < cout) epilogue(o, c, cout, Cs[m][n]);
  }
}

template <typename In, typename Epilogue>
int32_t conv_tc_impl(const In* feats, int64_t n_in, int64_t cin, const int32_t* nbr, int64_t n_out, int64_t k,
                     const In* weight, int64_t cout, const void* out, int32_t activation, Epilogue epilogue,
                     int32_t* status_out, void* workspace, size_t workspace_bytes, cudaStream_t stream) {
  TSP3D_TRY(check_conv_args(feats, n_in, cin, nbr, n_out, k, weight, cout, activation, out, status_out));
  RulebookPlan p;
  TSP3D_TRY(start_launch(&p, workspace, workspace_bytes, stream));
  TSP3D_TRY(launch_tiles(conv_tc_kernel<In, Epilogue>, n_out, cout, kBM, kBN, kTcThreads, stream, feats, n_in, cin, nbr,
                         n_out, k, weight, cout, epilogue, p.bits));
  return to_status(finalize(p.bits, kRulebookErrors, CountSpec{}, status_out, stream));
}

}  // namespace
}  // namespace cuda
}  // namespace tsp3d

using namespace tsp3d;
using namespace tsp3d::cuda;

extern "C" int32_t tsp3d_cuda_sparse_conv_f16(const uint16_t* feats, int64_t n_in, int64_t cin, const int32_t* nbr,
                                              int64_t n_out, int64_t k, const uint16_t* weight, int64_t cout,
                                              const uint16_t* bias, int32_t activation, uint16_t* out,
                                              int32_t* status_out, void* workspace, size_t workspace_bytes,
                                              cudaStream_t stream) {
  const EpilogueF16 epilogue{reinterpret_cast<const __half*>(bias), reinterpret_cast<__half*>(out), activation};
  return conv_tc_impl(reinterpret_cast<const __half*>(feats), n_in, cin, nbr, n_out, k,
                      reinterpret_cast<const __half*>(weight), cout, out, activation, epilogue, status_out, workspace,
                      workspace_bytes, stream);
}

extern "C" int32_t tsp3d_cuda_sparse_conv_i8(const int8_t* feats, const float* feats_scale, int64_t n_in,
                                             int64_t cin, const int32_t* nbr, int64_t n_out, int64_t k,
                                             const int8_t* weight, const float* weight_scale, int64_t cout,
                                             const float* bias, int32_t activation, float* out, int32_t* status_out,
                                             void* workspace, size_t workspace_bytes, cudaStream_t stream) {
  // Exact int32 sums: a larger reduction is refused, as on the CPU (tsp3d/int8_math.h, docs/opset.md).
  if (feats_scale == nullptr || weight_scale == nullptr || !int8_reduction_fits(k, cin)) return invalid();
  const EpilogueI8 epilogue{feats_scale, weight_scale, bias, out, activation};
  return conv_tc_impl(reinterpret_cast<const signed char*>(feats), n_in, cin, nbr, n_out, k,
                      reinterpret_cast<const signed char*>(weight), cout, out, activation, epilogue, status_out,
                      workspace, workspace_bytes, stream);
}
