// Prune: scores [N] T (float32 or float16) -> idx [M] int32 ascending, and the size tensor M (output 1), bounded
// by the capacity attribute (or N when it is 0).
#include "op_creators.h"
#include "op_helpers.h"
#include "plugin_base.h"
#include "plugin_creator.h"
#include "tsp3d/c_api_cuda.h"

namespace tsp3d {
namespace trt {
namespace {

class PrunePlugin final : public OpPlugin<PrunePlugin> {
  // Positions of the inputs and outputs.
  enum Slot : int32_t { kScores = 0, kIdxOut = 0, kSizeOut = 1 };

 public:
  static inline const Signature kSignature{"Prune", {{"scores", Elem::kT}}, 0, {Elem::kI32, Elem::kI32}};
  static inline const Schema kSchema = with_capacity({{"threshold", FieldKind::kFloat, true, 0.0},
                                                      {"mode", FieldKind::kInt, false, 0.0},
                                                      {"min_keep", FieldKind::kInt, false, 1.0}});

  PrunePlugin(std::string node, Attributes attrs)
      : OpPlugin(std::move(node), std::move(attrs)),
        threshold_(attrs_.get_float("threshold")),
        mode_(attrs_.get_int("mode")),
        min_keep_(attrs_.get_int("min_keep")),
        capacity_(capacity_attr(attrs_, where())) {
    TSP3D_VALIDATE(mode_ == 0 || mode_ == 1,
                   where() << ": attribute 'mode' must be 0 (keep score < threshold) or 1 (keep >), got " << mode_);
    TSP3D_VALIDATE(min_keep_ >= 0, where() << ": attribute 'min_keep' must be >= 0, got " << min_keep_);
  }

 protected:
  void output_shapes(const DimsExprs* in, int32_t, DimsExprs* out, int32_t, IExprBuilder& b) const override {
    expect_rank(in[kScores], 1, "scores [N]");
    const auto* rows = declare_rows(b, kSizeOut, capacity_, attrs_.get_int(kOptRowsField), in[kScores].d[0],
                                    {in[kScores].d[0]}, where());
    set_dims(out[kIdxOut], {rows});
    set_dims(out[kSizeOut], {});
  }

  int32_t workspace_size(const Dims* in, size_t* bytes) const override {
    return tsp3d_cuda_prune_workspace_size(extent(in[kScores], 0), bytes);
  }

  bool run(const PluginTensorDesc* in, const PluginTensorDesc*, const void* const* inputs, void* const* outputs,
           const Workspace& ws, cudaStream_t stream) override {
    const int64_t n = extent(in[kScores].dims, 0);
    auto* idx = static_cast<int32_t*>(outputs[kIdxOut]);
    const int32_t s =
        in[kScores].type == DataType::kFLOAT
            ? tsp3d_cuda_prune_f32(static_cast<const float*>(inputs[kScores]), n, threshold_, mode_, min_keep_,
                                   capacity_, idx, ws.count, ws.status, ws.kernel, ws.bytes, stream)
            : tsp3d_cuda_prune_f16(static_cast<const uint16_t*>(inputs[kScores]), n, threshold_, mode_, min_keep_,
                                   capacity_, idx, ws.count, ws.status, ws.kernel, ws.bytes, stream);
    if (!launched("launch", s) || !size_tensor(ws, 0, outputs[kSizeOut], stream)) return false;
    return finished(ws, stream, [this](const DeviceResult& r) -> std::string {
      if (r.status != code(Status::kCapacityExceeded)) return std::string();
      return std::to_string(r.count) + " rows kept, over the attribute capacity=" + std::to_string(capacity_);
    });
  }

 private:
  float threshold_;
  int32_t mode_;
  int32_t min_keep_;
  int32_t capacity_;
};

}  // namespace

nvinfer1::IPluginCreatorInterface* prune_creator() { return creator_of<PrunePlugin>(); }

}  // namespace trt
}  // namespace tsp3d
