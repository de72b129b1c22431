// tsp3d::Voxelize (docs/opset.md): points float32 [N, D] -> coords int32 [M, 4], first int32 [M].
#include <cmath>
#include <cstring>

#include "../op_glue.h"
#include "../ops.h"
#include "tsp3d/coord_key.h"

namespace tsp3d {
namespace ort {
namespace {

class VoxelizeKernel : public KernelBase {
 public:
  explicit VoxelizeKernel(const KernelSetup& s) : KernelBase(s) {
    const int64_t zero = 0;
    voxel_size_ = attr_float(s, "voxel_size", nullptr);
    if (!(voxel_size_ > 0.f) || !std::isfinite(voxel_size_)) {
      fail(ORT_INVALID_GRAPH, "attribute 'voxel_size' must be a finite float > 0, got " + std::to_string(voxel_size_));
    }
    batch_ = static_cast<int32_t>(attr_int(s, "batch", &zero, 0, kBatchMax));
    capacity_ = attr_int(s, "capacity", &zero, 0, kAttrMax);
  }

 protected:
  void compute(OrtKernelContext* ctx) override {
    const Tensor p = input_rank(ctx, 0, "points", 2);
    if (p.dim(1) < 3) fail(ORT_INVALID_ARGUMENT, "input 'points' must be [N, D >= 3], got " + shape_string(p.shape));
    if (p.dim(0) == 0) fail(ORT_INVALID_ARGUMENT, "input 'points' is empty (0 points)");
    StatusContext c;
    c.inputs = {"points"};
    c.coords = {nullptr};
    c.points = p.as<float>();
    c.points_dim = p.dim(1);
    c.voxel_size = voxel_size_;
    c.capacity = capacity_;
    std::vector<int64_t> keys;
    std::vector<int32_t> first;
    cpu::Diag d;
    check(cpu::voxelize(p.as<float>(), p.dim(0), p.dim(1), voxel_size_, batch_, &keys, &first, &d), d, c);
    const int64_t m = static_cast<int64_t>(keys.size());
    check(cpu::check_capacity(m, capacity_, &d), d, c);
    cpu::unpack_rows(keys.data(), m, static_cast<int32_t*>(output(ctx, 0, {m, 4})));
    std::memcpy(output(ctx, 1, {m}), first.data(), sizeof(int32_t) * first.size());
  }

 private:
  float voxel_size_;
  int32_t batch_;
  int64_t capacity_;
};

}  // namespace

void add_voxelize(OpList* ops, const OpConfig& config) {
  add_op<VoxelizeKernel>(ops, "Voxelize", Types{kF32}, Flags{false}, Types{kI32, kI32}, kAny, config);
}

}  // namespace ort
}  // namespace tsp3d
