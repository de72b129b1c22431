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

struct Vnni {
  using Vec = __m512i;
  using Row = __m512i;
  static constexpr int kLanes = 16, kMR = 6, kNV = 4;
  static Vec load(const int32_t* p) { return _mm512_loadu_si512(p); }
  static void store(int32_t* p, Vec v) { _mm512_storeu_si512(p, v); }
  static Row row(int32_t quad) { return _mm512_set1_epi32(quad); }
  // acc += (w + 128) . x in 4-byte groups. Inline assembly rather than _mm512_dpbusd_epi32: with the intrinsic,
  // GCC 12 copies every accumulator through the stack on each step (measured: 96 instead of 150 GOP/s on
  // 128 x 128).
  static Vec step(Vec acc, Vec w_u8, Row x_s8) {
    asm("vpdpbusd %2, %1, %0" : "+v"(acc) : "v"(w_u8), "v"(x_s8));
    return acc;
  }
};

#define TSP3D_INT8_MICRO_FRAME_INCLUDED_BY_ISA_FILE
#include "int8_micro_frame.h"

}  // namespace

KernelInfo avx512_vnni_kernel() { return {Packing::kOffsetQuads, Vnni::kMR, Vnni::kLanes, Vnni::kNV, pick<Vnni>}; }

}  // namespace int8
}  // namespace cpu
}  // namespace tsp3d
