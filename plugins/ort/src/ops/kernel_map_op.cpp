// tsp3d::KernelMap (docs/opset.md): in_coords [N, 4] (unique), out_coords [M, 4] -> nbr int32 [M, K].
#include "../op_glue.h"
#include "../ops.h"
#include "tsp3d/coord_key.h"
#include "tsp3d/kernel_offsets.h"

namespace tsp3d {
namespace ort {
namespace {

class KernelMapKernel : public KernelBase {
 public:
  explicit KernelMapKernel(const KernelSetup& s) : KernelBase(s) {
    const int64_t zero = 0;
    kernel_size_ = static_cast<int32_t>(attr_int(s, "kernel_size", nullptr, 1, 3));
    offset_stride_ = static_cast<int32_t>(attr_int(s, "offset_stride", nullptr, 1, kCoordMax));
    transposed_ = attr_int(s, "transposed", &zero, 0, 1) == 1;
  }

 protected:
  void compute(OrtKernelContext* ctx) override {
    const Tensor in = input_coords(ctx, 0, "in_coords");
    const Tensor out = input_coords(ctx, 1, "out_coords");
    StatusContext c;
    c.inputs = {"in_coords", "out_coords"};
    c.coords = {in.as<int32_t>(), out.as<int32_t>()};
    const int64_t k = kernel_volume(kernel_size_);
    auto* nbr = static_cast<int32_t*>(output(ctx, 0, {out.dim(0), k}));
    cpu::Diag d;
    check(cpu::kernel_map(in.as<int32_t>(), in.dim(0), out.as<int32_t>(), out.dim(0), kernel_size_, offset_stride_,
                          transposed_, nbr, &d),
          d, c);
  }

 private:
  int32_t kernel_size_;
  int32_t offset_stride_;
  bool transposed_;
};

}  // namespace

void add_kernel_map(OpList* ops, const OpConfig& config) {
  add_op<KernelMapKernel>(ops, "KernelMap", Types{kI32, kI32}, Flags{false, false}, Types{kI32}, kAny, config);
}

}  // namespace ort
}  // namespace tsp3d
