#include "coords_resample_plugin.h"

#include "op_helpers.h"
#include "tsp3d/c_api_cuda.h"

namespace tsp3d {
namespace trt {

CoordsResamplePlugin::CoordsResamplePlugin(const char* op, std::string node, Attributes attrs)
    : PluginBase(op, std::move(node), std::move(attrs)),
      stride_(attrs_.get_int("stride")),
      capacity_(attrs_.get_int("capacity")) {
  TSP3D_VALIDATE(capacity_ >= 0, where() << ": attribute 'capacity' must be >= 0, got " << capacity_);
}

void CoordsResamplePlugin::output_types(DataType* out, int32_t, const DataType* in, int32_t) const {
  TSP3D_VALIDATE(in[kCoords] == DataType::kINT32, "coords must be int32, got " << type_name(in[kCoords]));
  out[kCoordsOut] = out[kSizeOut] = DataType::kINT32;
}

void CoordsResamplePlugin::output_shapes(const DimsExprs* in, int32_t, DimsExprs* out, int32_t,
                                         IExprBuilder& b) const {
  expect_rank(in[kCoords], 2, "coords [N, 4]");
  expect_extent(in[kCoords], 1, 4, "coords [N, 4]");
  const IDimensionExpr* natural = in[kCoords].d[0];
  if (natural_factor() != 1) {
    natural = b.operation(nvinfer1::DimensionOperation::kPROD, *b.constant(natural_factor()), *natural);
  }
  const auto* rows = declare_rows(b, kSizeOut, capacity_, attrs_.get_int(kOptRowsField), natural, {in[kCoords].d[0]}, where());
  out[kCoordsOut].nbDims = 2;
  out[kCoordsOut].d[0] = rows;
  out[kCoordsOut].d[1] = b.constant(4);
  set_scalar(out[kSizeOut]);
}

bool CoordsResamplePlugin::supports(int32_t pos, const DynamicPluginTensorDesc* io, int32_t, int32_t) const {
  return io[pos].desc.type == DataType::kINT32;
}

size_t CoordsResamplePlugin::kernel_workspace_bytes(const DynamicPluginTensorDesc* in, int32_t) const {
  size_t bytes = 0;
  return workspace_or_throw(workspace_size(extent(max_dims(in[kCoords]), 0), &bytes), bytes, op_);
}

bool CoordsResamplePlugin::run(const PluginTensorDesc* in, const PluginTensorDesc*, const void* const* inputs,
                               void* const* outputs, void* ws, cudaStream_t stream) {
  const int64_t n = extent(in[kCoords].dims, 0);
  size_t bytes = 0;
  if (!launched("workspace query", workspace_size(n, &bytes))) return false;
  if (!launched("launch", launch(static_cast<const int32_t*>(inputs[kCoords]), n,
                                 static_cast<int32_t*>(outputs[kCoordsOut]), ws, bytes, stream))) {
    return false;
  }
  if (!launched("size tensor", tsp3d_cuda_size_from_count(count_slot(ws), status_slot(ws), 0,
                                                          static_cast<int32_t*>(outputs[kSizeOut]), stream))) {
    return false;
  }
  return finished(ws, stream, [&](const DeviceResult& r) -> std::string {
    if (r.status == code(Status::kCapacityExceeded)) {
      return std::to_string(r.count) + " output sites from " + std::to_string(n) +
             " inputs, over the attribute capacity=" + std::to_string(capacity_) + " (raise it)";
    }
    if (r.status == code(Status::kNotOnStride)) {
      return "input coordinates must be multiples of the attribute stride=" + std::to_string(stride_);
    }
    return std::string();
  });
}

}  // namespace trt
}  // namespace tsp3d
