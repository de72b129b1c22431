#include "append_missing_plugin.h"

#include "op_helpers.h"
#include "tsp3d/c_api_cuda.h"

namespace tsp3d {
namespace trt {

using nvinfer1::DimensionOperation;

const Schema& AppendMissingPlugin::schema() {
  static const Schema s{{"capacity", FieldKind::kInt, false, 0.0}, {kOptRowsField, FieldKind::kInt, false, 0.0, true}};
  return s;
}

AppendMissingPlugin::AppendMissingPlugin(std::string node, Attributes attrs)
    : PluginBase(kName, std::move(node), std::move(attrs)), capacity_(attrs_.get_int("capacity")) {
  TSP3D_VALIDATE(capacity_ >= 0, where() << ": attribute 'capacity' must be >= 0, got " << capacity_);
}

void AppendMissingPlugin::output_types(DataType* out, int32_t, const DataType* in, int32_t) const {
  TSP3D_VALIDATE(in[kCoordsA] == DataType::kINT32 && in[kCoordsB] == DataType::kINT32,
                 "coords_a and coords_b must be int32");
  out[kCoordsOut] = out[kIdxBOut] = out[kRowsOut] = out[kAddedOut] = DataType::kINT32;
}

void AppendMissingPlugin::output_shapes(const DimsExprs* in, int32_t, DimsExprs* out, int32_t,
                                        IExprBuilder& b) const {
  expect_rank(in[kCoordsA], 2, "coords_a [Na, 4]");
  expect_extent(in[kCoordsA], 1, 4, "coords_a [Na, 4]");
  expect_rank(in[kCoordsB], 2, "coords_b [Nb, 4]");
  expect_extent(in[kCoordsB], 1, 4, "coords_b [Nb, 4]");
  const IDimensionExpr* na = in[kCoordsA].d[0];
  const IDimensionExpr* nb = in[kCoordsB].d[0];
  const int32_t opt = attrs_.get_int(kOptRowsField);  // typical Na + Mb
  const auto* rows = declare_rows(b, kRowsOut, capacity_, opt, b.operation(DimensionOperation::kSUM, *na, *nb),
                                  {na, nb}, where());
  // Mb <= min(Nb, capacity): the kernel writes nothing when Na + Mb > capacity. Tuned for the same count.
  const auto* added = declare_rows(b, kAddedOut, capacity_, opt, nb, {na, nb}, where());
  out[kCoordsOut].nbDims = 2;
  out[kCoordsOut].d[0] = rows;
  out[kCoordsOut].d[1] = b.constant(4);
  out[kIdxBOut].nbDims = 1;
  out[kIdxBOut].d[0] = added;
  set_scalar(out[kRowsOut]);
  set_scalar(out[kAddedOut]);
}

bool AppendMissingPlugin::supports(int32_t pos, const DynamicPluginTensorDesc* io, int32_t, int32_t) const {
  return io[pos].desc.type == DataType::kINT32;
}

size_t AppendMissingPlugin::kernel_workspace_bytes(const DynamicPluginTensorDesc* in, int32_t) const {
  size_t bytes = 0;
  return workspace_or_throw(tsp3d_cuda_append_missing_workspace_size(extent(max_dims(in[kCoordsA]), 0),
                                                                     extent(max_dims(in[kCoordsB]), 0), &bytes),
                            bytes, kName);
}

bool AppendMissingPlugin::run(const PluginTensorDesc* in, const PluginTensorDesc*, const void* const* inputs,
                              void* const* outputs, void* ws, cudaStream_t stream) {
  const int64_t na = extent(in[kCoordsA].dims, 0), nb = extent(in[kCoordsB].dims, 0);
  size_t bytes = 0;
  if (!launched("workspace query", tsp3d_cuda_append_missing_workspace_size(na, nb, &bytes))) return false;
  const int32_t s = tsp3d_cuda_append_missing(
      static_cast<const int32_t*>(inputs[kCoordsA]), na, static_cast<const int32_t*>(inputs[kCoordsB]), nb, capacity_,
      static_cast<int32_t*>(outputs[kCoordsOut]), static_cast<int32_t*>(outputs[kIdxBOut]), count_slot(ws),
      status_slot(ws), kernel_workspace(ws), bytes, stream);
  if (!launched("launch", s)) return false;
  const bool sizes_ok =
      launched("size tensor", tsp3d_cuda_size_from_count(count_slot(ws), status_slot(ws), 0,
                                                         static_cast<int32_t*>(outputs[kRowsOut]), stream)) &&
      launched("size tensor", tsp3d_cuda_size_from_count(count_slot(ws), status_slot(ws), na,
                                                         static_cast<int32_t*>(outputs[kAddedOut]), stream));
  if (!sizes_ok) return false;
  return finished(ws, stream, [&](const DeviceResult& r) -> std::string {
    if (r.status == code(Status::kCapacityExceeded)) {
      return std::to_string(r.count) + " rows (" + std::to_string(na) + " + " + std::to_string(r.count - na) +
             " appended), over the attribute capacity=" + std::to_string(capacity_) + " (raise it)";
    }
    if (r.status == code(Status::kDuplicateCoord)) return "coords_a and coords_b must each hold unique coordinates";
    return std::string();
  });
}

}  // namespace trt
}  // namespace tsp3d
