// tsp3d::SparseConvInt8 (docs/opset.md): int8 feats and weights with their scales, float32 output.
#include "../op_glue.h"
#include "../ops.h"
#include "conv_shapes.h"
#include "tsp3d/point_math.h"

namespace tsp3d {
namespace ort {
namespace {

class SparseConvInt8Kernel : public KernelBase {
 public:
  explicit SparseConvInt8Kernel(const KernelSetup& s) : KernelBase(s) {
    const int64_t zero = 0;
    activation_ = static_cast<int32_t>(attr_int(s, "activation", &zero, kActNone, kActRelu));
  }

 protected:
  void compute(OrtKernelContext* ctx) override {
    const Tensor feats = input_rank(ctx, 0, "feats", 2);
    const Tensor feats_scale = input(ctx, 1);
    const Tensor nbr = input_rank(ctx, 2, "nbr", 2);
    const Tensor weight = input_rank(ctx, 3, "weight", 3);
    const Tensor weight_scale = input_rank(ctx, 4, "weight_scale", 1);
    const Tensor bias = input(ctx, 5);
    const ConvShapes s = conv_shapes(feats, nbr, weight, bias);
    int64_t scale_elems = 1;
    for (int64_t v : feats_scale.shape) scale_elems *= v;
    if (scale_elems != 1) {
      fail(ORT_INVALID_ARGUMENT, "input 'feats_scale' must be a scalar, got " + shape_string(feats_scale.shape));
    }
    if (weight_scale.dim(0) != s.cout) {
      fail(ORT_INVALID_ARGUMENT, "input 'weight_scale' has shape " + shape_string(weight_scale.shape) +
                                     ", expected [" + std::to_string(s.cout) + "] (one scale per output channel)");
    }
    StatusContext c;
    c.inputs = {"feats", "feats_scale", "nbr", "weight", "weight_scale", "bias"};
    c.feats_rows = s.n_in;
    auto* out = static_cast<float*>(output(ctx, 0, {s.n_out, s.cout}));
    cpu::Diag d;
    check(cpu::sparse_conv_i8(feats.as<int8_t>(), *feats_scale.as<float>(), s.n_in, s.cin, nbr.as<int32_t>(), s.n_out,
                              s.k, weight.as<int8_t>(), weight_scale.as<float>(), s.cout, bias.as<float>(),
                              activation_, out, &d),
          d, c);
  }

 private:
  int32_t activation_;
};

}  // namespace

void add_sparse_conv_int8(OpList* ops, const OpConfig& config) {
  add_op<SparseConvInt8Kernel>(ops, "SparseConvInt8", Types{kI8, kF32, kI32, kI8, kF32, kF32},
                               Flags{false, false, false, false, false, true}, Types{kF32}, kAny, config);
}

}  // namespace ort
}  // namespace tsp3d
