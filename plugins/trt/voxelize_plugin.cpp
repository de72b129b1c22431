// Voxelize: points [N, D] float32 -> coords [M, 4] int32, first [M] int32, and the size tensor M (output 2).
#include <cmath>

#include "op_creators.h"
#include "op_helpers.h"
#include "plugin_base.h"
#include "plugin_creator.h"
#include "tsp3d/c_api_cuda.h"

namespace tsp3d {
namespace trt {
namespace {

class VoxelizePlugin final : public OpPlugin<VoxelizePlugin> {
  // Positions of the inputs and outputs.
  enum Slot : int32_t { kPoints = 0, kCoordsOut = 0, kFirstOut = 1, kSizeOut = 2 };

 public:
  static inline const Signature kSignature{
      "Voxelize", {{"points", Elem::kF32}}, 0, {Elem::kI32, Elem::kI32, Elem::kI32}};
  static inline const Schema kSchema =
      with_capacity({{"voxel_size", FieldKind::kFloat, true, 0.0}, {"batch", FieldKind::kInt, false, 0.0}});

  VoxelizePlugin(std::string node, Attributes attrs)
      : OpPlugin(std::move(node), std::move(attrs)),
        voxel_size_(attrs_.get_float("voxel_size")),
        batch_(attrs_.get_int("batch")),
        capacity_(capacity_attr(attrs_, where())) {
    TSP3D_VALIDATE(std::isfinite(voxel_size_) && voxel_size_ > 0.f,
                   where() << ": attribute 'voxel_size' must be > 0, got " << voxel_size_);
    TSP3D_VALIDATE(batch_ >= 0 && batch_ <= 32767,
                   where() << ": attribute 'batch' must be in [0, 32767], got " << batch_);
  }

 protected:
  void output_shapes(const DimsExprs* in, int32_t, DimsExprs* out, int32_t, IExprBuilder& b) const override {
    expect_rank(in[kPoints], 2, "points [N, D]");
    if (in[kPoints].d[1]->isConstant()) {
      TSP3D_VALIDATE(in[kPoints].d[1]->getConstantValue() >= 3,
                     "points [N, D] needs D >= 3 (x, y, z), got D = " << in[kPoints].d[1]->getConstantValue());
    }
    const auto* rows = declare_rows(b, kSizeOut, capacity_, attrs_.get_int(kOptRowsField), in[kPoints].d[0],
                                    {in[kPoints].d[0]}, where());
    set_dims(out[kCoordsOut], {rows, b.constant(4)});
    set_dims(out[kFirstOut], {rows});
    set_dims(out[kSizeOut], {});
  }

  int32_t workspace_size(const Dims* in, size_t* bytes) const override {
    return tsp3d_cuda_voxelize_workspace_size(extent(in[kPoints], 0), bytes);
  }

  bool run(const PluginTensorDesc* in, const PluginTensorDesc*, const void* const* inputs, void* const* outputs,
           const Workspace& ws, cudaStream_t stream) override {
    const int64_t n = extent(in[kPoints].dims, 0), dim = extent(in[kPoints].dims, 1);
    const int32_t s = tsp3d_cuda_voxelize(static_cast<const float*>(inputs[kPoints]), n, dim, voxel_size_, batch_,
                                          capacity_, static_cast<int32_t*>(outputs[kCoordsOut]),
                                          static_cast<int32_t*>(outputs[kFirstOut]), ws.count, ws.status, ws.kernel,
                                          ws.bytes, stream);
    if (!launched("launch", s) || !size_tensor(ws, 0, outputs[kSizeOut], stream)) return false;
    return finished(ws, stream, [&](const DeviceResult& r) -> std::string {
      if (r.status == code(Status::kCapacityExceeded)) {
        return std::to_string(r.count) + " voxels from " + std::to_string(n) +
               " points, over the attribute capacity=" + std::to_string(capacity_);
      }
      if (r.status == code(Status::kCoordOutOfRange)) {
        return "a point lies outside the voxel coordinate range [-32768, 32767] at voxel_size=" +
               std::to_string(voxel_size_);
      }
      return std::string();
    });
  }

 private:
  float voxel_size_;
  int32_t batch_;
  int32_t capacity_;
};

}  // namespace

nvinfer1::IPluginCreatorInterface* voxelize_creator() { return creator_of<VoxelizePlugin>(); }

}  // namespace trt
}  // namespace tsp3d
