// SparseConvInt8: int8 features and weights, exact int32 accumulation, then the float scaling of docs/opset.md:
// out = act(bias + feats_scale * weight_scale[c] * acc).
#include <new>
#include <vector>

#include "conv_tiles.h"
#include "tsp3d/point_math.h"

namespace tsp3d {
namespace cpu {

Status sparse_conv_i8(const int8_t* feats, float feats_scale, int64_t n_in, int64_t cin, const int32_t* nbr,
                      int64_t n_out, int64_t k, const int8_t* weight, const float* weight_scale, int64_t cout,
                      const float* bias, int32_t activation, float* out, Diag* diag) {
  Status st = check_conv_shapes(n_in, cin, n_out, k, cout);
  if (st != Status::kOk) return st;
  if ((activation != kActNone && activation != kActRelu) || weight_scale == nullptr) return Status::kInvalidArgument;
  try {
    const int64_t ldw = round_up(cout, gemm::kVec);
    std::vector<int32_t> w(static_cast<size_t>(k * cin * ldw), 0);  // widened once: the multiply is int32
    parallel_for(k * cin, 256, [&](int64_t b, int64_t e) {
      for (int64_t r = b; r < e; ++r)
        for (int64_t c = 0; c < cout; ++c) w[r * ldw + c] = weight[r * cout + c];
    });
    std::vector<float> scale(static_cast<size_t>(cout));
    for (int64_t c = 0; c < cout; ++c) scale[c] = feats_scale * weight_scale[c];
    auto finish = [&](int64_t o0, int64_t rows, const int32_t* acc) {
      for (int64_t r = 0; r < rows; ++r) {
        const int32_t* a = acc + r * ldw;
        float* o = out + (o0 + r) * cout;
        for (int64_t c = 0; c < cout; ++c) {
          const float v = scale[c] * static_cast<float>(a[c]);
          o[c] = activate(bias ? bias[c] + v : v, activation);
        }
      }
    };
    return run_conv_tiles<int8_t, int32_t, int32_t>(feats, n_in, cin, nbr, n_out, k, w.data(), ldw, gemm::pick_i8,
                                                    finish, diag);
  } catch (const std::bad_alloc&) {
    return Status::kOutOfMemory;
  }
}

}  // namespace cpu
}  // namespace tsp3d
