#include "kernel_map_plugin.h"

#include "op_helpers.h"
#include "tsp3d/c_api_cuda.h"

namespace tsp3d {
namespace trt {

const Schema& KernelMapPlugin::schema() {
  static const Schema s{{"kernel_size", FieldKind::kInt, true, 0.0},
                        {"offset_stride", FieldKind::kInt, true, 0.0},
                        {"transposed", FieldKind::kInt, false, 0.0}};
  return s;
}

KernelMapPlugin::KernelMapPlugin(std::string node, Attributes attrs)
    : PluginBase(kName, std::move(node), std::move(attrs)),
      kernel_size_(attrs_.get_int("kernel_size")),
      offset_stride_(attrs_.get_int("offset_stride")),
      transposed_(attrs_.get_int("transposed")) {
  TSP3D_VALIDATE(kernel_size_ >= 1 && kernel_size_ <= 3,
                 where() << ": attribute 'kernel_size' must be 1, 2 or 3, got " << kernel_size_);
  TSP3D_VALIDATE(offset_stride_ >= 1 && offset_stride_ <= 32767,
                 where() << ": attribute 'offset_stride' must be in [1, 32767], got " << offset_stride_);
  TSP3D_VALIDATE(transposed_ == 0 || transposed_ == 1,
                 where() << ": attribute 'transposed' must be 0 or 1, got " << transposed_);
}

void KernelMapPlugin::output_types(DataType* out, int32_t, const DataType* in, int32_t) const {
  TSP3D_VALIDATE(in[kInCoords] == DataType::kINT32 && in[kOutCoords] == DataType::kINT32,
                 "in_coords and out_coords must be int32");
  out[kNbrOut] = DataType::kINT32;
}

void KernelMapPlugin::output_shapes(const DimsExprs* in, int32_t, DimsExprs* out, int32_t, IExprBuilder& b) const {
  expect_rank(in[kInCoords], 2, "in_coords [N, 4]");
  expect_extent(in[kInCoords], 1, 4, "in_coords [N, 4]");
  expect_rank(in[kOutCoords], 2, "out_coords [M, 4]");
  expect_extent(in[kOutCoords], 1, 4, "out_coords [M, 4]");
  out[kNbrOut].nbDims = 2;
  out[kNbrOut].d[0] = in[kOutCoords].d[0];
  out[kNbrOut].d[1] = b.constant(kernel_size_ * kernel_size_ * kernel_size_);
}

bool KernelMapPlugin::supports(int32_t pos, const DynamicPluginTensorDesc* io, int32_t, int32_t) const {
  return io[pos].desc.type == DataType::kINT32;
}

size_t KernelMapPlugin::kernel_workspace_bytes(const DynamicPluginTensorDesc* in, int32_t) const {
  size_t bytes = 0;
  return workspace_or_throw(tsp3d_cuda_kernel_map_workspace_size(extent(max_dims(in[kInCoords]), 0),
                                                                 extent(max_dims(in[kOutCoords]), 0), &bytes),
                            bytes, kName);
}

bool KernelMapPlugin::run(const PluginTensorDesc* in, const PluginTensorDesc*, const void* const* inputs,
                          void* const* outputs, void* ws, cudaStream_t stream) {
  const int64_t n_in = extent(in[kInCoords].dims, 0), n_out = extent(in[kOutCoords].dims, 0);
  size_t bytes = 0;
  if (!launched("workspace query", tsp3d_cuda_kernel_map_workspace_size(n_in, n_out, &bytes))) return false;
  const int32_t s = tsp3d_cuda_kernel_map(static_cast<const int32_t*>(inputs[kInCoords]), n_in,
                                          static_cast<const int32_t*>(inputs[kOutCoords]), n_out, kernel_size_,
                                          offset_stride_, transposed_, static_cast<int32_t*>(outputs[kNbrOut]),
                                          status_slot(ws), kernel_workspace(ws), bytes, stream);
  if (!launched("launch", s)) return false;
  return recorded(ws, stream);  // read at the next size-tensor op or by tsp3d_trt_take_error
}

}  // namespace trt
}  // namespace tsp3d
