// tsp3d::Lookup (docs/opset.md): query [Q, 4], table [N, 4] (unique) -> idx int32 [Q].
#include "../op_glue.h"
#include "../ops.h"

namespace tsp3d {
namespace ort {
namespace {

class LookupKernel : public KernelBase {
 public:
  explicit LookupKernel(const KernelSetup& s) : KernelBase(s) {}

 protected:
  void compute(OrtKernelContext* ctx) override {
    const Tensor query = input_coords(ctx, 0, "query");
    const Tensor table = input_coords(ctx, 1, "table");
    StatusContext c;
    c.inputs = {"query", "table"};
    c.coords = {query.as<int32_t>(), table.as<int32_t>()};
    auto* idx = static_cast<int32_t*>(output(ctx, 0, {query.dim(0)}));
    cpu::Diag d;
    check(cpu::lookup(query.as<int32_t>(), query.dim(0), table.as<int32_t>(), table.dim(0), idx, &d), d, c);
  }
};

}  // namespace

void add_lookup(OpList* ops, const OpConfig& config) {
  add_op<LookupKernel>(ops, "Lookup", Types{kI32, kI32}, Flags{false, false}, Types{kI32}, kAny, config);
}

}  // namespace ort
}  // namespace tsp3d
