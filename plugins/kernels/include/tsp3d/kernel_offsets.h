// Kernel offsets in MinkowskiEngine's order (x fastest). Mirrors tsp3d/sparse/offsets.py.
//   k = 3: d in {-1, 0, 1}^3, index (dx+1) + 3(dy+1) + 9(dz+1)
//   k = 2: d in {0, 1}^3,     index dx + 2dy + 4dz   (the region starts at the output site)
//   k = 1: the single offset (0, 0, 0)
#pragma once

#include "tsp3d/common.h"

namespace tsp3d {

TSP3D_HD int32_t kernel_volume(int32_t kernel_size) { return kernel_size * kernel_size * kernel_size; }

TSP3D_HD bool kernel_size_supported(int32_t kernel_size) { return kernel_size >= 1 && kernel_size <= 3; }

// Offset k of a kernel of size kernel_size, in units of the offset stride.
TSP3D_HD void kernel_offset(int32_t kernel_size, int32_t k, int32_t* d3) {
  const int32_t lo = (kernel_size % 2) ? -(kernel_size / 2) : 0;
  d3[0] = lo + k % kernel_size;
  d3[1] = lo + (k / kernel_size) % kernel_size;
  d3[2] = lo + k / (kernel_size * kernel_size);
}

}  // namespace tsp3d
