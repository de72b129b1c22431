// SparseConvInt8: feats [N, Cin] int8, feats_scale [] float32, nbr [M, K] int32, weight [K, Cin, Cout] int8,
// weight_scale [Cout] float32, optional bias [Cout] float32 -> out [M, Cout] float32. TensorRT does not fuse Q/DQ
// into plugins, so the scales are graph inputs: act(bias + feats_scale * weight_scale[c] * int32 sum).
#pragma once

#include "plugin_base.h"

namespace tsp3d {
namespace trt {

class SparseConvInt8Plugin final : public PluginBase {
 public:
  static constexpr const char* kName = "SparseConvInt8";
  static const Schema& schema();
  SparseConvInt8Plugin(std::string node, Attributes attrs);

 protected:
  int32_t min_inputs() const override { return 5; }
  int32_t max_inputs() const override { return 6; }
  int32_t nb_outputs() const override { return 1; }
  void output_types(DataType* out, int32_t nb_out, const DataType* in, int32_t nb_in) const override;
  void output_shapes(const DimsExprs* in, int32_t nb_in, DimsExprs* out, int32_t nb_out,
                     IExprBuilder& builder) const override;
  bool supports(int32_t pos, const DynamicPluginTensorDesc* io, int32_t nb_in, int32_t nb_out) const override;
  size_t kernel_workspace_bytes(const DynamicPluginTensorDesc* in, int32_t nb_in) const override;
  bool run(const PluginTensorDesc* in, const PluginTensorDesc* out, const void* const* inputs, void* const* outputs,
           void* ws, cudaStream_t stream) override;
  PluginBase* copy() const override { return new SparseConvInt8Plugin(*this); }

 private:
  enum Slot : int32_t { kFeats = 0, kFeatsScale = 1, kNbr = 2, kWeight = 3, kWeightScale = 4, kBias = 5, kOut = 0 };
  // The type each input slot must have (the output is float32).
  static DataType slot_type(int32_t pos);
  int32_t activation_;
};

}  // namespace trt
}  // namespace tsp3d
