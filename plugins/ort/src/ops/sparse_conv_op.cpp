// tsp3d::SparseConv (docs/opset.md), float32 and float16 (two registrations of the type parameter T).
#include "../op_glue.h"
#include "../ops.h"
#include "conv_shapes.h"

namespace tsp3d {
namespace ort {
namespace {

class SparseConvKernel : public KernelBase {
 public:
  explicit SparseConvKernel(const KernelSetup& s) : KernelBase(s), activation_(activation_attr(s)) {}

 protected:
  void compute(OrtKernelContext* ctx) override {
    const Tensor feats = input_rank(ctx, 0, "feats", 2);
    const Tensor nbr = input_rank(ctx, 1, "nbr", 2);
    const Tensor weight = input_rank(ctx, 2, "weight", 3);
    const Tensor bias = input(ctx, 3);
    const ConvShapes s = conv_shapes(feats, nbr, weight, bias);
    StatusContext c;
    c.inputs = {"feats", "nbr", "weight", "bias"};
    c.feats_rows = s.n_in;
    void* out = output(ctx, 0, {s.n_out, s.cout});
    cpu::Diag d;
    Status st;
    if (elem_ == kF16) {
      st = cpu::sparse_conv_f16(feats.as<uint16_t>(), s.n_in, s.cin, nbr.as<int32_t>(), s.n_out, s.k,
                                weight.as<uint16_t>(), s.cout, bias.as<uint16_t>(), activation_,
                                static_cast<uint16_t*>(out), &d);
    } else {
      st = cpu::sparse_conv_f32(feats.as<float>(), s.n_in, s.cin, nbr.as<int32_t>(), s.n_out, s.k, weight.as<float>(),
                                s.cout, bias.as<float>(), activation_, static_cast<float*>(out), &d);
    }
    check(st, d, c);
  }

 private:
  int32_t activation_;
};

}  // namespace

void add_sparse_conv(OpList* ops, const OpConfig& config) {
  for (ONNXTensorElementDataType t : {kF32, kF16}) {
    add_op<SparseConvKernel>(ops, "SparseConv", Types{t, kI32, t, t}, Flags{false, false, false, true}, Types{t}, t,
                             config);
  }
}

}  // namespace ort
}  // namespace tsp3d
