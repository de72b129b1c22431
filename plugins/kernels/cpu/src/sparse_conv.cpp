// SparseConv, float32 and float16 I/O (float32 accumulation): the tiles of conv_tiles.h with the float
// micro-kernel. Weights are used in place when Cout is a multiple of the vector width, else packed once per call
// into zero-padded columns.
#include <new>
#include <vector>

#include "conv_tiles.h"
#include "tsp3d/cpu/half.h"
#include "tsp3d/point_math.h"

namespace tsp3d {
namespace cpu {
namespace {

// Copy (and convert) a [K*cin, cout] weight into rows of ldw floats, zero-padded.
template <typename T, typename Convert>
void pack_weight(const T* w, int64_t rows, int64_t cout, int64_t ldw, float* dst, Convert convert) {
  parallel_for(rows, 256, [&](int64_t b, int64_t e) {
    for (int64_t r = b; r < e; ++r) {
      float* d = dst + r * ldw;
      for (int64_t c = 0; c < cout; ++c) d[c] = convert(w[r * cout + c]);
      for (int64_t c = cout; c < ldw; ++c) d[c] = 0.f;
    }
  });
}

template <typename Out, typename Store>
Status conv_float(const float* feats, int64_t n_in, int64_t cin, const int32_t* nbr, int64_t n_out, int64_t k,
                  const float* w, int64_t ldw, int64_t cout, const float* bias, int32_t activation, Out* out,
                  Store store, Diag* diag) {
  auto finish = [&](int64_t o0, int64_t rows, const float* acc) {
    for (int64_t r = 0; r < rows; ++r) {
      const float* a = acc + r * ldw;
      Out* o = out + (o0 + r) * cout;
      if (bias) {
        for (int64_t c = 0; c < cout; ++c) o[c] = store(activate(a[c] + bias[c], activation));
      } else {
        for (int64_t c = 0; c < cout; ++c) o[c] = store(activate(a[c], activation));
      }
    }
  };
  const ConvGemm<float, float> gm{feats, n_in, cin, cin, w, cin * ldw, ldw, gemm::kMR, gemm::kVec, gemm::kMaxNV};
  return run_conv_tiles<float, float>(gm, nbr, n_out, k, gemm::pick_f32, finish, diag);
}

}  // namespace

Status sparse_conv_f32(const float* feats, int64_t n_in, int64_t cin, const int32_t* nbr, int64_t n_out, int64_t k,
                       const float* weight, int64_t cout, const float* bias, int32_t activation, float* out,
                       Diag* diag) {
  Status st = check_conv_shapes(n_in, cin, n_out, k, cout);
  if (st != Status::kOk) return st;
  if (activation != kActNone && activation != kActRelu) return Status::kInvalidArgument;
  try {
    const int64_t ldw = round_up(cout, gemm::kVec);
    std::vector<float> packed;
    const float* w = weight;
    if (ldw != cout) {
      packed.resize(static_cast<size_t>(k * cin * ldw));
      pack_weight(weight, k * cin, cout, ldw, packed.data(), [](float v) { return v; });
      w = packed.data();
    }
    return conv_float(feats, n_in, cin, nbr, n_out, k, w, ldw, cout, bias, activation, out,
                      [](float v) { return v; }, diag);
  } catch (const std::bad_alloc&) {
    return Status::kOutOfMemory;
  }
}

Status sparse_conv_f16(const uint16_t* feats, int64_t n_in, int64_t cin, const int32_t* nbr, int64_t n_out,
                       int64_t k, const uint16_t* weight, int64_t cout, const uint16_t* bias, int32_t activation,
                       uint16_t* out, Diag* diag) {
  Status st = check_conv_shapes(n_in, cin, n_out, k, cout);
  if (st != Status::kOk) return st;
  if (activation != kActNone && activation != kActRelu) return Status::kInvalidArgument;
  try {
    // Widen once: the inputs of an FP16 layer are read ~K/3 times each, the weights once per tile.
    const int64_t ldw = round_up(cout, gemm::kVec);
    std::vector<float> f(static_cast<size_t>(n_in * cin));
    parallel_for(n_in * cin, 1 << 16, [&](int64_t b, int64_t e) { half_to_float_n(feats + b, f.data() + b, e - b); });
    std::vector<float> w(static_cast<size_t>(k * cin * ldw));
    pack_weight(weight, k * cin, cout, ldw, w.data(), half_to_float);
    std::vector<float> b32;
    if (bias) {
      b32.resize(static_cast<size_t>(cout));
      half_to_float_n(bias, b32.data(), cout);
    }
    return conv_float(f.data(), n_in, cin, nbr, n_out, k, w.data(), ldw, cout, bias ? b32.data() : nullptr,
                      activation, out, float_to_half, diag);
  } catch (const std::bad_alloc&) {
    return Status::kOutOfMemory;
  }
}

}  // namespace cpu
}  // namespace tsp3d
