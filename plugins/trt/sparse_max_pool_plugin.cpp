// SparseMaxPool: feats [N, C] T, nbr [M, K] int32 -> out [M, C] T (T float32 or float16).
#include "op_creators.h"
#include "op_helpers.h"
#include "plugin_base.h"
#include "plugin_creator.h"
#include "tsp3d/c_api_cuda.h"

namespace tsp3d {
namespace trt {
namespace {

class SparseMaxPoolPlugin final : public OpPlugin<SparseMaxPoolPlugin> {
  // Positions of the inputs and outputs.
  enum Slot : int32_t { kFeats = 0, kNbr = 1, kOut = 0 };

 public:
  static inline const Signature kSignature{"SparseMaxPool", {{"feats", Elem::kT}, {"nbr", Elem::kI32}}, 0, {Elem::kT}};
  using OpPlugin::OpPlugin;  // no attributes

 protected:
  void output_shapes(const DimsExprs* in, int32_t, DimsExprs* out, int32_t, IExprBuilder&) const override {
    expect_rank(in[kFeats], 2, "feats [N, C]");
    expect_rank(in[kNbr], 2, "nbr [M, K]");
    set_dims(out[kOut], {in[kNbr].d[0], in[kFeats].d[1]});
  }

  int32_t workspace_size(const Dims* in, size_t* bytes) const override {
    return tsp3d_cuda_sparse_max_pool_workspace_size(extent(in[kNbr], 0), bytes);
  }

  bool run(const PluginTensorDesc* in, const PluginTensorDesc*, const void* const* inputs, void* const* outputs,
           const Workspace& ws, cudaStream_t stream) override {
    TSP3D_VALIDATE(in[kFeats].dims.nbDims == 2 && in[kNbr].dims.nbDims == 2,
                   "feats [N, C] and nbr [M, K] must be 2-D");
    const int64_t n_in = in[kFeats].dims.d[0], c = in[kFeats].dims.d[1];
    const int64_t n_out = in[kNbr].dims.d[0], k = in[kNbr].dims.d[1];
    const auto* nbr = static_cast<const int32_t*>(inputs[kNbr]);
    const int32_t s =
        in[kFeats].type == DataType::kFLOAT
            ? tsp3d_cuda_sparse_max_pool_f32(static_cast<const float*>(inputs[kFeats]), n_in, c, nbr, n_out, k,
                                             static_cast<float*>(outputs[kOut]), ws.status, ws.kernel, ws.bytes,
                                             stream)
            : tsp3d_cuda_sparse_max_pool_f16(static_cast<const uint16_t*>(inputs[kFeats]), n_in, c, nbr, n_out, k,
                                             static_cast<uint16_t*>(outputs[kOut]), ws.status, ws.kernel, ws.bytes,
                                             stream);
    return launched("launch", s) && recorded(ws, stream);  // read at the next size-tensor op or by take_error
  }
};

}  // namespace

nvinfer1::IPluginCreatorInterface* sparse_max_pool_creator() { return creator_of<SparseMaxPoolPlugin>(); }

}  // namespace trt
}  // namespace tsp3d
