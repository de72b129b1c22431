// SparseConvInt8: feats [N, Cin] int8, feats_scale [] float32, nbr [M, K] int32, weight [K, Cin, Cout] int8,
// weight_scale [Cout] float32, optional bias [Cout] float32 -> out [M, Cout] float32. TensorRT does not fuse Q/DQ
// into plugins, so the scales are graph inputs: act(bias + feats_scale * weight_scale[c] * int32 sum).
#include "conv_common.h"
#include "op_creators.h"
#include "op_helpers.h"
#include "plugin_base.h"
#include "plugin_creator.h"
#include "tsp3d/c_api_cuda.h"
#include "tsp3d/int8_math.h"

namespace tsp3d {
namespace trt {
namespace {

// A reduction K * Cin whose int32 sums could overflow is refused - at build time when the weight's extents are
// constants, else at enqueue - with the status the kernels return for it (tsp3d/int8_math.h, docs/opset.md).
void expect_exact_sums(int64_t k, int64_t cin) {
  TSP3D_VALIDATE(int8_reduction_fits(k, cin),
                 status_message(code(Status::kInvalidArgument), int8_reduction_problem(k, cin)));
}

class SparseConvInt8Plugin final : public ConvPlugin<SparseConvInt8Plugin> {
 public:
  // Positions of the inputs and outputs.
  enum Slot : int32_t { kFeats = 0, kFeatsScale = 1, kNbr = 2, kWeight = 3, kWeightScale = 4, kBias = 5, kOut = 0 };
  static inline const Signature kSignature{"SparseConvInt8",
                                           {{"feats", Elem::kI8},
                                            {"feats_scale", Elem::kF32},
                                            {"nbr", Elem::kI32},
                                            {"weight", Elem::kI8},
                                            {"weight_scale", Elem::kF32},
                                            {"bias", Elem::kF32}},
                                           1,  // bias is optional
                                           {Elem::kF32}};
  using ConvPlugin::ConvPlugin;

 protected:
  void output_shapes(const DimsExprs* in, int32_t nb_in, DimsExprs* out, int32_t, IExprBuilder&) const override {
    const DimsExprs& scale = in[kFeatsScale];
    TSP3D_VALIDATE(scale.nbDims == 0 || (scale.nbDims == 1 && scale.d[0]->isConstant() &&
                                         scale.d[0]->getConstantValue() == 1),
                   "feats_scale must be a scalar (per-tensor scale)");
    expect_rank(in[kWeightScale], 1, "weight_scale [Cout]");
    if (in[kWeight].nbDims == 3 && in[kWeight].d[2]->isConstant()) {
      expect_extent(in[kWeightScale], 0, in[kWeight].d[2]->getConstantValue(), "weight_scale [Cout]");
    }
    conv_output(in, nb_in, out);
    const DimsExprs& w = in[kWeight];
    if (w.d[0]->isConstant() && w.d[1]->isConstant()) {
      expect_exact_sums(w.d[0]->getConstantValue(), w.d[1]->getConstantValue());
    }
  }

  bool run(const PluginTensorDesc* in, const PluginTensorDesc*, const void* const* inputs, void* const* outputs,
           const Workspace& ws, cudaStream_t stream) override {
    const ConvSizes z = sizes(in);
    expect_exact_sums(z.k, z.cin);
    TSP3D_VALIDATE(volume(in[kFeatsScale].dims) == 1, "feats_scale must hold one value");
    TSP3D_VALIDATE(in[kWeightScale].dims.nbDims == 1 && in[kWeightScale].dims.d[0] == z.cout,
                   "weight_scale must have shape [" << z.cout << "]");
    const int32_t s = tsp3d_cuda_sparse_conv_i8(
        static_cast<const int8_t*>(inputs[kFeats]), static_cast<const float*>(inputs[kFeatsScale]), z.n_in, z.cin,
        static_cast<const int32_t*>(inputs[kNbr]), z.n_out, z.k, static_cast<const int8_t*>(inputs[kWeight]),
        static_cast<const float*>(inputs[kWeightScale]), z.cout,
        has_bias() ? static_cast<const float*>(inputs[kBias]) : nullptr, activation_,
        static_cast<float*>(outputs[kOut]), ws.status, ws.kernel, ws.bytes, stream);
    return launched("launch", s) && recorded(ws, stream);  // read at the next size-tensor op or by take_error
  }
};

}  // namespace

nvinfer1::IPluginCreatorInterface* sparse_conv_int8_creator() { return creator_of<SparseConvInt8Plugin>(); }

}  // namespace trt
}  // namespace tsp3d
