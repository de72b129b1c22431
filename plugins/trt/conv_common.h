// What SparseConv and SparseConvInt8 share: the attribute 'activation' (their base, ConvPlugin), the symbolic
// [M, Cout] output with its extent checks, and the concrete sizes of one call, checked against each other.
#pragma once

#include <cstdint>
#include <string>

#include "NvInferRuntime.h"
#include "field_schema.h"
#include "op_helpers.h"
#include "plugin_base.h"
#include "tsp3d/c_api_cuda.h"

namespace tsp3d {
namespace trt {

// The attribute 'activation', refused (PluginError naming `where_prefix`) unless 0 (none) or 1 (ReLU).
int32_t activation_attr(const Attributes& attrs, const std::string& where_prefix);

void conv_output_shape(const nvinfer1::DimsExprs& feats, const nvinfer1::DimsExprs& nbr,
                       const nvinfer1::DimsExprs& weight, const nvinfer1::DimsExprs* bias, nvinfer1::DimsExprs& out);

struct ConvSizes {
  int64_t n_in, cin, n_out, k, cout;
};
// Throws PluginError on a mismatch.
ConvSizes conv_sizes(const nvinfer1::PluginTensorDesc& feats, const nvinfer1::PluginTensorDesc& nbr,
                     const nvinfer1::PluginTensorDesc& weight, const nvinfer1::PluginTensorDesc* bias);

// The base of the two conv plugins: their attribute, their [M, Cout] output, their workspace, and the sizes and
// bias of a call, from the slots Op declares public (kFeats, kNbr, kWeight, kBias, kOut).
template <typename Op>
class ConvPlugin : public OpPlugin<Op> {
 public:
  static inline const Schema kSchema{{"activation", FieldKind::kInt, false, 0.0}};
  ConvPlugin(std::string node, Attributes attrs)
      : OpPlugin<Op>(std::move(node), std::move(attrs)), activation_(activation_attr(this->attrs_, this->where())) {}

 protected:
  void conv_output(const DimsExprs* in, int32_t nb_in, DimsExprs* out) const {
    conv_output_shape(in[Op::kFeats], in[Op::kNbr], in[Op::kWeight], nb_in > Op::kBias ? &in[Op::kBias] : nullptr,
                      out[Op::kOut]);
  }
  int32_t workspace_size(const Dims* in, size_t* bytes) const override {
    return tsp3d_cuda_sparse_conv_workspace_size(extent(in[Op::kNbr], 0), bytes);
  }
  bool has_bias() const { return this->nb_inputs_ > Op::kBias; }
  ConvSizes sizes(const PluginTensorDesc* in) const {
    return conv_sizes(in[Op::kFeats], in[Op::kNbr], in[Op::kWeight], has_bias() ? &in[Op::kBias] : nullptr);
  }

  int32_t activation_;
};

}  // namespace trt
}  // namespace tsp3d
