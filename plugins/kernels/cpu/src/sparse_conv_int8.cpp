// SparseConvInt8: int8 features and weights, exact int32 accumulation on the path int8_path() picks (the
// micro-kernels of int8_kernels.h), then the float epilogue of tsp3d/int8_math.h:
//   out = act(bias + (feats_scale * weight_scale[c]) * acc).
// The weights are packed for the path once (pack_int8_weights; the ORT op does it at session creation for a
// constant weight). Per call, linear in the inputs: feature rows are padded to a multiple of 4 channels when the
// path reads quads, and for the offset packing each input row's channel sum is taken (its compensation term).
// The GEMM is the conv tiles of conv_tiles.h.
#include <cstring>
#include <new>
#include <vector>

#include "conv_tiles.h"
#include "int8_kernels.h"
#include "tsp3d/int8_math.h"

namespace tsp3d {
namespace cpu {
namespace {

int8::KernelInfo portable_kernel() {
  return {int8::Packing::kWidened, gemm::kMR, gemm::kVec, gemm::kMaxNV, gemm::pick_i8};
}

int8::KernelInfo kernel_for(Int8Path path) {
#if defined(TSP3D_INT8_VNNI)
  if (path == Int8Path::kAvx512Vnni) return int8::avx512_vnni_kernel();
#endif
#if defined(TSP3D_INT8_X86)
  if (path == Int8Path::kAvx2) return int8::avx2_kernel();
#endif
  return portable_kernel();
}

bool has_minus_128(const int8_t* w, int64_t n) {
  for (int64_t i = 0; i < n; ++i)
    if (w[i] == -128) return true;
  return false;
}

// W [K, cin, cout] as int32 rows of ldw, one per input channel.
void pack_widened(const int8_t* weight, int64_t k, int64_t cin, int64_t cout, int64_t ldw, int32_t* dst) {
  parallel_for(k * cin, 256, [&](int64_t b, int64_t e) {
    for (int64_t r = b; r < e; ++r)
      for (int64_t c = 0; c < cout; ++c) dst[r * ldw + c] = weight[r * cout + c];
  });
}

// W [K, cin, cout] as int32 words of 4 consecutive input channels: [K][cin4 / 4][ldw]; missing channels and
// columns are weight 0. `offset` 128 stores unsigned bytes w + 128 (kOffsetQuads), 0 the int8 weights (kQuads).
void pack_quads(const int8_t* weight, int64_t k, int64_t cin, int64_t cout, int64_t ldw, int32_t offset,
                int32_t* dst) {
  const int64_t groups = (cin + 3) / 4;
  parallel_for(k * groups, 64, [&](int64_t b, int64_t e) {
    for (int64_t kg = b; kg < e; ++kg) {
      const int64_t kk = kg / groups, g = kg % groups;
      for (int64_t c = 0; c < ldw; ++c) {
        uint8_t bytes[4];
        for (int64_t j = 0; j < 4; ++j) {
          const int64_t ci = 4 * g + j;
          const int32_t w = (ci < cin && c < cout) ? weight[(kk * cin + ci) * cout + c] : 0;
          bytes[j] = static_cast<uint8_t>(w + offset);
        }
        std::memcpy(dst + kg * ldw + c, bytes, 4);  // byte j pairs with feature channel 4g + j (little endian)
      }
    }
  });
}

// The features as the path reads them: rows padded to whole quads where needed, and the row sums of the offset
// packing's compensation.
struct Features {
  std::vector<int8_t> padded;
  std::vector<int32_t> row_sums;
  const int8_t* rows = nullptr;
  int64_t stride = 0;
};

int32_t row_sum(const int8_t* row, int64_t cin) {
  int32_t s = 0;
  for (int64_t ci = 0; ci < cin; ++ci) s += row[ci];
  return s;
}

// Channel sums of the input rows the rulebook reads. A strided conv from a larger set (k1 / k2 s2) reads few of
// them: then only those are summed (measured on base, k1 s2 128 -> 128 at 16 cm: 970 of 7835 rows).
void sum_rows(const int8_t* feats, int64_t n_in, int64_t cin, const int32_t* nbr, int64_t entries,
              std::vector<int32_t>* sums) {
  if (entries < n_in) {
    sums->assign(static_cast<size_t>(n_in), 0);
    for (int64_t e = 0; e < entries; ++e) {
      const int32_t i = nbr[e];
      if (i >= 0 && i < n_in) (*sums)[i] = row_sum(feats + i * cin, cin);
    }
    return;
  }
  sums->resize(static_cast<size_t>(n_in));
  parallel_for(n_in, 4096, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) (*sums)[i] = row_sum(feats + i * cin, cin);
  });
}

void prepare_features(const int8_t* feats, int64_t n_in, int64_t cin, const int32_t* nbr, int64_t entries,
                      int8::Packing packing, Features* f) {
  f->rows = feats;
  f->stride = cin;
  if (packing == int8::Packing::kWidened) return;
  const int64_t cin4 = round_up(cin, 4);
  if (cin4 != cin) {  // quads read 4 channels at a time: give every row whole quads (zeros)
    f->padded.assign(static_cast<size_t>(n_in * cin4), 0);
    parallel_for(n_in, 4096, [&](int64_t b, int64_t e) {
      for (int64_t i = b; i < e; ++i) std::memcpy(&f->padded[i * cin4], feats + i * cin, cin);
    });
    f->rows = f->padded.data();
    f->stride = cin4;
  }
  if (packing == int8::Packing::kOffsetQuads) sum_rows(feats, n_in, cin, nbr, entries, &f->row_sums);
}

// Run the tiles with packed weights; emit(o, acc_row) gets each output row's exact accumulators.
template <typename Emit>
Status accumulate(const int8_t* feats, int64_t n_in, int64_t cin, const int32_t* nbr, int64_t n_out, int64_t k,
                  const Int8Weights& w, int64_t cout, Emit emit, Diag* diag) {
  Status st = check_conv_shapes(n_in, cin, n_out, k, cout);
  if (st != Status::kOk) return st;
  if (w.k != k || w.cin != cin || w.cout != cout || !int8_reduction_fits(k, cin)) return Status::kInvalidArgument;
  try {
    const int8::KernelInfo kern = kernel_for(w.path);
    Features f;
    prepare_features(feats, n_in, cin, nbr, n_out * k, kern.packing, &f);
    const int64_t depth = kern.packing == int8::Packing::kWidened ? cin : f.stride / 4;
    const ConvGemm<int8_t, int32_t> gm{f.rows,        n_in,  f.stride, depth,      w.data.data(),
                                       depth * w.ldw, w.ldw, kern.mr,  kern.lanes, kern.max_nv};
    const bool compensate = kern.packing == int8::Packing::kOffsetQuads;
    auto finish = [&](int64_t o0, int64_t rows, int32_t* acc) {
      for (int64_t r = 0; r < rows; ++r) {
        int32_t* a = acc + r * w.ldw;
        if (compensate && n_in > 0) {  // without input rows every entry is absent: nothing to undo
          // acc holds sum (w + 128) * x: subtract 128 * (the channel sums of every gathered row). Wrapping
          // (unsigned) arithmetic: the true value fits int32 even where the biased sum does not.
          uint32_t sum = 0;
          for (int64_t kk = 0; kk < k; ++kk) {
            const int32_t i = nbr[(o0 + r) * k + kk];
            const bool present = i >= 0 && i < n_in;
            sum += static_cast<uint32_t>(f.row_sums[present ? i : 0]) & (present ? ~0u : 0u);
          }
          const uint32_t comp = sum * 128u;
          for (int64_t c = 0; c < cout; ++c) a[c] = static_cast<int32_t>(static_cast<uint32_t>(a[c]) - comp);
        }
        emit(o0 + r, a);
      }
    };
    return run_conv_tiles<int8_t, int32_t>(gm, nbr, n_out, k, kern.pick, finish, diag);
  } catch (const std::bad_alloc&) {
    return Status::kOutOfMemory;
  }
}

}  // namespace

Status pack_int8_weights(const int8_t* weight, int64_t k, int64_t cin, int64_t cout, Int8Weights* packed) {
  if (k <= 0 || cin <= 0 || cout <= 0 || !int8_reduction_fits(k, cin)) return Status::kInvalidArgument;
  const char* problem = nullptr;
  Int8Path path = int8_path(&problem);
  if (problem != nullptr) return Status::kInvalidArgument;
  // The AVX2 form is exact for weights in [-127, 127] only (int8_avx2.cpp).
  if (path == Int8Path::kAvx2 && has_minus_128(weight, k * cin * cout)) path = Int8Path::kPortable;
  const int8::KernelInfo kern = kernel_for(path);
  try {
    packed->path = path;
    packed->k = k;
    packed->cin = cin;
    packed->cout = cout;
    packed->ldw = round_up(cout, kern.lanes);
    if (kern.packing == int8::Packing::kWidened) {
      packed->data.assign(static_cast<size_t>(k * cin * packed->ldw), 0);
      pack_widened(weight, k, cin, cout, packed->ldw, packed->data.data());
    } else {
      const int32_t offset = kern.packing == int8::Packing::kOffsetQuads ? 128 : 0;
      packed->data.resize(static_cast<size_t>(k * (round_up(cin, 4) / 4) * packed->ldw));
      pack_quads(weight, k, cin, cout, packed->ldw, offset, packed->data.data());
    }
  } catch (const std::bad_alloc&) {
    return Status::kOutOfMemory;
  }
  return Status::kOk;
}

Status sparse_conv_i8_packed(const int8_t* feats, float feats_scale, int64_t n_in, int64_t cin, const int32_t* nbr,
                             int64_t n_out, int64_t k, const Int8Weights& weight, const float* weight_scale,
                             int64_t cout, const float* bias, int32_t activation, float* out, Diag* diag) {
  if ((activation != kActNone && activation != kActRelu) || weight_scale == nullptr || cout <= 0)
    return Status::kInvalidArgument;
  std::vector<float> scale;
  try {
    scale.resize(static_cast<size_t>(cout));
  } catch (const std::bad_alloc&) {
    return Status::kOutOfMemory;
  }
  for (int64_t c = 0; c < cout; ++c) scale[c] = int8_channel_scale(feats_scale, weight_scale[c]);
  auto emit = [&](int64_t o, const int32_t* acc) {
    float* dst = out + o * cout;
    for (int64_t c = 0; c < cout; ++c) dst[c] = int8_output(acc[c], scale[c], bias, c, activation);
  };
  return accumulate(feats, n_in, cin, nbr, n_out, k, weight, cout, emit, diag);
}

Status sparse_conv_i8(const int8_t* feats, float feats_scale, int64_t n_in, int64_t cin, const int32_t* nbr,
                      int64_t n_out, int64_t k, const int8_t* weight, const float* weight_scale, int64_t cout,
                      const float* bias, int32_t activation, float* out, Diag* diag) {
  Status st = check_conv_shapes(n_in, cin, n_out, k, cout);
  if (st != Status::kOk) return st;
  Int8Weights w;
  st = pack_int8_weights(weight, k, cin, cout, &w);
  return st != Status::kOk ? st
                           : sparse_conv_i8_packed(feats, feats_scale, n_in, cin, nbr, n_out, k, w, weight_scale,
                                                   cout, bias, activation, out, diag);
}

Status sparse_conv_i8_acc(const int8_t* feats, int64_t n_in, int64_t cin, const int32_t* nbr, int64_t n_out,
                          int64_t k, const int8_t* weight, int64_t cout, int32_t* acc, Diag* diag) {
  Status st = check_conv_shapes(n_in, cin, n_out, k, cout);
  if (st != Status::kOk) return st;
  Int8Weights w;
  st = pack_int8_weights(weight, k, cin, cout, &w);
  if (st != Status::kOk) return st;
  auto emit = [&](int64_t o, const int32_t* a) { std::memcpy(acc + o * cout, a, sizeof(int32_t) * cout); };
  return accumulate(feats, n_in, cin, nbr, n_out, k, w, cout, emit, diag);
}

}  // namespace cpu
}  // namespace tsp3d
