// Voxelize: points [N, D] float32 -> coords [M, 4] int32, first [M] int32, and the size tensor M (output 2).
#pragma once

#include "plugin_base.h"

namespace tsp3d {
namespace trt {

class VoxelizePlugin final : public PluginBase {
 public:
  static constexpr const char* kName = "Voxelize";
  static const Schema& schema();
  VoxelizePlugin(std::string node, Attributes attrs);

 protected:
  int32_t min_inputs() const override { return 1; }
  int32_t nb_outputs() const override { return 3; }
  void output_types(DataType* out, int32_t nb_out, const DataType* in, int32_t nb_in) const override;
  void output_shapes(const DimsExprs* in, int32_t nb_in, DimsExprs* out, int32_t nb_out,
                     IExprBuilder& builder) const override;
  bool supports(int32_t pos, const DynamicPluginTensorDesc* io, int32_t nb_in, int32_t nb_out) const override;
  size_t kernel_workspace_bytes(const DynamicPluginTensorDesc* in, int32_t nb_in) const override;
  bool run(const PluginTensorDesc* in, const PluginTensorDesc* out, const void* const* inputs, void* const* outputs,
           void* ws, cudaStream_t stream) override;
  PluginBase* copy() const override { return new VoxelizePlugin(*this); }

 private:
  enum Slot : int32_t { kPoints = 0, kCoordsOut = 0, kFirstOut = 1, kSizeOut = 2 };
  float voxel_size_;
  int32_t batch_;
  int32_t capacity_;
};

}  // namespace trt
}  // namespace tsp3d
