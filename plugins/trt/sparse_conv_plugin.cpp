// SparseConv: feats [N, Cin] T, nbr [M, K] int32, weight [K, Cin, Cout] T, optional bias [Cout] T -> out [M, Cout]
// T, with T float32 or float16 (float32 accumulation; tensor cores for float16).
#include "conv_common.h"
#include "op_creators.h"
#include "op_helpers.h"
#include "plugin_base.h"
#include "plugin_creator.h"
#include "tsp3d/c_api_cuda.h"

namespace tsp3d {
namespace trt {
namespace {

class SparseConvPlugin final : public ConvPlugin<SparseConvPlugin> {
 public:
  // Positions of the inputs and outputs.
  enum Slot : int32_t { kFeats = 0, kNbr = 1, kWeight = 2, kBias = 3, kOut = 0 };
  static inline const Signature kSignature{"SparseConv",
                                           {{"feats", Elem::kT},
                                            {"nbr", Elem::kI32},
                                            {"weight", Elem::kT},
                                            {"bias", Elem::kT}},
                                           1,  // bias is optional
                                           {Elem::kT}};
  using ConvPlugin::ConvPlugin;

 protected:
  void output_shapes(const DimsExprs* in, int32_t nb_in, DimsExprs* out, int32_t, IExprBuilder&) const override {
    conv_output(in, nb_in, out);
  }

  bool run(const PluginTensorDesc* in, const PluginTensorDesc*, const void* const* inputs, void* const* outputs,
           const Workspace& ws, cudaStream_t stream) override {
    const ConvSizes z = sizes(in);
    const auto* nbr = static_cast<const int32_t*>(inputs[kNbr]);
    const void* bias = has_bias() ? inputs[kBias] : nullptr;
    int32_t s = 0;
    if (in[kFeats].type == DataType::kFLOAT) {
      s = tsp3d_cuda_sparse_conv_f32(static_cast<const float*>(inputs[kFeats]), z.n_in, z.cin, nbr, z.n_out, z.k,
                                     static_cast<const float*>(inputs[kWeight]), z.cout,
                                     static_cast<const float*>(bias), activation_, static_cast<float*>(outputs[kOut]),
                                     ws.status, ws.kernel, ws.bytes, stream);
    } else {
      s = tsp3d_cuda_sparse_conv_f16(static_cast<const uint16_t*>(inputs[kFeats]), z.n_in, z.cin, nbr, z.n_out, z.k,
                                     static_cast<const uint16_t*>(inputs[kWeight]), z.cout,
                                     static_cast<const uint16_t*>(bias), activation_,
                                     static_cast<uint16_t*>(outputs[kOut]), ws.status, ws.kernel, ws.bytes, stream);
    }
    return launched("launch", s) && recorded(ws, stream);  // read at the next size-tensor op or by take_error
  }
};

}  // namespace

nvinfer1::IPluginCreatorInterface* sparse_conv_creator() { return creator_of<SparseConvPlugin>(); }

}  // namespace trt
}  // namespace tsp3d
