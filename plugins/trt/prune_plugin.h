// Prune: scores [N] T (float32 or float16) -> idx [M] int32 ascending, and the size tensor M (output 1), bounded
// by the capacity attribute (or N when it is 0).
#pragma once

#include "plugin_base.h"

namespace tsp3d {
namespace trt {

class PrunePlugin final : public PluginBase {
 public:
  static constexpr const char* kName = "Prune";
  static const Schema& schema();
  PrunePlugin(std::string node, Attributes attrs);

 protected:
  int32_t min_inputs() const override { return 1; }
  int32_t nb_outputs() const override { return 2; }
  void output_types(DataType* out, int32_t nb_out, const DataType* in, int32_t nb_in) const override;
  void output_shapes(const DimsExprs* in, int32_t nb_in, DimsExprs* out, int32_t nb_out,
                     IExprBuilder& builder) const override;
  bool supports(int32_t pos, const DynamicPluginTensorDesc* io, int32_t nb_in, int32_t nb_out) const override;
  size_t kernel_workspace_bytes(const DynamicPluginTensorDesc* in, int32_t nb_in) const override;
  bool run(const PluginTensorDesc* in, const PluginTensorDesc* out, const void* const* inputs, void* const* outputs,
           void* ws, cudaStream_t stream) override;
  PluginBase* copy() const override { return new PrunePlugin(*this); }

 private:
  enum Slot : int32_t { kScores = 0, kIdxOut = 0, kSizeOut = 1 };
  float threshold_;
  int32_t mode_;
  int32_t min_keep_;
  int32_t capacity_;
};

}  // namespace trt
}  // namespace tsp3d
