// tsp3d::CoordsDown (docs/opset.md): coords int32 [N, 4] at tensor stride `stride` -> out_coords [M, 4].
#include "../op_glue.h"
#include "../ops.h"
#include "tsp3d/coord_key.h"

namespace tsp3d {
namespace ort {
namespace {

class CoordsDownKernel : public KernelBase {
 public:
  explicit CoordsDownKernel(const KernelSetup& s) : KernelBase(s) {
    const int64_t zero = 0;
    stride_ = static_cast<int32_t>(attr_int(s, "stride", nullptr, 1, kCoordMax));
    capacity_ = attr_int(s, "capacity", &zero, 0, kAttrMax);
  }

 protected:
  void compute(OrtKernelContext* ctx) override {
    const Tensor in = input_coords(ctx, 0, "coords");
    StatusContext c;
    c.inputs = {"coords"};
    c.coords = {in.as<int32_t>()};
    c.capacity = capacity_;
    c.stride = stride_;
    std::vector<int64_t> keys;
    cpu::Diag d;
    check(cpu::coords_down(in.as<int32_t>(), in.dim(0), stride_, &keys, &d), d, c);
    const int64_t m = static_cast<int64_t>(keys.size());
    check(cpu::check_capacity(m, capacity_, &d), d, c);
    cpu::unpack_rows(keys.data(), m, static_cast<int32_t*>(output(ctx, 0, {m, 4})));
  }

 private:
  int32_t stride_;
  int64_t capacity_;
};

}  // namespace

void add_coords_down(OpList* ops, const OpConfig& config) {
  add_op<CoordsDownKernel>(ops, "CoordsDown", Types{kI32}, Flags{false}, Types{kI32}, kAny, config);
}

}  // namespace ort
}  // namespace tsp3d
