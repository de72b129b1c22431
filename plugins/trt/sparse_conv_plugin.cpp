#include "sparse_conv_plugin.h"

#include "op_helpers.h"
#include "tsp3d/c_api_cuda.h"

namespace tsp3d {
namespace trt {

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
  out.nbDims = 2;
  out.d[0] = nbr.d[0];
  out.d[1] = weight.d[2];
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
    TSP3D_VALIDATE(bias->dims.nbDims == 1 && bias->dims.d[0] == s.cout,
                   "bias must have shape [" << s.cout << "]");
  }
  return s;
}

const Schema& SparseConvPlugin::schema() {
  static const Schema s{{"activation", FieldKind::kInt, false, 0.0}};
  return s;
}

SparseConvPlugin::SparseConvPlugin(std::string node, Attributes attrs)
    : PluginBase(kName, std::move(node), std::move(attrs)), activation_(attrs_.get_int("activation")) {
  TSP3D_VALIDATE(activation_ == 0 || activation_ == 1,
                 where() << ": attribute 'activation' must be 0 (none) or 1 (ReLU), got " << activation_);
}

void SparseConvPlugin::output_types(DataType* out, int32_t, const DataType* in, int32_t nb_in) const {
  const DataType t = in[kFeats];
  TSP3D_VALIDATE(t == DataType::kFLOAT || t == DataType::kHALF,
                 "feats must be float32 or float16, got " << type_name(t));
  TSP3D_VALIDATE(in[kWeight] == t, "weight must have the type of feats (" << type_name(t) << "), got "
                                                                           << type_name(in[kWeight]));
  TSP3D_VALIDATE(nb_in < 4 || in[kBias] == t, "bias must have the type of feats (" << type_name(t) << ")");
  TSP3D_VALIDATE(in[kNbr] == DataType::kINT32, "nbr must be int32, got " << type_name(in[kNbr]));
  out[kOut] = t;
}

void SparseConvPlugin::output_shapes(const DimsExprs* in, int32_t nb_in, DimsExprs* out, int32_t,
                                     IExprBuilder&) const {
  conv_output_shape(in[kFeats], in[kNbr], in[kWeight], nb_in > kBias ? &in[kBias] : nullptr, out[kOut]);
}

bool SparseConvPlugin::supports(int32_t pos, const DynamicPluginTensorDesc* io, int32_t, int32_t) const {
  const DataType t = io[pos].desc.type;
  if (pos == kFeats) return t == DataType::kFLOAT || t == DataType::kHALF;
  if (pos == kNbr) return t == DataType::kINT32;
  return t == io[kFeats].desc.type;  // weight, bias and the output follow feats
}

size_t SparseConvPlugin::kernel_workspace_bytes(const DynamicPluginTensorDesc* in, int32_t) const {
  size_t bytes = 0;
  return workspace_or_throw(tsp3d_cuda_sparse_conv_workspace_size(extent(max_dims(in[kNbr]), 0), &bytes), bytes,
                            kName);
}

bool SparseConvPlugin::run(const PluginTensorDesc* in, const PluginTensorDesc*, const void* const* inputs,
                           void* const* outputs, void* ws, cudaStream_t stream) {
  const bool has_bias = nb_inputs_ > kBias;
  const ConvSizes z = conv_sizes(in[kFeats], in[kNbr], in[kWeight], has_bias ? &in[kBias] : nullptr);
  size_t bytes = 0;
  if (!launched("workspace query", tsp3d_cuda_sparse_conv_workspace_size(z.n_out, &bytes))) return false;
  const auto* nbr = static_cast<const int32_t*>(inputs[kNbr]);
  int32_t s = 0;
  if (in[kFeats].type == DataType::kFLOAT) {
    s = tsp3d_cuda_sparse_conv_f32(static_cast<const float*>(inputs[kFeats]), z.n_in, z.cin, nbr, z.n_out, z.k,
                                   static_cast<const float*>(inputs[kWeight]), z.cout,
                                   has_bias ? static_cast<const float*>(inputs[kBias]) : nullptr, activation_,
                                   static_cast<float*>(outputs[kOut]), status_slot(ws), kernel_workspace(ws), bytes,
                                   stream);
  } else {
    s = tsp3d_cuda_sparse_conv_f16(static_cast<const uint16_t*>(inputs[kFeats]), z.n_in, z.cin, nbr, z.n_out, z.k,
                                   static_cast<const uint16_t*>(inputs[kWeight]), z.cout,
                                   has_bias ? static_cast<const uint16_t*>(inputs[kBias]) : nullptr, activation_,
                                   static_cast<uint16_t*>(outputs[kOut]), status_slot(ws), kernel_workspace(ws),
                                   bytes, stream);
  }
  if (!launched("launch", s)) return false;
  return recorded(ws, stream);  // read at the next size-tensor op or by tsp3d_trt_take_error
}

}  // namespace trt
}  // namespace tsp3d
