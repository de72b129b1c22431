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

struct Avx2 {
  using Vec = __m256i;
  struct Row {
    __m256i x, x_abs;  // the broadcast feature bytes, and their magnitudes (|-128| = 128 as an unsigned byte)
  };
  static constexpr int kLanes = 8, kMR = 4, kNV = 2;
  static Vec load(const int32_t* p) { return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)); }
  static void store(int32_t* p, Vec v) { _mm256_storeu_si256(reinterpret_cast<__m256i*>(p), v); }
  static Row row(int32_t quad) {
    const __m256i x = _mm256_set1_epi32(quad);
    return {x, _mm256_abs_epi8(x)};
  }
  static Vec step(Vec acc, Vec w, const Row& a) {
    const __m256i signed_w = _mm256_sign_epi8(w, a.x);  // w * sign(a); 0 where a == 0
    const __m256i pairs = _mm256_maddubs_epi16(a.x_abs, signed_w);
    return _mm256_add_epi32(acc, _mm256_madd_epi16(pairs, _mm256_set1_epi16(1)));
  }
};

#define TSP3D_INT8_MICRO_FRAME_INCLUDED_BY_ISA_FILE
#include "int8_micro_frame.h"

}  // namespace

KernelInfo avx2_kernel() { return {Packing::kQuads, Avx2::kMR, Avx2::kLanes, Avx2::kNV, pick<Avx2>}; }

}  // namespace int8
}  // namespace cpu
}  // namespace tsp3d
