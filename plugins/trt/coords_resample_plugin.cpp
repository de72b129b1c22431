// CoordsDown and CoordsUp (docs/opset.md): coords [N, 4] int32 at tensor stride `stride` -> out_coords [M, 4] int32
// and the size tensor M (output 1), bounded by `capacity` or the natural bound (N, or 27 N for CoordsUp). One
// plugin class; the two ops differ only in the data of their Kind.
#include "op_creators.h"
#include "op_helpers.h"
#include "plugin_base.h"
#include "plugin_creator.h"
#include "tsp3d/c_api_cuda.h"

namespace tsp3d {
namespace trt {
namespace {

using WorkspaceQuery = int32_t (*)(int64_t n, size_t* bytes);
using Launch = int32_t (*)(const int32_t* coords, int64_t n, int32_t stride, int64_t capacity, int32_t* coords_out,
                           int64_t* count_out, int32_t* status_out, void* workspace, size_t workspace_bytes,
                           cudaStream_t stream);

struct CoordsDown {
  static constexpr const char* kName = "CoordsDown";
  static constexpr int64_t kNaturalFactor = 1;  // natural bound = factor * N
  static bool stride_ok(int32_t s) { return s >= 1 && s <= 32767; }
  static constexpr const char* kStrideRule = "in [1, 32767]";
  static constexpr WorkspaceQuery kWorkspace = tsp3d_cuda_coords_down_workspace_size;
  static constexpr Launch kLaunch = tsp3d_cuda_coords_down;
};

struct CoordsUp {
  static constexpr const char* kName = "CoordsUp";
  static constexpr int64_t kNaturalFactor = 27;
  static bool stride_ok(int32_t s) { return s >= 2 && s <= 32767 && s % 2 == 0; }
  static constexpr const char* kStrideRule = "even and in [2, 32767]";
  static constexpr WorkspaceQuery kWorkspace = tsp3d_cuda_coords_up_workspace_size;
  static constexpr Launch kLaunch = tsp3d_cuda_coords_up;
};

template <typename Kind>
class CoordsResamplePlugin final : public OpPlugin<CoordsResamplePlugin<Kind>> {
  // Positions of the inputs and outputs.
  enum Slot : int32_t { kCoords = 0, kCoordsOut = 0, kSizeOut = 1 };

  using Base = OpPlugin<CoordsResamplePlugin<Kind>>;
  using Base::attrs_;
  using Base::where;

 public:
  static inline const Signature kSignature{Kind::kName, {{"coords", Elem::kI32}}, 0, {Elem::kI32, Elem::kI32}};
  static inline const Schema kSchema = with_capacity({{"stride", FieldKind::kInt, true, 0.0}});

  CoordsResamplePlugin(std::string node, Attributes attrs)
      : Base(std::move(node), std::move(attrs)), stride_(attrs_.get_int("stride")),
        capacity_(capacity_attr(attrs_, where())) {
    TSP3D_VALIDATE(Kind::stride_ok(stride_),
                   where() << ": attribute 'stride' must be " << Kind::kStrideRule << ", got " << stride_);
  }

 protected:
  void output_shapes(const DimsExprs* in, int32_t, DimsExprs* out, int32_t, IExprBuilder& b) const override {
    expect_coords(in[kCoords], "coords [N, 4]");
    const nvinfer1::IDimensionExpr* natural = in[kCoords].d[0];
    if (Kind::kNaturalFactor != 1) {
      natural = b.operation(nvinfer1::DimensionOperation::kPROD, *b.constant(Kind::kNaturalFactor), *natural);
    }
    const auto* rows = declare_rows(b, kSizeOut, capacity_, attrs_.get_int(kOptRowsField), natural,
                                    {in[kCoords].d[0]}, where());
    set_dims(out[kCoordsOut], {rows, b.constant(4)});
    set_dims(out[kSizeOut], {});
  }

  int32_t workspace_size(const Dims* in, size_t* bytes) const override {
    return Kind::kWorkspace(extent(in[kCoords], 0), bytes);
  }

  bool run(const PluginTensorDesc* in, const PluginTensorDesc*, const void* const* inputs, void* const* outputs,
           const Workspace& ws, cudaStream_t stream) override {
    const int64_t n = extent(in[kCoords].dims, 0);
    const int32_t s = Kind::kLaunch(static_cast<const int32_t*>(inputs[kCoords]), n, stride_, capacity_,
                                    static_cast<int32_t*>(outputs[kCoordsOut]), ws.count, ws.status, ws.kernel,
                                    ws.bytes, stream);
    if (!this->launched("launch", s) || !this->size_tensor(ws, 0, outputs[kSizeOut], stream)) return false;
    return this->finished(ws, stream, [&](const DeviceResult& r) -> std::string {
      if (r.status == code(Status::kCapacityExceeded)) {
        return std::to_string(r.count) + " output sites from " + std::to_string(n) +
               " inputs, over the attribute capacity=" + std::to_string(capacity_);
      }
      if (r.status == code(Status::kNotOnStride)) {
        return "input coordinates must be multiples of the attribute stride=" + std::to_string(stride_);
      }
      return std::string();
    });
  }

 private:
  int32_t stride_;
  int32_t capacity_;
};

}  // namespace

nvinfer1::IPluginCreatorInterface* coords_down_creator() { return creator_of<CoordsResamplePlugin<CoordsDown>>(); }
nvinfer1::IPluginCreatorInterface* coords_up_creator() { return creator_of<CoordsResamplePlugin<CoordsUp>>(); }

}  // namespace trt
}  // namespace tsp3d
