#include "voxelize_plugin.h"

#include <cmath>

#include "op_helpers.h"
#include "tsp3d/c_api_cuda.h"

namespace tsp3d {
namespace trt {

const Schema& VoxelizePlugin::schema() {
  static const Schema s{{"voxel_size", FieldKind::kFloat, true, 0.0},
                        {"batch", FieldKind::kInt, false, 0.0},
                        {"capacity", FieldKind::kInt, false, 0.0},
                        {kOptRowsField, FieldKind::kInt, false, 0.0, true}};
  return s;
}

VoxelizePlugin::VoxelizePlugin(std::string node, Attributes attrs)
    : PluginBase(kName, std::move(node), std::move(attrs)),
      voxel_size_(attrs_.get_float("voxel_size")),
      batch_(attrs_.get_int("batch")),
      capacity_(attrs_.get_int("capacity")) {
  TSP3D_VALIDATE(std::isfinite(voxel_size_) && voxel_size_ > 0.f,
                 where() << ": attribute 'voxel_size' must be > 0, got " << voxel_size_);
  TSP3D_VALIDATE(batch_ >= 0 && batch_ <= 32767, where() << ": attribute 'batch' must be in [0, 32767], got " << batch_);
  TSP3D_VALIDATE(capacity_ >= 0, where() << ": attribute 'capacity' must be >= 0, got " << capacity_);
}

void VoxelizePlugin::output_types(DataType* out, int32_t, const DataType* in, int32_t) const {
  TSP3D_VALIDATE(in[kPoints] == DataType::kFLOAT, "points must be float32, got " << type_name(in[kPoints]));
  out[kCoordsOut] = out[kFirstOut] = out[kSizeOut] = DataType::kINT32;
}

void VoxelizePlugin::output_shapes(const DimsExprs* in, int32_t, DimsExprs* out, int32_t, IExprBuilder& b) const {
  expect_rank(in[kPoints], 2, "points [N, D]");
  if (in[kPoints].d[1]->isConstant()) {
    TSP3D_VALIDATE(in[kPoints].d[1]->getConstantValue() >= 3,
                   "points [N, D] needs D >= 3 (x, y, z), got D = " << in[kPoints].d[1]->getConstantValue());
  }
  const auto* rows = declare_rows(b, kSizeOut, capacity_, attrs_.get_int(kOptRowsField), in[kPoints].d[0], {in[kPoints].d[0]}, where());
  out[kCoordsOut].nbDims = 2;
  out[kCoordsOut].d[0] = rows;
  out[kCoordsOut].d[1] = b.constant(4);
  out[kFirstOut].nbDims = 1;
  out[kFirstOut].d[0] = rows;
  set_scalar(out[kSizeOut]);
}

bool VoxelizePlugin::supports(int32_t pos, const DynamicPluginTensorDesc* io, int32_t nb_in, int32_t) const {
  return io[pos].desc.type == (pos < nb_in ? DataType::kFLOAT : DataType::kINT32);
}

size_t VoxelizePlugin::kernel_workspace_bytes(const DynamicPluginTensorDesc* in, int32_t) const {
  size_t bytes = 0;
  return workspace_or_throw(tsp3d_cuda_voxelize_workspace_size(extent(max_dims(in[kPoints]), 0), &bytes), bytes,
                            kName);
}

bool VoxelizePlugin::run(const PluginTensorDesc* in, const PluginTensorDesc*, const void* const* inputs,
                         void* const* outputs, void* ws, cudaStream_t stream) {
  const int64_t n = extent(in[kPoints].dims, 0), dim = extent(in[kPoints].dims, 1);
  size_t bytes = 0;
  if (!launched("workspace query", tsp3d_cuda_voxelize_workspace_size(n, &bytes))) return false;
  const int32_t s = tsp3d_cuda_voxelize(static_cast<const float*>(inputs[kPoints]), n, dim, voxel_size_, batch_,
                                        capacity_, static_cast<int32_t*>(outputs[kCoordsOut]),
                                        static_cast<int32_t*>(outputs[kFirstOut]), count_slot(ws), status_slot(ws),
                                        kernel_workspace(ws), bytes, stream);
  if (!launched("launch", s)) return false;
  if (!launched("size tensor", tsp3d_cuda_size_from_count(count_slot(ws), status_slot(ws), 0,
                                                          static_cast<int32_t*>(outputs[kSizeOut]), stream))) {
    return false;
  }
  return finished(ws, stream, [&](const DeviceResult& r) -> std::string {
    if (r.status == code(Status::kCapacityExceeded)) {
      return std::to_string(r.count) + " voxels from " + std::to_string(n) + " points, over the attribute capacity=" +
             std::to_string(capacity_) + " (raise it, or use a larger voxel_size)";
    }
    if (r.status == code(Status::kCoordOutOfRange)) return "a point lies outside the voxel coordinate range [-32768, 32767] at voxel_size=" +
                                  std::to_string(voxel_size_);
    return std::string();
  });
}

}  // namespace trt
}  // namespace tsp3d
