// tsp3d::AppendMissing (docs/opset.md): coords_a [Na, 4], coords_b [Nb, 4] -> coords [Na + Mb, 4], idx_b [Mb].
#include <cstring>

#include "../op_glue.h"
#include "../ops.h"

namespace tsp3d {
namespace ort {
namespace {

class AppendMissingKernel : public KernelBase {
 public:
  explicit AppendMissingKernel(const KernelSetup& s) : KernelBase(s) {
    const int64_t zero = 0;
    capacity_ = attr_int(s, "capacity", &zero, 0, kAttrMax);
  }

 protected:
  void compute(OrtKernelContext* ctx) override {
    const Tensor a = input_coords(ctx, 0, "coords_a");
    const Tensor b = input_coords(ctx, 1, "coords_b");
    StatusContext c;
    c.inputs = {"coords_a", "coords_b"};
    c.coords = {a.as<int32_t>(), b.as<int32_t>()};
    c.capacity = capacity_;
    std::vector<int32_t> idx;
    cpu::Diag d;
    check(cpu::append_missing(a.as<int32_t>(), a.dim(0), b.as<int32_t>(), b.dim(0), &idx, &d), d, c);
    const int64_t mb = static_cast<int64_t>(idx.size()), na = a.dim(0);
    check(cpu::check_capacity(na + mb, capacity_, &d), d, c);
    auto* coords = static_cast<int32_t*>(output(ctx, 0, {na + mb, 4}));
    if (na) std::memcpy(coords, a.data, sizeof(int32_t) * 4 * static_cast<size_t>(na));
    const int32_t* rows_b = b.as<int32_t>();
    for (int64_t j = 0; j < mb; ++j) std::memcpy(coords + 4 * (na + j), rows_b + 4 * idx[j], 4 * sizeof(int32_t));
    std::memcpy(output(ctx, 1, {mb}), idx.data(), sizeof(int32_t) * idx.size());
  }

 private:
  int64_t capacity_;
};

}  // namespace

void add_append_missing(OpList* ops, const OpConfig& config) {
  add_op<AppendMissingKernel>(ops, "AppendMissing", Types{kI32, kI32}, Flags{false, false}, Types{kI32, kI32}, kAny,
                              config);
}

}  // namespace ort
}  // namespace tsp3d
