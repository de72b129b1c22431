// KernelMap: in_coords [N, 4], out_coords [M, 4] (int32) -> nbr [M, kernel_size^3] int32.
#pragma once

#include "plugin_base.h"

namespace tsp3d {
namespace trt {

class KernelMapPlugin final : public PluginBase {
 public:
  static constexpr const char* kName = "KernelMap";
  static const Schema& schema();
  KernelMapPlugin(std::string node, Attributes attrs);

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
  PluginBase* copy() const override { return new KernelMapPlugin(*this); }

 private:
  enum Slot : int32_t { kInCoords = 0, kOutCoords = 1, kNbrOut = 0 };
  int32_t kernel_size_;
  int32_t offset_stride_;
  int32_t transposed_;
};

}  // namespace trt
}  // namespace tsp3d
