// SparseConvInt8 micro-kernel for AVX2 (no VNNI): vpmaddubsw multiplies unsigned by signed bytes and adds pairs
// of products into int16 *with saturation*, so a plain u8 x s8 product would clip (2 * 255 * 127 > 32767).
// Exact form: with the sign of the feature moved onto the weight,
//   a * w = |a| * (sign(a) * w),   |a| <= 128 (unsigned),   |sign(a) * w| <= 127 (weights in [-127, 127]),
// a pair sums to at most 2 * 128 * 127 = 32512 <= 32767: vpmaddubsw never saturates; vpmaddwd with ones widens
// the pairs into int32 lanes exactly. Packing kQuads (plain int8 weights). A weight of -128 would break the bound
// (its negation does not fit): sparse_conv_int8.cpp runs such weights on the portable path instead.
//
// Blocking: 4 rows x 2 vectors of 8 lanes = 8 accumulators + 2 weights + feature, |feature|, ones, product of
// 16 registers. Compiled with -mavx2; called only when the CPU has AVX2 (int8_dispatch.cpp).
#include <immintrin.h>

#include <cstring>

#include "int8_kernels.h"

namespace tsp3d {
namespace cpu {
namespace int8 {
namespace {

constexpr int kLanes = 8;
constexpr int kMR = 4;
constexpr int kNV = 2;

template <int MR, int NV>
void micro(const int8_t* const* a, int32_t* const* c, const int32_t* w, int64_t ldw, int64_t depth) {
  const int8_t* ar[MR];
  int32_t* cr[MR];
  for (int r = 0; r < MR; ++r) {
    ar[r] = a[r];
    cr[r] = c[r];
  }
  __m256i acc[MR][NV];
  for (int r = 0; r < MR; ++r)
    for (int v = 0; v < NV; ++v) acc[r][v] = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(cr[r] + v * kLanes));
  const __m256i ones = _mm256_set1_epi16(1);
  for (int64_t g = 0; g < depth; ++g) {
    const int32_t* wr = w + g * ldw;
    __m256i wv[NV];
    for (int v = 0; v < NV; ++v) wv[v] = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(wr + v * kLanes));
    for (int r = 0; r < MR; ++r) {
      int32_t quad;
      std::memcpy(&quad, ar[r] + 4 * g, 4);
      const __m256i x = _mm256_set1_epi32(quad);
      const __m256i x_abs = _mm256_abs_epi8(x);  // |-128| = 128 as an unsigned byte
      for (int v = 0; v < NV; ++v) {
        const __m256i signed_w = _mm256_sign_epi8(wv[v], x);  // w * sign(a); 0 where a == 0
        const __m256i pairs = _mm256_maddubs_epi16(x_abs, signed_w);
        acc[r][v] = _mm256_add_epi32(acc[r][v], _mm256_madd_epi16(pairs, ones));
      }
    }
  }
  for (int r = 0; r < MR; ++r)
    for (int v = 0; v < NV; ++v) _mm256_storeu_si256(reinterpret_cast<__m256i*>(cr[r] + v * kLanes), acc[r][v]);
}

template <int NV>
Micro pick_rows(int mr) {
  switch (mr) {
    case 1: return micro<1, NV>;
    case 2: return micro<2, NV>;
    case 3: return micro<3, NV>;
    default: return micro<4, NV>;
  }
}

Micro pick(int mr, int nv) { return nv == 1 ? pick_rows<1>(mr) : pick_rows<2>(mr); }

}  // namespace

KernelInfo avx2_kernel() { return {Packing::kQuads, kMR, kLanes, kNV, pick}; }

}  // namespace int8
}  // namespace cpu
}  // namespace tsp3d
