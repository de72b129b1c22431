#include "coords_down_plugin.h"

#include "tsp3d/c_api_cuda.h"

namespace tsp3d {
namespace trt {

const Schema& CoordsDownPlugin::schema() {
  static const Schema s{{"stride", FieldKind::kInt, true, 0.0}, {"capacity", FieldKind::kInt, false, 0.0},
                        {kOptRowsField, FieldKind::kInt, false, 0.0, true}};
  return s;
}

CoordsDownPlugin::CoordsDownPlugin(std::string node, Attributes attrs)
    : CoordsResamplePlugin(kName, std::move(node), std::move(attrs)) {
  TSP3D_VALIDATE(stride_ >= 1 && stride_ <= 32767,
                 where() << ": attribute 'stride' must be in [1, 32767], got " << stride_);
}

int32_t CoordsDownPlugin::workspace_size(int64_t n, size_t* bytes) const {
  return tsp3d_cuda_coords_down_workspace_size(n, bytes);
}

int32_t CoordsDownPlugin::launch(const int32_t* coords, int64_t n, int32_t* coords_out, void* ws, size_t bytes,
                                 cudaStream_t stream) const {
  return tsp3d_cuda_coords_down(coords, n, stride_, capacity_, coords_out, count_slot(ws), status_slot(ws),
                                kernel_workspace(ws), bytes, stream);
}

}  // namespace trt
}  // namespace tsp3d
