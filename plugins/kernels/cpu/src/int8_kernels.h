// The int8 micro-kernels of SparseConvInt8, one per instruction set, behind one interface so that the tile driver
// (conv_tiles.h) and the packing (sparse_conv_int8.cpp) stay generic. Each kernel adds exact int32 dot products:
//   c[r][0 : nv * lanes] += a[r] . W[:, 0 : nv * lanes]   for r < mr
// where a[r] is a gathered int8 feature row and W the packed weights of one kernel offset at one column block.
//
// Packings (chosen by the path, made by sparse_conv_int8.cpp):
//   kWidened: W as int32, one row per input channel ([cin][ldw]); depth = cin. The portable path.
//   kQuads:   W as int32 words of 4 int8 weights of 4 consecutive input channels ([cin4 / 4][ldw]), the operand
//             layout of vpdpbusd / vpmaddubsw; feature rows padded to cin4 (a multiple of 4) with zeros;
//             depth = cin4 / 4. kOffsetQuads stores each weight as the unsigned byte w + 128 (vpdpbusd multiplies
//             unsigned by signed bytes); the kernel then returns acc + 128 * sum(a[r]), and the caller subtracts
//             128 * sum(a[r]) per gathered row (the compensation term).
//
// The ISA files hold only these functions, compiled with their instruction set (CMakeLists.txt); they include no
// shared inline code, so nothing compiled for AVX-512 can be picked by the linker for a caller on another CPU.
#pragma once

#include <cstdint>

namespace tsp3d {
namespace cpu {
namespace int8 {

using Micro = void (*)(const int8_t* const* a, int32_t* const* c, const int32_t* w, int64_t ldw, int64_t depth);
using PickMicro = Micro (*)(int mr, int nv);

enum class Packing { kWidened, kQuads, kOffsetQuads };

struct KernelInfo {
  Packing packing;
  int mr;      // rows per call (at most conv_tiles.h kMaxMR)
  int lanes;   // int32 accumulators per vector
  int max_nv;  // vectors per column block
  PickMicro pick;
};

// Defined in int8_avx512_vnni.cpp (TSP3D_INT8_VNNI: x86-64 with a compiler that knows VNNI) and int8_avx2.cpp
// (TSP3D_INT8_X86: x86-64 builds).
KernelInfo avx512_vnni_kernel();
KernelInfo avx2_kernel();

}  // namespace int8
}  // namespace cpu
}  // namespace tsp3d
