// What SparseConv and SparseConvInt8 share: the attribute 'activation', the symbolic [M, Cout] output with its
// extent checks, and the concrete sizes of one call, checked against each other.
#pragma once

#include <cstdint>
#include <string>

#include "NvInferRuntime.h"
#include "field_schema.h"

namespace tsp3d {
namespace trt {

const Schema& conv_schema();  // activation: 0 none, 1 ReLU
// The attribute 'activation', refused (PluginError naming `where_prefix`) unless 0 or 1.
int32_t activation_attr(const Attributes& attrs, const std::string& where_prefix);

void conv_output_shape(const nvinfer1::DimsExprs& feats, const nvinfer1::DimsExprs& nbr,
                       const nvinfer1::DimsExprs& weight, const nvinfer1::DimsExprs* bias, nvinfer1::DimsExprs& out);

struct ConvSizes {
  int64_t n_in, cin, n_out, k, cout;
};
// Throws PluginError on a mismatch.
ConvSizes conv_sizes(const nvinfer1::PluginTensorDesc& feats, const nvinfer1::PluginTensorDesc& nbr,
                     const nvinfer1::PluginTensorDesc& weight, const nvinfer1::PluginTensorDesc* bias);

}  // namespace trt
}  // namespace tsp3d
