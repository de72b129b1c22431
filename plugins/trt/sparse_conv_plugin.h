// SparseConv: feats [N, Cin] T, nbr [M, K] int32, weight [K, Cin, Cout] T, optional bias [Cout] T -> out [M, Cout]
// T, with T float32 or float16 (float32 accumulation; tensor cores for float16).
#pragma once

#include "plugin_base.h"

namespace tsp3d {
namespace trt {

class SparseConvPlugin final : public PluginBase {
 public:
  static constexpr const char* kName = "SparseConv";
  static const Schema& schema();
  SparseConvPlugin(std::string node, Attributes attrs);

 protected:
  int32_t min_inputs() const override { return 3; }
  int32_t max_inputs() const override { return 4; }
  int32_t nb_outputs() const override { return 1; }
  void output_types(DataType* out, int32_t nb_out, const DataType* in, int32_t nb_in) const override;
  void output_shapes(const DimsExprs* in, int32_t nb_in, DimsExprs* out, int32_t nb_out,
                     IExprBuilder& builder) const override;
  bool supports(int32_t pos, const DynamicPluginTensorDesc* io, int32_t nb_in, int32_t nb_out) const override;
  size_t kernel_workspace_bytes(const DynamicPluginTensorDesc* in, int32_t nb_in) const override;
  bool run(const PluginTensorDesc* in, const PluginTensorDesc* out, const void* const* inputs, void* const* outputs,
           void* ws, cudaStream_t stream) override;
  PluginBase* copy() const override { return new SparseConvPlugin(*this); }

 private:
  enum Slot : int32_t { kFeats = 0, kNbr = 1, kWeight = 2, kBias = 3, kOut = 0 };
  int32_t activation_;
};

// Shared by SparseConv and SparseConvInt8: the symbolic [M, Cout] output and the extent checks.
void conv_output_shape(const DimsExprs& feats, const DimsExprs& nbr, const DimsExprs& weight, const DimsExprs* bias,
                       DimsExprs& out);
// Concrete sizes of a conv call, checked against each other; throws on a mismatch.
struct ConvSizes {
  int64_t n_in, cin, n_out, k, cout;
};
ConvSizes conv_sizes(const PluginTensorDesc& feats, const PluginTensorDesc& nbr, const PluginTensorDesc& weight,
                     const PluginTensorDesc* bias);

}  // namespace trt
}  // namespace tsp3d
