// tsp3d::SparseMaxPool (docs/opset.md), float32 and float16.
#include "../op_glue.h"
#include "../ops.h"

namespace tsp3d {
namespace ort {
namespace {

class SparseMaxPoolKernel : public KernelBase {
 public:
  explicit SparseMaxPoolKernel(const KernelSetup& s) : KernelBase(s) {}

 protected:
  void compute(OrtKernelContext* ctx) override {
    const Tensor feats = input_rank(ctx, 0, "feats", 2);
    const Tensor nbr = input_rank(ctx, 1, "nbr", 2);
    const int64_t n = feats.dim(0), ch = feats.dim(1), m = nbr.dim(0), k = nbr.dim(1);
    if (ch < 1 || k < 1) {
      fail(ORT_INVALID_ARGUMENT, "feats " + shape_string(feats.shape) + " and nbr " + shape_string(nbr.shape) +
                                     " need C, K >= 1");
    }
    StatusContext c;
    c.inputs = {"feats", "nbr"};
    c.feats_rows = n;
    void* out = output(ctx, 0, {m, ch});
    cpu::Diag d;
    const Status st =
        elem_ == kF16
            ? cpu::sparse_max_pool_f16(feats.as<uint16_t>(), n, ch, nbr.as<int32_t>(), m, k,
                                       static_cast<uint16_t*>(out), &d)
            : cpu::sparse_max_pool_f32(feats.as<float>(), n, ch, nbr.as<int32_t>(), m, k, static_cast<float*>(out), &d);
    check(st, d, c);
  }
};

}  // namespace

void add_sparse_max_pool(OpList* ops, const OpConfig& config) {
  for (ONNXTensorElementDataType t : {kF32, kF16}) {
    add_op<SparseMaxPoolKernel>(ops, "SparseMaxPool", Types{t, kI32}, Flags{false, false}, Types{t}, t, config);
  }
}

}  // namespace ort
}  // namespace tsp3d
