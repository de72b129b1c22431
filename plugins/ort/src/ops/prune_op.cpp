// tsp3d::Prune (docs/opset.md): scores T [N] -> idx int32 [M], ascending; float32 and float16.
#include <cstring>

#include "../op_glue.h"
#include "../ops.h"
#include "tsp3d/point_math.h"

namespace tsp3d {
namespace ort {
namespace {

class PruneKernel : public KernelBase {
 public:
  explicit PruneKernel(const KernelSetup& s) : KernelBase(s) {
    const int64_t mode0 = kKeepBelow, one = 1, zero = 0;
    threshold_ = attr_float(s, "threshold", nullptr);
    mode_ = static_cast<int32_t>(attr_int(s, "mode", &mode0, kKeepBelow, kKeepAbove));
    min_keep_ = attr_int(s, "min_keep", &one, 0, kAttrMax);
    capacity_ = attr_int(s, "capacity", &zero, 0, kAttrMax);
  }

 protected:
  void compute(OrtKernelContext* ctx) override {
    const Tensor scores = input_rank(ctx, 0, "scores", 1);
    std::vector<int32_t> idx;
    cpu::Diag d;
    const Status st = elem_ == kF16 ? cpu::prune_f16(scores.as<uint16_t>(), scores.dim(0), threshold_, mode_,
                                                     min_keep_, &idx, &d)
                                    : cpu::prune_f32(scores.as<float>(), scores.dim(0), threshold_, mode_, min_keep_,
                                                     &idx, &d);
    StatusContext c;
    c.inputs = {"scores"};
    c.capacity = capacity_;
    check(st, d, c);
    const int64_t m = static_cast<int64_t>(idx.size());
    check(cpu::check_capacity(m, capacity_, &d), d, c);
    std::memcpy(output(ctx, 0, {m}), idx.data(), sizeof(int32_t) * idx.size());
  }

 private:
  float threshold_;
  int32_t mode_;
  int64_t min_keep_;
  int64_t capacity_;
};

}  // namespace

void add_prune(OpList* ops, const OpConfig& config) {
  for (ONNXTensorElementDataType t : {kF32, kF16}) {
    add_op<PruneKernel>(ops, "Prune", Types{t}, Flags{false}, Types{kI32}, t, config);
  }
}

}  // namespace ort
}  // namespace tsp3d
