// The arithmetic of SparseConvInt8 (docs/opset.md), shared by the CPU and CUDA kernels: the bound that keeps the
// int32 accumulation exact (and the words every glue refuses a larger reduction with), and the float epilogue
// act(bias + (feats_scale * weight_scale[c]) * acc).
#pragma once

#include <stdint.h>

#include <string>

#include "tsp3d/point_math.h"

namespace tsp3d {

// Symmetric quantization: zero point 0, values in [-128, 127] (QuantizeLinear saturates at -128).
constexpr int32_t kInt8Min = -128;
constexpr int32_t kInt8Max = 127;

// |acc| <= K * Cin * 128 * 128 (both operands may be -128), so the int32 accumulation is exact while
// K * Cin <= 131071 (131071 * 16384 < 2^31). A larger reduction is refused (kInvalidArgument), never wrapped.
constexpr int64_t kInt8MaxReduction = 131071;

TSP3D_HD bool int8_reduction_fits(int64_t k, int64_t cin) {
  return k > 0 && cin > 0 && k <= kInt8MaxReduction && cin <= kInt8MaxReduction / k;
}

// Why int8_reduction_fits(k, cin) is false: the detail the ONNX Runtime op and the TensorRT plugin put after the
// kInvalidArgument status (host only).
inline std::string int8_reduction_problem(int64_t k, int64_t cin) {
  if (k < 1 || cin < 1) {
    return "K and Cin must be >= 1, got K = " + std::to_string(k) + ", Cin = " + std::to_string(cin);
  }
  return "K * Cin = " + std::to_string(k * cin) + " is over " + std::to_string(kInt8MaxReduction) +
         ": the int32 accumulation could overflow";
}

// The per-channel factor of the epilogue; computed once per channel, in this order, on every path.
TSP3D_HD float int8_channel_scale(float feats_scale, float weight_scale) { return feats_scale * weight_scale; }

// One output element from its exact accumulator. `bias` may be null (then no addition: -0 stays -0).
TSP3D_HD float int8_output(int32_t acc, float channel_scale, const float* bias, int64_t c, int32_t activation) {
  const float scaled = channel_scale * static_cast<float>(acc);
  return activate(bias != nullptr ? bias[c] + scaled : scaled, activation);
}

}  // namespace tsp3d
