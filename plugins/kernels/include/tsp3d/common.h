// Shared by the C++ CPU kernels and the CUDA kernels: one definition of each piece of per-element math.
// Semantics: docs/opset.md. Reference implementation: tsp3d/sparse/*.py.
#pragma once

#include <cstdint>

#include "tsp3d/status.h"  // Status and its messages

#if defined(__CUDACC__)
#define TSP3D_HD __host__ __device__ __forceinline__
#else
#define TSP3D_HD inline
#endif
