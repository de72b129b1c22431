// What SparseConv and SparseConvInt8 share: the attribute 'activation', and the shape checks of feats [N, Cin],
// nbr [M, K], weight [K, Cin, Cout], bias [Cout] (optional).
#pragma once

#include <climits>

#include "../op_glue.h"
#include "tsp3d/point_math.h"

namespace tsp3d {
namespace ort {

// 'activation': 0 none (the default), 1 ReLU.
inline int32_t activation_attr(const KernelSetup& s) {
  const int64_t none = kActNone;
  return static_cast<int32_t>(attr_int(s, "activation", &none, kActNone, kActRelu));
}

struct ConvShapes {
  int64_t n_in, cin, n_out, k, cout;
};

inline ConvShapes conv_shapes(const Tensor& feats, const Tensor& nbr, const Tensor& weight, const Tensor& bias) {
  ConvShapes s{feats.dim(0), feats.dim(1), nbr.dim(0), nbr.dim(1), weight.dim(2)};
  if (weight.dim(0) != s.k || weight.dim(1) != s.cin) {
    fail(ORT_INVALID_ARGUMENT, "input 'weight' has shape " + shape_string(weight.shape) + ", expected [K=" +
                                   std::to_string(s.k) + " (nbr columns), Cin=" + std::to_string(s.cin) +
                                   " (feats columns), Cout]");
  }
  if (s.cin < 1 || s.cout < 1 || s.k < 1) {
    fail(ORT_INVALID_ARGUMENT, "feats " + shape_string(feats.shape) + ", nbr " + shape_string(nbr.shape) +
                                   " and weight " + shape_string(weight.shape) + " need Cin, K, Cout >= 1");
  }
  if (s.n_in > INT32_MAX) fail(ORT_INVALID_ARGUMENT, "input 'feats' has more than 2^31 - 1 rows");
  if (bias.data && (bias.shape.size() != 1 || bias.dim(0) != s.cout)) {
    fail(ORT_INVALID_ARGUMENT, "input 'bias' has shape " + shape_string(bias.shape) + ", expected [" +
                                   std::to_string(s.cout) + "]");
  }
  return s;
}

}  // namespace ort
}  // namespace tsp3d
