// Coordinate rows (batch, x, y, z) <-> 64-bit keys. Sorting keys sorts rows by (batch, x, y, z), the canonical
// order of every coordinate set an op creates. Mirrors tsp3d/sparse/coords.py.
#pragma once

#include "tsp3d/common.h"

namespace tsp3d {

constexpr int32_t kCoordBias = 1 << 15;
constexpr int32_t kCoordMin = -kCoordBias;     // -32768
constexpr int32_t kCoordMax = kCoordBias - 1;  // 32767
constexpr int32_t kBatchMax = (1 << 15) - 1;   // keys stay >= 0, so -1 can mark an empty hash slot
constexpr int64_t kEmptyKey = -1;

TSP3D_HD bool coord_in_range(int32_t v) { return v >= kCoordMin && v <= kCoordMax; }

TSP3D_HD bool row_in_range(int32_t b, int32_t x, int32_t y, int32_t z) {
  return b >= 0 && b <= kBatchMax && coord_in_range(x) && coord_in_range(y) && coord_in_range(z);
}

// Caller guarantees row_in_range.
TSP3D_HD int64_t pack_key(int32_t b, int32_t x, int32_t y, int32_t z) {
  return (static_cast<int64_t>(b) << 48) | (static_cast<int64_t>(x + kCoordBias) << 32) |
         (static_cast<int64_t>(y + kCoordBias) << 16) | static_cast<int64_t>(z + kCoordBias);
}

TSP3D_HD void unpack_key(int64_t key, int32_t* row4) {
  row4[0] = static_cast<int32_t>(key >> 48);
  row4[1] = static_cast<int32_t>((key >> 32) & 0xFFFF) - kCoordBias;
  row4[2] = static_cast<int32_t>((key >> 16) & 0xFFFF) - kCoordBias;
  row4[3] = static_cast<int32_t>(key & 0xFFFF) - kCoordBias;
}

// floor(v / d) for d > 0, also for negative v (C++ '/' truncates toward zero).
TSP3D_HD int32_t floor_div(int32_t v, int32_t d) {
  int32_t q = v / d;
  return (v % d != 0 && v < 0) ? q - 1 : q;
}

TSP3D_HD bool on_stride(int32_t v, int32_t s) { return v % s == 0; }

}  // namespace tsp3d
