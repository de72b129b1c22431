// tsp3d::CoordsDown and tsp3d::CoordsUp (docs/opset.md): coords int32 [N, 4] at tensor stride `stride` ->
// out_coords [M, 4]. One kernel class; the two ops differ only in the data of their Kind (as the TensorRT
// plugin, plugins/trt/coords_resample_plugin.cpp).
#include <string>
#include <vector>

#include "../op_glue.h"
#include "../ops.h"
#include "tsp3d/coord_key.h"

namespace tsp3d {
namespace ort {
namespace {

using Resample = Status (*)(const int32_t* coords, int64_t n, int32_t stride, std::vector<int64_t>* keys,
                            cpu::Diag* diag);

struct CoordsDown {
  static constexpr const char* kName = "CoordsDown";
  static constexpr int64_t kMinStride = 1;
  static constexpr bool kEvenStride = false;
  static constexpr Resample kResample = cpu::coords_down;
};

struct CoordsUp {
  static constexpr const char* kName = "CoordsUp";
  static constexpr int64_t kMinStride = 2;
  static constexpr bool kEvenStride = true;  // the outputs sit at stride / 2
  static constexpr Resample kResample = cpu::coords_up;
};

template <typename Kind>
class CoordsResampleKernel : public KernelBase {
 public:
  explicit CoordsResampleKernel(const KernelSetup& s) : KernelBase(s) {
    const int64_t zero = 0;
    stride_ = static_cast<int32_t>(attr_int(s, "stride", nullptr, Kind::kMinStride, kCoordMax));
    if (Kind::kEvenStride && stride_ % 2) {
      fail(ORT_INVALID_GRAPH, "attribute 'stride' must be even, got " + std::to_string(stride_));
    }
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
    check(Kind::kResample(in.as<int32_t>(), in.dim(0), stride_, &keys, &d), d, c);
    const int64_t m = static_cast<int64_t>(keys.size());
    check(cpu::check_capacity(m, capacity_, &d), d, c);
    cpu::unpack_rows(keys.data(), m, static_cast<int32_t*>(output(ctx, 0, {m, 4})));
  }

 private:
  int32_t stride_;
  int64_t capacity_;
};

template <typename Kind>
void add_resample(OpList* ops, const OpConfig& config) {
  add_op<CoordsResampleKernel<Kind>>(ops, Kind::kName, Types{kI32}, Flags{false}, Types{kI32}, kAny, config);
}

}  // namespace

void add_coords_down(OpList* ops, const OpConfig& config) { add_resample<CoordsDown>(ops, config); }
void add_coords_up(OpList* ops, const OpConfig& config) { add_resample<CoordsUp>(ops, config); }

}  // namespace ort
}  // namespace tsp3d
