// tsp3d::SparseConvInt8 (docs/opset.md): int8 feats and weights with their scales, float32 output. A constant
// weight (an initializer: every exported graph) is packed for the int8 code path once, at session creation.
#include "../op_glue.h"
#include "../ops.h"
#include "conv_shapes.h"
#include "tsp3d/int8_math.h"

namespace tsp3d {
namespace ort {
namespace {

class SparseConvInt8Kernel : public KernelBase {
 public:
  explicit SparseConvInt8Kernel(const KernelSetup& s) : KernelBase(s), activation_(activation_attr(s)) {
    int is_constant = 0;
    const OrtValue* w = nullptr;
    OrtStatus* st = Ort::GetApi().KernelInfoGetConstantInput_tensor(s.info, 3, &is_constant, &w);
    if (st != nullptr) {
      Ort::GetApi().ReleaseStatus(st);  // not known at creation: pack per call
    } else if (is_constant && w != nullptr) {
      Ort::ConstValue value(w);
      const auto shape = value.GetTensorTypeAndShapeInfo().GetShape();
      if (shape.size() == 3 && value.GetTensorTypeAndShapeInfo().GetElementType() == kI8) {
        // A failure here (e.g. an invalid TSP3D_INT8_PATH) leaves the weights unpacked: compute reports it.
        packed_ok_ = cpu::pack_int8_weights(value.GetTensorData<int8_t>(), shape[0], shape[1], shape[2],
                                            &packed_) == Status::kOk;
      }
    }
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
    const char* problem = nullptr;
    cpu::int8_path(&problem);
    if (problem != nullptr) {
      fail(ORT_INVALID_ARGUMENT, std::string(problem) + " (unset it or name a path this CPU has)");
    }
    if (!int8_reduction_fits(s.k, s.cin)) fail(ORT_INVALID_ARGUMENT, int8_reduction_problem(s.k, s.cin));
    auto* out = static_cast<float*>(output(ctx, 0, {s.n_out, s.cout}));
    cpu::Diag d;
    Status st;
    if (packed_ok_) {
      st = cpu::sparse_conv_i8_packed(feats.as<int8_t>(), *feats_scale.as<float>(), s.n_in, s.cin, nbr.as<int32_t>(),
                                      s.n_out, s.k, packed_, weight_scale.as<float>(), s.cout, bias.as<float>(),
                                      activation_, out, &d);
    } else {
      st = cpu::sparse_conv_i8(feats.as<int8_t>(), *feats_scale.as<float>(), s.n_in, s.cin, nbr.as<int32_t>(),
                               s.n_out, s.k, weight.as<int8_t>(), weight_scale.as<float>(), s.cout, bias.as<float>(),
                               activation_, out, &d);
    }
    check(st, d, c);
  }

 private:
  int32_t activation_;
  cpu::Int8Weights packed_;
  bool packed_ok_ = false;
};

}  // namespace

void add_sparse_conv_int8(OpList* ops, const OpConfig& config) {
  add_op<SparseConvInt8Kernel>(ops, "SparseConvInt8", Types{kI8, kF32, kI32, kI8, kF32, kF32},
                               Flags{false, false, false, false, false, true}, Types{kF32}, kAny, config);
}

}  // namespace ort
}  // namespace tsp3d
