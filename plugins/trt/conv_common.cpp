#include "conv_common.h"

#include "op_helpers.h"

namespace tsp3d {
namespace trt {

int32_t activation_attr(const Attributes& attrs, const std::string& where_prefix) {
  const int32_t activation = attrs.get_int("activation");
  TSP3D_VALIDATE(activation == 0 || activation == 1,
                 where_prefix << ": attribute 'activation' must be 0 (none) or 1 (ReLU), got " << activation);
  return activation;
}

void conv_output_shape(const DimsExprs& feats, const DimsExprs& nbr, const DimsExprs& weight, const DimsExprs* bias,
                       DimsExprs& out) {
  expect_rank(feats, 2, "feats [N, Cin]");
  expect_rank(nbr, 2, "nbr [M, K]");
  expect_rank(weight, 3, "weight [K, Cin, Cout]");
  if (nbr.d[1]->isConstant()) {
    expect_extent(weight, 0, nbr.d[1]->getConstantValue(), "weight [K, Cin, Cout] vs nbr [M, K]");
  }
  if (feats.d[1]->isConstant()) {
    expect_extent(weight, 1, feats.d[1]->getConstantValue(), "weight [K, Cin, Cout] vs feats [N, Cin]");
  }
  if (bias != nullptr) {
    expect_rank(*bias, 1, "bias [Cout]");
    if (weight.d[2]->isConstant()) expect_extent(*bias, 0, weight.d[2]->getConstantValue(), "bias [Cout]");
  }
  set_dims(out, {nbr.d[0], weight.d[2]});
}

ConvSizes conv_sizes(const PluginTensorDesc& feats, const PluginTensorDesc& nbr, const PluginTensorDesc& weight,
                     const PluginTensorDesc* bias) {
  TSP3D_VALIDATE(feats.dims.nbDims == 2 && nbr.dims.nbDims == 2 && weight.dims.nbDims == 3,
                 "feats [N, Cin], nbr [M, K] and weight [K, Cin, Cout] have the wrong ranks");
  ConvSizes s{feats.dims.d[0], feats.dims.d[1], nbr.dims.d[0], nbr.dims.d[1], weight.dims.d[2]};
  TSP3D_VALIDATE(weight.dims.d[0] == s.k, "weight has " << weight.dims.d[0] << " kernel offsets, nbr has " << s.k);
  TSP3D_VALIDATE(weight.dims.d[1] == s.cin,
                 "weight expects " << weight.dims.d[1] << " input channels, feats have " << s.cin);
  if (bias != nullptr) {
    TSP3D_VALIDATE(bias->dims.nbDims == 1 && bias->dims.d[0] == s.cout, "bias must have shape [" << s.cout << "]");
  }
  return s;
}

}  // namespace trt
}  // namespace tsp3d
