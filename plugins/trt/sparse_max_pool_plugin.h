// SparseMaxPool: feats [N, C] T, nbr [M, K] int32 -> out [M, C] T (T float32 or float16).
#pragma once

#include "plugin_base.h"

namespace tsp3d {
namespace trt {

class SparseMaxPoolPlugin final : public PluginBase {
 public:
  static constexpr const char* kName = "SparseMaxPool";
  static const Schema& schema();
  SparseMaxPoolPlugin(std::string node, Attributes attrs) : PluginBase(kName, std::move(node), std::move(attrs)) {}

 protected:
  int32_t min_inputs() const override { return 2; }
  int32_t nb_outputs() const override { return 1; }
  void output_types(DataType* out, int32_t nb_out, const DataType* in, int32_t nb_in) const override;
  void output_shapes(const DimsExprs* in, int32_t nb_in, DimsExprs* out, int32_t nb_out,
                     IExprBuilder& builder) const override;
  bool supports(int32_t pos, const DynamicPluginTensorDesc* io, int32_t nb_in, int32_t nb_out) const override;
  size_t kernel_workspace_bytes(const DynamicPluginTensorDesc* in, int32_t nb_in) const override;
  bool run(const PluginTensorDesc* in, const PluginTensorDesc* out, const void* const* inputs, void* const* outputs,
           void* ws, cudaStream_t stream) override;
  PluginBase* copy() const override { return new SparseMaxPoolPlugin(*this); }

 private:
  enum Slot : int32_t { kFeats = 0, kNbr = 1, kOut = 0 };
};

}  // namespace trt
}  // namespace tsp3d
