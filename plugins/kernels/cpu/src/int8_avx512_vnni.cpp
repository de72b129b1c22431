// SparseConvInt8 micro-kernel for AVX512-VNNI: vpdpbusd multiplies 4 unsigned bytes by 4 signed bytes and adds
// the 4 products to an int32 lane, without saturation. The weights are the unsigned operand (w + 128, packing
// kOffsetQuads), the gathered features the signed one (4 channels broadcast to every lane), so features keep
// their full int8 range and -128 weights need no special case. Each lane gains sum (w + 128) * a = sum w * a +
// 128 * sum a: the caller subtracts the second term (sparse_conv_int8.cpp). int32 arithmetic wraps, and the
// true sum fits (int8_math.h kInt8MaxReduction), so the result is exact.
//
// Blocking: 6 rows x 4 vectors of 16 lanes = 24 accumulators + 4 weight vectors + 1 broadcast of 32 registers.
// Compiled with -mavx512f -mavx512bw -mavx512vnni; called only when the CPU has them (int8_dispatch.cpp).
#include <immintrin.h>

#include <cstring>

#include "int8_kernels.h"

namespace tsp3d {
namespace cpu {
namespace int8 {
namespace {

constexpr int kLanes = 16;
constexpr int kMR = 6;
constexpr int kNV = 4;

// acc += u8 . s8 in 4-byte groups. Inline assembly rather than _mm512_dpbusd_epi32: with the intrinsic, GCC 12
// copies every accumulator through the stack on each step (measured: 96 instead of 150 GOP/s on 128 x 128).
inline __m512i dpbusd(__m512i acc, __m512i u8, __m512i s8) {
  asm("vpdpbusd %2, %1, %0" : "+v"(acc) : "v"(u8), "v"(s8));
  return acc;
}

template <int MR, int NV>
void micro(const int8_t* const* a, int32_t* const* c, const int32_t* w, int64_t ldw, int64_t depth) {
  const int8_t* ar[MR];
  int32_t* cr[MR];
  for (int r = 0; r < MR; ++r) {
    ar[r] = a[r];
    cr[r] = c[r];
  }
  __m512i acc[MR][NV];
  for (int r = 0; r < MR; ++r)
    for (int v = 0; v < NV; ++v) acc[r][v] = _mm512_loadu_si512(cr[r] + v * kLanes);
  for (int64_t g = 0; g < depth; ++g) {
    const int32_t* wr = w + g * ldw;
    __m512i wv[NV];
    for (int v = 0; v < NV; ++v) wv[v] = _mm512_loadu_si512(wr + v * kLanes);
    for (int r = 0; r < MR; ++r) {
      int32_t quad;
      std::memcpy(&quad, ar[r] + 4 * g, 4);
      const __m512i x = _mm512_set1_epi32(quad);
      for (int v = 0; v < NV; ++v) acc[r][v] = dpbusd(acc[r][v], wv[v], x);
    }
  }
  for (int r = 0; r < MR; ++r)
    for (int v = 0; v < NV; ++v) _mm512_storeu_si512(cr[r] + v * kLanes, acc[r][v]);
}

template <int NV>
Micro pick_rows(int mr) {
  switch (mr) {
    case 1: return micro<1, NV>;
    case 2: return micro<2, NV>;
    case 3: return micro<3, NV>;
    case 4: return micro<4, NV>;
    case 5: return micro<5, NV>;
    default: return micro<6, NV>;
  }
}

Micro pick(int mr, int nv) {
  switch (nv) {
    case 1: return pick_rows<1>(mr);
    case 2: return pick_rows<2>(mr);
    case 3: return pick_rows<3>(mr);
    default: return pick_rows<4>(mr);
  }
}

}  // namespace

KernelInfo avx512_vnni_kernel() { return {Packing::kOffsetQuads, kMR, kLanes, kNV, pick}; }

}  // namespace int8
}  // namespace cpu
}  // namespace tsp3d
