// SparseConv (f32 / f16 / int8) and SparseMaxPool: a hand-computed case, a brute-force double reference over a
// grid of channel counts and kernel volumes, thread-count invariance (bit-identical), and the error statuses.
#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "test_runner.h"
#include "tsp3d/cpu/half.h"
#include "tsp3d/cpu/kernels.h"
#include "tsp3d/cpu/parallel.h"

using tsp3d::Status;
namespace cpu = tsp3d::cpu;

namespace {

using tsp3d_test::Rng;

// nbr with about `density` of the entries present.
std::vector<int32_t> random_nbr(Rng& rng, int64_t m, int64_t k, int64_t n_in, float density) {
  std::vector<int32_t> nbr(static_cast<size_t>(m * k));
  for (auto& v : nbr) v = (rng.next() % 1000) < density * 1000 ? static_cast<int32_t>(rng.next() % n_in) : -1;
  return nbr;
}

// Exact-ish (double) result; `mag` (optional) gets the sum of |products| per element, the scale of the float32
// rounding error.
std::vector<double> reference(const std::vector<float>& f, int64_t cin, const std::vector<int32_t>& nbr, int64_t m,
                              int64_t k, const std::vector<float>& w, int64_t cout, const float* bias, bool relu,
                              std::vector<double>* mag = nullptr) {
  std::vector<double> out(static_cast<size_t>(m * cout), 0.0);
  if (mag) mag->assign(out.size(), 0.0);
  for (int64_t o = 0; o < m; ++o)
    for (int64_t kk = 0; kk < k; ++kk) {
      const int32_t i = nbr[o * k + kk];
      if (i < 0) continue;
      for (int64_t ci = 0; ci < cin; ++ci)
        for (int64_t c = 0; c < cout; ++c) {
          const double p = double(f[i * cin + ci]) * w[(kk * cin + ci) * cout + c];
          out[o * cout + c] += p;
          if (mag) (*mag)[o * cout + c] += std::fabs(p);
        }
    }
  for (int64_t o = 0; o < m; ++o)
    for (int64_t c = 0; c < cout; ++c) {
      double& v = out[o * cout + c];
      if (bias) v += bias[c];
      if (relu && v < 0) v = 0;
    }
  return out;
}

}  // namespace

TSP3D_TEST(conv, hand_computed) {
  const std::vector<float> f = {1, 2, 3, -1};
  const std::vector<int32_t> nbr = {0, 1, -1, 0};
  const std::vector<float> w = {1, 0, 2, 0, 1, 0, /* k=1 */ 1, 1, 1, 2, 0, -1};
  const std::vector<float> bias = {0.5f, -10.f, 0.f};
  std::vector<float> out(6);
  CHECK_OK(cpu::sparse_conv_f32(f.data(), 2, 2, nbr.data(), 2, 2, w.data(), 3, bias.data(), 1, out.data(), nullptr));
  CHECK(out == (std::vector<float>{2.5f, 0.f, 6.f, 5.5f, 0.f, 0.f}));
  CHECK_OK(cpu::sparse_conv_f32(f.data(), 2, 2, nbr.data(), 2, 2, w.data(), 3, nullptr, 0, out.data(), nullptr));
  CHECK(out == (std::vector<float>{2.f, 5.f, 6.f, 5.f, 1.f, -1.f}));
}

TSP3D_TEST(conv, grid_vs_double_reference) {
  Rng rng{7};
  const int64_t cins[] = {1, 3, 6, 64, 128};
  const int64_t couts[] = {1, 5, 16, 17, 64, 128, 80};
  const int64_t ks[] = {1, 8, 27};
  for (int64_t cin : cins)
    for (int64_t cout : couts)
      for (int64_t k : ks) {
        const int64_t n_in = 37, m = 53;
        std::vector<float> f(n_in * cin), w(k * cin * cout), bias(cout);
        for (auto& v : f) v = rng.uniform();
        for (auto& v : w) v = rng.uniform();
        for (auto& v : bias) v = rng.uniform();
        const auto nbr = random_nbr(rng, m, k, n_in, 0.4f);
        std::vector<float> out(m * cout);
        CHECK_OK(cpu::sparse_conv_f32(f.data(), n_in, cin, nbr.data(), m, k, w.data(), cout, bias.data(), 1,
                                      out.data(), nullptr));
        std::vector<double> mag;
        const auto ref = reference(f, cin, nbr, m, k, w, cout, bias.data(), true, &mag);
        for (size_t i = 0; i < out.size(); ++i) CHECK(std::fabs(out[i] - ref[i]) <= 1e-6 * (1 + mag[i]));
      }
}

TSP3D_TEST(conv, bit_identical_across_thread_counts) {
  Rng rng{11};
  const int64_t n_in = 3000, m = 2500, k = 27, cin = 64, cout = 128;
  std::vector<float> f(n_in * cin), w(k * cin * cout);
  for (auto& v : f) v = rng.uniform();
  for (auto& v : w) v = rng.uniform();
  const auto nbr = random_nbr(rng, m, k, n_in, 0.3f);
  std::vector<float> a(m * cout), b(m * cout);
  const int32_t prev = cpu::set_num_threads(1);
  CHECK_OK(cpu::sparse_conv_f32(f.data(), n_in, cin, nbr.data(), m, k, w.data(), cout, nullptr, 0, a.data(), nullptr));
  for (int32_t t : {2, 3, 7}) {
    cpu::set_num_threads(t);
    CHECK_OK(cpu::sparse_conv_f32(f.data(), n_in, cin, nbr.data(), m, k, w.data(), cout, nullptr, 0, b.data(),
                                  nullptr));
    CHECK(std::memcmp(a.data(), b.data(), a.size() * 4) == 0);
  }
  cpu::set_num_threads(prev);
}

TSP3D_TEST(conv, f16_rounds_once) {
  Rng rng{3};
  const int64_t n_in = 40, m = 30, k = 8, cin = 16, cout = 24;
  std::vector<float> f(n_in * cin), w(k * cin * cout), bias(cout);
  std::vector<uint16_t> fh(f.size()), wh(w.size()), bh(cout);
  for (size_t i = 0; i < f.size(); ++i) f[i] = cpu::half_to_float(fh[i] = cpu::float_to_half(rng.uniform()));
  for (size_t i = 0; i < w.size(); ++i) w[i] = cpu::half_to_float(wh[i] = cpu::float_to_half(rng.uniform()));
  for (size_t i = 0; i < bias.size(); ++i) bias[i] = cpu::half_to_float(bh[i] = cpu::float_to_half(rng.uniform()));
  const auto nbr = random_nbr(rng, m, k, n_in, 0.5f);
  std::vector<uint16_t> out(m * cout);
  CHECK_OK(cpu::sparse_conv_f16(fh.data(), n_in, cin, nbr.data(), m, k, wh.data(), cout, bh.data(), 0, out.data(),
                                nullptr));
  const auto ref = reference(f, cin, nbr, m, k, w, cout, bias.data(), false);
  for (size_t i = 0; i < out.size(); ++i) {
    const float got = cpu::half_to_float(out[i]);
    CHECK(std::fabs(got - ref[i]) <= std::ldexp(1.0, -11) * std::fabs(ref[i]) + 1e-5);  // half an ulp (+ fp32)
  }
}

TSP3D_TEST(conv, int8_exact_accumulation) {
  Rng rng{5};
  const int64_t n_in = 50, m = 40, k = 27, cin = 64, cout = 20;
  std::vector<int8_t> f(n_in * cin), w(k * cin * cout);
  for (auto& v : f) v = static_cast<int8_t>(static_cast<int>(rng.next() % 255) - 127);
  for (auto& v : w) v = static_cast<int8_t>(static_cast<int>(rng.next() % 255) - 127);
  std::vector<float> ws(cout), bias(cout);
  for (auto& v : ws) v = 0.001f + std::fabs(rng.uniform()) * 0.01f;
  for (auto& v : bias) v = rng.uniform();
  const float fs = 0.037f;
  const auto nbr = random_nbr(rng, m, k, n_in, 0.6f);
  std::vector<float> out(m * cout);
  CHECK_OK(cpu::sparse_conv_i8(f.data(), fs, n_in, cin, nbr.data(), m, k, w.data(), ws.data(), cout, bias.data(), 1,
                               out.data(), nullptr));
  for (int64_t o = 0; o < m; ++o)
    for (int64_t c = 0; c < cout; ++c) {
      int64_t acc = 0;
      for (int64_t kk = 0; kk < k; ++kk) {
        const int32_t i = nbr[o * k + kk];
        if (i < 0) continue;
        for (int64_t ci = 0; ci < cin; ++ci) acc += int64_t(f[i * cin + ci]) * w[(kk * cin + ci) * cout + c];
      }
      float v = bias[c] + (fs * ws[c]) * static_cast<float>(acc);
      v = v < 0 ? 0 : v;
      CHECK(std::fabs(out[o * cout + c] - v) <= 1e-6f * (1 + std::fabs(v)));
    }
}

TSP3D_TEST(conv, index_out_of_range_and_shapes) {
  const std::vector<float> f = {1, 2};
  const std::vector<int32_t> nbr = {0, -1, -1, 1};  // row 1, column 1 points past the 1 input row
  const std::vector<float> w = {1, 1};
  std::vector<float> out(2);
  cpu::Diag d;
  CHECK_STATUS(cpu::sparse_conv_f32(f.data(), 1, 2, nbr.data(), 2, 2, w.data(), 1, nullptr, 0, out.data(), &d),
               Status::kIndexOutOfRange);
  CHECK_EQ(d.row, 1);
  CHECK_EQ(d.row2, 1);
  CHECK_EQ(d.value, 1);
  CHECK_STATUS(cpu::sparse_conv_f32(f.data(), 1, 0, nbr.data(), 2, 2, w.data(), 1, nullptr, 0, out.data(), nullptr),
               Status::kInvalidArgument);
  CHECK_STATUS(cpu::sparse_conv_f32(f.data(), 1, 2, nbr.data(), 2, 2, w.data(), 1, nullptr, 5, out.data(), nullptr),
               Status::kInvalidArgument);
}

// ---------------------------------------------------------------- max pool

TSP3D_TEST(pool, max_rules) {
  const float inf = std::numeric_limits<float>::infinity(), nan = std::numeric_limits<float>::quiet_NaN();
  // 3 input rows x 2 channels
  const std::vector<float> f = {1.f, -inf, nan, -inf, 3.f, -2.f};
  const std::vector<int32_t> nbr = {0, 1, 2, /* o1 */ 1, -1, -1, /* o2 */ -1, -1, -1};
  std::vector<float> out(6);
  CHECK_OK(cpu::sparse_max_pool_f32(f.data(), 3, 2, nbr.data(), 3, 3, out.data(), nullptr));
  CHECK(out == (std::vector<float>{3.f, -2.f, 0.f, 0.f, 0.f, 0.f}));  // NaN never wins; only -inf/NaN -> 0
  std::vector<uint16_t> fh(f.size()), oh(6);
  for (size_t i = 0; i < f.size(); ++i) fh[i] = cpu::float_to_half(f[i]);
  CHECK_OK(cpu::sparse_max_pool_f16(fh.data(), 3, 2, nbr.data(), 3, 3, oh.data(), nullptr));
  for (size_t i = 0; i < 6; ++i) CHECK_EQ(cpu::half_to_float(oh[i]), out[i]);
  const std::vector<int32_t> bad = {3, -1, -1};
  cpu::Diag d;
  CHECK_STATUS(cpu::sparse_max_pool_f32(f.data(), 3, 2, bad.data(), 1, 3, out.data(), &d), Status::kIndexOutOfRange);
  CHECK_EQ(d.value, 3);
}
