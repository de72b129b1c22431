// AppendMissing: coords_a [Na, 4], coords_b [Nb, 4] (int32) -> coords [Na + Mb, 4], idx_b [Mb] (int32), and two
// size tensors: the rows of coords (output 2) and Mb (output 3). Separate size tensors keep every output extent a
// plain size tensor (no arithmetic on data-dependent values in the shape expressions).
#pragma once

#include "plugin_base.h"

namespace tsp3d {
namespace trt {

class AppendMissingPlugin final : public PluginBase {
 public:
  static constexpr const char* kName = "AppendMissing";
  static const Schema& schema();
  AppendMissingPlugin(std::string node, Attributes attrs);

 protected:
  int32_t min_inputs() const override { return 2; }
  int32_t nb_outputs() const override { return 4; }
  void output_types(DataType* out, int32_t nb_out, const DataType* in, int32_t nb_in) const override;
  void output_shapes(const DimsExprs* in, int32_t nb_in, DimsExprs* out, int32_t nb_out,
                     IExprBuilder& builder) const override;
  bool supports(int32_t pos, const DynamicPluginTensorDesc* io, int32_t nb_in, int32_t nb_out) const override;
  size_t kernel_workspace_bytes(const DynamicPluginTensorDesc* in, int32_t nb_in) const override;
  bool run(const PluginTensorDesc* in, const PluginTensorDesc* out, const void* const* inputs, void* const* outputs,
           void* ws, cudaStream_t stream) override;
  PluginBase* copy() const override { return new AppendMissingPlugin(*this); }

 private:
  enum Slot : int32_t { kCoordsA = 0, kCoordsB = 1, kCoordsOut = 0, kIdxBOut = 1, kRowsOut = 2, kAddedOut = 3 };
  int32_t capacity_;
};

}  // namespace trt
}  // namespace tsp3d
