// The frame every int8 dot-product micro-kernel shares (int8_kernels.h): load the accumulators of mr rows x nv
// vectors, then per quad of input channels load nv weight vectors and, per row, broadcast the row's 4 feature bytes
// and let the instruction set add their products, then store. depth >= 1. `Isa` supplies the vector type and the step:
//   Isa::Vec, Isa::kLanes, Isa::kMR, Isa::kNV, load(const int32_t*), store(int32_t*, Vec),
//   Isa::Row row(int32_t quad) (the broadcast, and whatever the step needs of it), Vec step(Vec acc, Vec w, Row).
//
// Included only by the ISA files, inside their anonymous namespace: every instantiation has internal linkage, so
// code compiled for AVX-512 can never stand in for another file's (the linker sees no shared inline symbol).
#ifndef TSP3D_INT8_MICRO_FRAME_INCLUDED_BY_ISA_FILE
#error "int8_micro_frame.h belongs inside an ISA file's anonymous namespace"
#endif

template <int MR, int NV, class Isa>
void micro(const int8_t* const* a, int32_t* const* c, const int32_t* w, int64_t ldw, int64_t depth) {
  const int8_t* ar[MR];
  int32_t* cr[MR];  // local copies: stores through the vectors may alias the caller's pointer arrays
  for (int r = 0; r < MR; ++r) {
    ar[r] = a[r];
    cr[r] = c[r];
  }
  typename Isa::Vec acc[MR][NV];
  for (int r = 0; r < MR; ++r)
    for (int v = 0; v < NV; ++v) acc[r][v] = Isa::load(cr[r] + v * Isa::kLanes);
  int64_t g = 0;
  do {  // depth >= 1: a do-loop keeps the accumulators in registers on every path (a for-loop went via the stack)
    const int32_t* wr = w + g * ldw;
    typename Isa::Vec wv[NV];
    for (int v = 0; v < NV; ++v) wv[v] = Isa::load(wr + v * Isa::kLanes);
    for (int r = 0; r < MR; ++r) {
      int32_t quad;
      std::memcpy(&quad, ar[r] + 4 * g, 4);
      const typename Isa::Row x = Isa::row(quad);
      for (int v = 0; v < NV; ++v) acc[r][v] = Isa::step(acc[r][v], wv[v], x);
    }
  } while (++g < depth);
  for (int r = 0; r < MR; ++r)
    for (int v = 0; v < NV; ++v) Isa::store(cr[r] + v * Isa::kLanes, acc[r][v]);
}

// (rows, vectors) at run time -> the instantiation; rows in 1..kMR, vectors in 1..kNV.
template <class Isa, int NV, int MR = 1>
Micro pick_rows(int mr) {
  if constexpr (MR == Isa::kMR) {
    return micro<MR, NV, Isa>;
  } else {
    return mr == MR ? micro<MR, NV, Isa> : pick_rows<Isa, NV, MR + 1>(mr);
  }
}

template <class Isa, int NV = 1>
Micro pick(int mr, int nv) {
  if constexpr (NV == Isa::kNV) {
    return pick_rows<Isa, NV>(mr);
  } else {
    return nv == NV ? pick_rows<Isa, NV>(mr) : pick<Isa, NV + 1>(mr, nv);
  }
}
