#include "sparse_conv_int8_plugin.h"

#include "op_helpers.h"
#include "sparse_conv_plugin.h"
#include "tsp3d/c_api_cuda.h"

namespace tsp3d {
namespace trt {

const Schema& SparseConvInt8Plugin::schema() {
  static const Schema s{{"activation", FieldKind::kInt, false, 0.0}};
  return s;
}

SparseConvInt8Plugin::SparseConvInt8Plugin(std::string node, Attributes attrs)
    : PluginBase(kName, std::move(node), std::move(attrs)), activation_(attrs_.get_int("activation")) {
  TSP3D_VALIDATE(activation_ == 0 || activation_ == 1,
                 where() << ": attribute 'activation' must be 0 (none) or 1 (ReLU), got " << activation_);
}

DataType SparseConvInt8Plugin::slot_type(int32_t pos) {
  switch (pos) {
    case kFeats:
    case kWeight: return DataType::kINT8;
    case kNbr: return DataType::kINT32;
    default: return DataType::kFLOAT;  // feats_scale, weight_scale, bias, out
  }
}

void SparseConvInt8Plugin::output_types(DataType* out, int32_t, const DataType* in, int32_t nb_in) const {
  static const char* const names[] = {"feats", "feats_scale", "nbr", "weight", "weight_scale", "bias"};
  for (int32_t i = 0; i < nb_in; ++i) {
    TSP3D_VALIDATE(in[i] == slot_type(i),
                   names[i] << " must be " << type_name(slot_type(i)) << ", got " << type_name(in[i]));
  }
  out[kOut] = DataType::kFLOAT;
}

void SparseConvInt8Plugin::output_shapes(const DimsExprs* in, int32_t nb_in, DimsExprs* out, int32_t,
                                         IExprBuilder&) const {
  const DimsExprs& scale = in[kFeatsScale];
  TSP3D_VALIDATE(scale.nbDims == 0 || (scale.nbDims == 1 && scale.d[0]->isConstant() &&
                                       scale.d[0]->getConstantValue() == 1),
                 "feats_scale must be a scalar (per-tensor scale)");
  expect_rank(in[kWeightScale], 1, "weight_scale [Cout]");
  if (in[kWeight].nbDims == 3 && in[kWeight].d[2]->isConstant()) {
    expect_extent(in[kWeightScale], 0, in[kWeight].d[2]->getConstantValue(), "weight_scale [Cout]");
  }
  conv_output_shape(in[kFeats], in[kNbr], in[kWeight], nb_in > kBias ? &in[kBias] : nullptr, out[kOut]);
}

bool SparseConvInt8Plugin::supports(int32_t pos, const DynamicPluginTensorDesc* io, int32_t nb_in, int32_t) const {
  return io[pos].desc.type == (pos < nb_in ? slot_type(pos) : DataType::kFLOAT);
}

size_t SparseConvInt8Plugin::kernel_workspace_bytes(const DynamicPluginTensorDesc* in, int32_t) const {
  size_t bytes = 0;
  return workspace_or_throw(tsp3d_cuda_sparse_conv_workspace_size(extent(max_dims(in[kNbr]), 0), &bytes), bytes,
                            kName);
}

bool SparseConvInt8Plugin::run(const PluginTensorDesc* in, const PluginTensorDesc*, const void* const* inputs,
                               void* const* outputs, void* ws, cudaStream_t stream) {
  const bool has_bias = nb_inputs_ > kBias;
  const ConvSizes z = conv_sizes(in[kFeats], in[kNbr], in[kWeight], has_bias ? &in[kBias] : nullptr);
  TSP3D_VALIDATE(volume(in[kFeatsScale].dims) == 1, "feats_scale must hold one value");
  TSP3D_VALIDATE(in[kWeightScale].dims.nbDims == 1 && in[kWeightScale].dims.d[0] == z.cout,
                 "weight_scale must have shape [" << z.cout << "]");
  size_t bytes = 0;
  if (!launched("workspace query", tsp3d_cuda_sparse_conv_workspace_size(z.n_out, &bytes))) return false;
  const int32_t s = tsp3d_cuda_sparse_conv_i8(
      static_cast<const int8_t*>(inputs[kFeats]), static_cast<const float*>(inputs[kFeatsScale]), z.n_in, z.cin,
      static_cast<const int32_t*>(inputs[kNbr]), z.n_out, z.k, static_cast<const int8_t*>(inputs[kWeight]),
      static_cast<const float*>(inputs[kWeightScale]), z.cout,
      has_bias ? static_cast<const float*>(inputs[kBias]) : nullptr, activation_, static_cast<float*>(outputs[kOut]),
      status_slot(ws), kernel_workspace(ws), bytes, stream);
  if (!launched("launch", s)) return false;
  return recorded(ws, stream);  // read at the next size-tensor op or by tsp3d_trt_take_error
}

}  // namespace trt
}  // namespace tsp3d
