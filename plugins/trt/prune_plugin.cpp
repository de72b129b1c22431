#include "prune_plugin.h"

#include "op_helpers.h"
#include "tsp3d/c_api_cuda.h"

namespace tsp3d {
namespace trt {

const Schema& PrunePlugin::schema() {
  static const Schema s{{"threshold", FieldKind::kFloat, true, 0.0},
                        {"mode", FieldKind::kInt, false, 0.0},
                        {"min_keep", FieldKind::kInt, false, 1.0},
                        {"capacity", FieldKind::kInt, false, 0.0},
                        {kOptRowsField, FieldKind::kInt, false, 0.0, true}};
  return s;
}

PrunePlugin::PrunePlugin(std::string node, Attributes attrs)
    : PluginBase(kName, std::move(node), std::move(attrs)),
      threshold_(attrs_.get_float("threshold")),
      mode_(attrs_.get_int("mode")),
      min_keep_(attrs_.get_int("min_keep")),
      capacity_(attrs_.get_int("capacity")) {
  TSP3D_VALIDATE(mode_ == 0 || mode_ == 1,
                 where() << ": attribute 'mode' must be 0 (keep score < threshold) or 1 (keep >), got " << mode_);
  TSP3D_VALIDATE(min_keep_ >= 0, where() << ": attribute 'min_keep' must be >= 0, got " << min_keep_);
  TSP3D_VALIDATE(capacity_ >= 0, where() << ": attribute 'capacity' must be >= 0, got " << capacity_);
}

void PrunePlugin::output_types(DataType* out, int32_t, const DataType* in, int32_t) const {
  TSP3D_VALIDATE(in[kScores] == DataType::kFLOAT || in[kScores] == DataType::kHALF,
                 "scores must be float32 or float16, got " << type_name(in[kScores]));
  out[kIdxOut] = out[kSizeOut] = DataType::kINT32;
}

void PrunePlugin::output_shapes(const DimsExprs* in, int32_t, DimsExprs* out, int32_t, IExprBuilder& b) const {
  expect_rank(in[kScores], 1, "scores [N]");
  const auto* rows = declare_rows(b, kSizeOut, capacity_, attrs_.get_int(kOptRowsField), in[kScores].d[0], {in[kScores].d[0]}, where());
  out[kIdxOut].nbDims = 1;
  out[kIdxOut].d[0] = rows;
  set_scalar(out[kSizeOut]);
}

bool PrunePlugin::supports(int32_t pos, const DynamicPluginTensorDesc* io, int32_t nb_in, int32_t) const {
  const DataType t = io[pos].desc.type;
  return pos < nb_in ? (t == DataType::kFLOAT || t == DataType::kHALF) : t == DataType::kINT32;
}

size_t PrunePlugin::kernel_workspace_bytes(const DynamicPluginTensorDesc* in, int32_t) const {
  size_t bytes = 0;
  return workspace_or_throw(tsp3d_cuda_prune_workspace_size(extent(max_dims(in[kScores]), 0), &bytes), bytes, kName);
}

bool PrunePlugin::run(const PluginTensorDesc* in, const PluginTensorDesc*, const void* const* inputs,
                      void* const* outputs, void* ws, cudaStream_t stream) {
  const int64_t n = extent(in[kScores].dims, 0);
  size_t bytes = 0;
  if (!launched("workspace query", tsp3d_cuda_prune_workspace_size(n, &bytes))) return false;
  auto* idx = static_cast<int32_t*>(outputs[kIdxOut]);
  const int32_t s =
      in[kScores].type == DataType::kFLOAT
          ? tsp3d_cuda_prune_f32(static_cast<const float*>(inputs[kScores]), n, threshold_, mode_, min_keep_, capacity_,
                                 idx, count_slot(ws), status_slot(ws), kernel_workspace(ws), bytes, stream)
          : tsp3d_cuda_prune_f16(static_cast<const uint16_t*>(inputs[kScores]), n, threshold_, mode_, min_keep_, capacity_,
                                 idx, count_slot(ws), status_slot(ws), kernel_workspace(ws), bytes, stream);
  if (!launched("launch", s)) return false;
  if (!launched("size tensor", tsp3d_cuda_size_from_count(count_slot(ws), status_slot(ws), 0,
                                                          static_cast<int32_t*>(outputs[kSizeOut]), stream))) {
    return false;
  }
  return finished(ws, stream, [this](const DeviceResult& r) -> std::string {
    if (r.status == code(Status::kCapacityExceeded)) {
      return std::to_string(r.count) + " rows kept, over the attribute capacity=" + std::to_string(capacity_) +
             " (raise it)";
    }
    return std::string();
  });
}

}  // namespace trt
}  // namespace tsp3d
