// The register-blocked micro-kernel of the sparse conv: for MR gathered input rows a_r (any rows of feats) and
// MR rows c_r of the output tile's accumulator, c_r[0:NV*V] += a_r[0:cin] @ W[0:cin, 0:NV*V].
//
// Written with GCC/Clang vector extensions, so one source compiles to AVX-512, AVX2 or NEON (or scalar code) as
// the target allows; V (floats per vector) and the blocking follow the widest vector unit:
//   AVX-512: 16 floats, 6 rows x 4 vectors (24 accumulators of 32 registers)
//   AVX/AVX2: 8 floats, 6 rows x 2 vectors (12 of 16)
//   otherwise (NEON, SSE, scalar): 4 floats, 6 rows x 4 vectors (24 of 32 on AArch64)
// Each accumulator element sums its products in the order ci = 0..cin-1, whatever rows share the block, so a
// result does not depend on how rows were grouped or which thread ran them.
#pragma once

#include <cstdint>

namespace tsp3d {
namespace cpu {
namespace gemm {

#if defined(__AVX512F__)
constexpr int kVec = 16;
constexpr int kMaxNV = 4;
#elif defined(__AVX__)
constexpr int kVec = 8;
constexpr int kMaxNV = 2;
#else
constexpr int kVec = 4;
constexpr int kMaxNV = 4;
#endif
constexpr int kMR = 6;

typedef float vfloat __attribute__((vector_size(kVec * sizeof(float))));
typedef int32_t vint __attribute__((vector_size(kVec * sizeof(int32_t))));
// Views of plain float / int32 memory as vectors: any alignment, may alias the scalars.
typedef float vfloat_mem __attribute__((vector_size(kVec * sizeof(float)), aligned(4), may_alias));
typedef int32_t vint_mem __attribute__((vector_size(kVec * sizeof(int32_t)), aligned(4), may_alias));

inline vfloat load(const float* p) { return *reinterpret_cast<const vfloat_mem*>(p); }
inline vint load(const int32_t* p) { return *reinterpret_cast<const vint_mem*>(p); }
inline void store(float* p, vfloat v) { *reinterpret_cast<vfloat_mem*>(p) = v; }
inline void store(int32_t* p, vint v) { *reinterpret_cast<vint_mem*>(p) = v; }

// Broadcast. Subtracting +0 is exact for every float (signed zeros included), so it folds away; adding 0
// would not (-0 + 0 = +0) and costs an add per broadcast.
inline vfloat splat(float v) { return v - vfloat{}; }
inline vint splat(int32_t v) { return v - vint{}; }

// The vector of kVec accumulators of type Acc.
template <typename Acc>
struct Lanes;
template <>
struct Lanes<float> {
  using type = vfloat;
};
template <>
struct Lanes<int32_t> {
  using type = vint;
};

// c_r[0:NV*kVec] += a_r[0:cin] @ W[0:cin, 0:NV*kVec] for r < MR; w points at W[k][0][col0], rows ldw apart;
// cin >= 1. Float: a, c and w float. Int8: a holds int8 rows, c the int32 accumulators, w the weights widened
// to int32 (exact in any order).
template <int MR, int NV, typename A, typename Acc>
inline void micro(const A* const* a, Acc* const* c, const Acc* w, int64_t ldw, int64_t cin) {
  using Vec = typename Lanes<Acc>::type;
  const A* ar[MR];
  Acc* cr[MR];  // local copies: stores through the vectors may alias the caller's pointer arrays
  for (int r = 0; r < MR; ++r) {
    ar[r] = a[r];
    cr[r] = c[r];
  }
  Vec acc[MR][NV];
  for (int r = 0; r < MR; ++r)
    for (int v = 0; v < NV; ++v) acc[r][v] = load(cr[r] + v * kVec);
  int64_t ci = 0;
  do {  // cin >= 1: a do-loop keeps the accumulators in registers on every path
    const Acc* wr = w + ci * ldw;
    Vec wv[NV];
    for (int v = 0; v < NV; ++v) wv[v] = load(wr + v * kVec);
    for (int r = 0; r < MR; ++r) {
      const Vec x = splat(static_cast<Acc>(ar[r][ci]));
      for (int v = 0; v < NV; ++v) acc[r][v] += x * wv[v];
    }
  } while (++ci < cin);
  for (int r = 0; r < MR; ++r)
    for (int v = 0; v < NV; ++v) store(cr[r] + v * kVec, acc[r][v]);
}

// Runtime (rows, vectors) -> the instantiation; rows in 1..kMR, nv in 1..kMaxNV.
template <typename A, typename Acc>
using MicroFn = void (*)(const A* const*, Acc* const*, const Acc*, int64_t, int64_t);

template <typename A, typename Acc, int NV, int MR = 1>
inline MicroFn<A, Acc> pick_rows(int rows) {
  if constexpr (MR == kMR) {
    return micro<MR, NV, A, Acc>;
  } else {
    return rows == MR ? micro<MR, NV, A, Acc> : pick_rows<A, Acc, NV, MR + 1>(rows);
  }
}

template <typename A, typename Acc, int NV = 1>
inline MicroFn<A, Acc> pick(int rows, int nv) {
  if constexpr (NV == kMaxNV) {
    return pick_rows<A, Acc, NV>(rows);
  } else {
    return nv == NV ? pick_rows<A, Acc, NV>(rows) : pick<A, Acc, NV + 1>(rows, nv);
  }
}

inline MicroFn<float, float> pick_f32(int rows, int nv) { return pick<float, float>(rows, nv); }
inline MicroFn<int8_t, int32_t> pick_i8(int rows, int nv) { return pick<int8_t, int32_t>(rows, nv); }

}  // namespace gemm
}  // namespace cpu
}  // namespace tsp3d
