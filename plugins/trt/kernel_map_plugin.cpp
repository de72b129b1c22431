// KernelMap: in_coords [N, 4], out_coords [M, 4] (int32) -> nbr [M, kernel_size^3] int32.
#include "op_creators.h"
#include "op_helpers.h"
#include "plugin_base.h"
#include "plugin_creator.h"
#include "tsp3d/c_api_cuda.h"

namespace tsp3d {
namespace trt {
namespace {

class KernelMapPlugin final : public OpPlugin<KernelMapPlugin> {
  // Positions of the inputs and outputs.
  enum Slot : int32_t { kInCoords = 0, kOutCoords = 1, kNbrOut = 0 };

 public:
  static inline const Signature kSignature{
      "KernelMap", {{"in_coords", Elem::kI32}, {"out_coords", Elem::kI32}}, 0, {Elem::kI32}};
  static inline const Schema kSchema{{"kernel_size", FieldKind::kInt, true, 0.0},
                                    {"offset_stride", FieldKind::kInt, true, 0.0},
                                    {"transposed", FieldKind::kInt, false, 0.0}};

  KernelMapPlugin(std::string node, Attributes attrs)
      : OpPlugin(std::move(node), std::move(attrs)),
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

 protected:
  void output_shapes(const DimsExprs* in, int32_t, DimsExprs* out, int32_t, IExprBuilder& b) const override {
    expect_coords(in[kInCoords], "in_coords [N, 4]");
    expect_coords(in[kOutCoords], "out_coords [M, 4]");
    set_dims(out[kNbrOut], {in[kOutCoords].d[0], b.constant(kernel_size_ * kernel_size_ * kernel_size_)});
  }

  int32_t workspace_size(const Dims* in, size_t* bytes) const override {
    return tsp3d_cuda_kernel_map_workspace_size(extent(in[kInCoords], 0), extent(in[kOutCoords], 0), bytes);
  }

  bool run(const PluginTensorDesc* in, const PluginTensorDesc*, const void* const* inputs, void* const* outputs,
           const Workspace& ws, cudaStream_t stream) override {
    const int32_t s = tsp3d_cuda_kernel_map(
        static_cast<const int32_t*>(inputs[kInCoords]), extent(in[kInCoords].dims, 0),
        static_cast<const int32_t*>(inputs[kOutCoords]), extent(in[kOutCoords].dims, 0), kernel_size_, offset_stride_,
        transposed_, static_cast<int32_t*>(outputs[kNbrOut]), ws.status, ws.kernel, ws.bytes, stream);
    return launched("launch", s) && recorded(ws, stream);  // read at the next size-tensor op or by take_error
  }

 private:
  int32_t kernel_size_;
  int32_t offset_stride_;
  int32_t transposed_;
};

}  // namespace

nvinfer1::IPluginCreatorInterface* kernel_map_creator() { return creator_of<KernelMapPlugin>(); }

}  // namespace trt
}  // namespace tsp3d
