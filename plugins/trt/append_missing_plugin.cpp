// AppendMissing: coords_a [Na, 4], coords_b [Nb, 4] (int32) -> coords [Na + Mb, 4], idx_b [Mb] (int32), and two
// size tensors: the rows of coords (output 2) and Mb (output 3). Separate size tensors keep every output extent a
// plain size tensor (no arithmetic on data-dependent values in the shape expressions).
#include "op_creators.h"
#include "op_helpers.h"
#include "plugin_base.h"
#include "plugin_creator.h"
#include "tsp3d/c_api_cuda.h"

namespace tsp3d {
namespace trt {
namespace {

class AppendMissingPlugin final : public OpPlugin<AppendMissingPlugin> {
  // Positions of the inputs and outputs.
  enum Slot : int32_t { kCoordsA = 0, kCoordsB = 1, kCoordsOut = 0, kIdxBOut = 1, kRowsOut = 2, kAddedOut = 3 };

 public:
  static inline const Signature kSignature{"AppendMissing",
                                           {{"coords_a", Elem::kI32}, {"coords_b", Elem::kI32}},
                                           0,
                                           {Elem::kI32, Elem::kI32, Elem::kI32, Elem::kI32}};
  static inline const Schema kSchema = with_capacity({});

  AppendMissingPlugin(std::string node, Attributes attrs)
      : OpPlugin(std::move(node), std::move(attrs)), capacity_(capacity_attr(attrs_, where())) {}

 protected:
  void output_shapes(const DimsExprs* in, int32_t, DimsExprs* out, int32_t, IExprBuilder& b) const override {
    expect_coords(in[kCoordsA], "coords_a [Na, 4]");
    expect_coords(in[kCoordsB], "coords_b [Nb, 4]");
    const nvinfer1::IDimensionExpr* na = in[kCoordsA].d[0];
    const nvinfer1::IDimensionExpr* nb = in[kCoordsB].d[0];
    const int32_t opt = attrs_.get_int(kOptRowsField);  // typical Na + Mb
    const auto* rows = declare_rows(b, kRowsOut, capacity_, opt,
                                    b.operation(nvinfer1::DimensionOperation::kSUM, *na, *nb), {na, nb}, where());
    // Mb <= min(Nb, capacity): the kernel writes nothing when Na + Mb > capacity. Tuned for the same count.
    const auto* added = declare_rows(b, kAddedOut, capacity_, opt, nb, {na, nb}, where());
    set_dims(out[kCoordsOut], {rows, b.constant(4)});
    set_dims(out[kIdxBOut], {added});
    set_dims(out[kRowsOut], {});
    set_dims(out[kAddedOut], {});
  }

  int32_t workspace_size(const Dims* in, size_t* bytes) const override {
    return tsp3d_cuda_append_missing_workspace_size(extent(in[kCoordsA], 0), extent(in[kCoordsB], 0), bytes);
  }

  bool run(const PluginTensorDesc* in, const PluginTensorDesc*, const void* const* inputs, void* const* outputs,
           const Workspace& ws, cudaStream_t stream) override {
    const int64_t na = extent(in[kCoordsA].dims, 0), nb = extent(in[kCoordsB].dims, 0);
    const int32_t s = tsp3d_cuda_append_missing(
        static_cast<const int32_t*>(inputs[kCoordsA]), na, static_cast<const int32_t*>(inputs[kCoordsB]), nb,
        capacity_, static_cast<int32_t*>(outputs[kCoordsOut]), static_cast<int32_t*>(outputs[kIdxBOut]), ws.count,
        ws.status, ws.kernel, ws.bytes, stream);
    if (!launched("launch", s) || !size_tensor(ws, 0, outputs[kRowsOut], stream) ||
        !size_tensor(ws, na, outputs[kAddedOut], stream)) {
      return false;
    }
    return finished(ws, stream, [&](const DeviceResult& r) -> std::string {
      if (r.status != code(Status::kCapacityExceeded)) return std::string();  // duplicates: the hint says it all
      return std::to_string(r.count) + " rows (" + std::to_string(na) + " + " + std::to_string(r.count - na) +
             " appended), over the attribute capacity=" + std::to_string(capacity_);
    });
  }

 private:
  int32_t capacity_;
};

}  // namespace

nvinfer1::IPluginCreatorInterface* append_missing_creator() { return creator_of<AppendMissingPlugin>(); }

}  // namespace trt
}  // namespace tsp3d
