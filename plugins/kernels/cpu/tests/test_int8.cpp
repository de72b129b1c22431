// SparseConvInt8 on every code path this CPU has (portable always; AVX2 and AVX512-VNNI where present): the int32
// accumulators must be bit-identical across paths and equal to an int64 reference, including inputs at the
// bounds where a naive vpmaddubsw form saturates and where the offset (w + 128) form of VNNI wraps.
#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "test_runner.h"
#include "tsp3d/cpu/kernels.h"
#include "tsp3d/cpu/parallel.h"
#include "tsp3d/int8_math.h"

using tsp3d::Status;
namespace cpu = tsp3d::cpu;
using cpu::Int8Path;

namespace {

using tsp3d_test::Rng;

struct Case {
  int64_t n_in, cin, n_out, k, cout;
  std::vector<int8_t> f, w;
  std::vector<int32_t> nbr;
};

Case random_case(Rng& rng, int64_t cin, int64_t cout, int64_t k, int w_lo = -127, int64_t n_in = 41,
                 int64_t n_out = 37) {
  Case c{n_in, cin, n_out, k, cout, {}, {}, {}};
  c.f.resize(c.n_in * cin);
  c.w.resize(k * cin * cout);
  c.nbr.resize(c.n_out * k);
  for (auto& v : c.f) v = rng.byte(-128, 127);  // QuantizeLinear output: the full int8 range
  for (auto& v : c.w) v = rng.byte(w_lo, 127);
  for (auto& v : c.nbr) v = (rng.next() % 10) < 6 ? static_cast<int32_t>(rng.next() % c.n_in) : -1;
  return c;
}

std::vector<int64_t> reference(const Case& c) {
  std::vector<int64_t> acc(c.n_out * c.cout, 0);
  for (int64_t o = 0; o < c.n_out; ++o)
    for (int64_t kk = 0; kk < c.k; ++kk) {
      const int32_t i = c.nbr[o * c.k + kk];
      if (i < 0) continue;
      for (int64_t ci = 0; ci < c.cin; ++ci)
        for (int64_t co = 0; co < c.cout; ++co)
          acc[o * c.cout + co] += int64_t(c.f[i * c.cin + ci]) * c.w[(kk * c.cin + ci) * c.cout + co];
    }
  return acc;
}

std::vector<Int8Path> available_paths() {
  std::vector<Int8Path> out;
  for (Int8Path p : {Int8Path::kPortable, Int8Path::kAvx2, Int8Path::kAvx512Vnni})
    if (cpu::int8_path_available(p)) out.push_back(p);
  return out;
}

// acc of `c` on path p (forced), or an empty vector on a failed call.
std::vector<int32_t> run_on(Int8Path p, const Case& c) {
  std::vector<int32_t> acc(c.n_out * c.cout);
  if (cpu::set_int8_path(p) != Status::kOk) return {};
  const Status st = cpu::sparse_conv_i8_acc(c.f.data(), c.n_in, c.cin, c.nbr.data(), c.n_out, c.k, c.w.data(),
                                            c.cout, acc.data(), nullptr);
  cpu::set_int8_path(Int8Path::kAuto);
  if (st != Status::kOk) acc.clear();
  return acc;
}

// Every available path gives exactly the reference (and so the same bits as every other path).
bool all_paths_exact(const Case& c) {
  const auto ref = reference(c);
  for (Int8Path p : available_paths()) {
    const auto acc = run_on(p, c);
    if (acc.size() != ref.size()) return false;
    for (size_t i = 0; i < acc.size(); ++i)
      if (int64_t(acc[i]) != ref[i]) {
        std::fprintf(stderr, "  path %s: acc[%zu] = %d, expected %lld\n", cpu::int8_path_name(p), i, acc[i],
                     static_cast<long long>(ref[i]));
        return false;
      }
  }
  return true;
}

}  // namespace

TSP3D_TEST(int8, paths_and_dispatch) {
  CHECK(cpu::int8_path_available(Int8Path::kPortable));
  const Int8Path best = cpu::int8_path();
  CHECK(best != Int8Path::kAuto);
  CHECK(cpu::int8_path_available(best));
  std::printf("  int8 paths here:");
  for (Int8Path p : available_paths()) std::printf(" %s", cpu::int8_path_name(p));
  std::printf(" (auto picks %s)\n", cpu::int8_path_name(best));
  Int8Path parsed;
  CHECK(cpu::parse_int8_path("avx2", &parsed) && parsed == Int8Path::kAvx2);
  CHECK(!cpu::parse_int8_path("sse", &parsed));
  CHECK_OK(cpu::set_int8_path(Int8Path::kPortable));
  CHECK(cpu::int8_path() == Int8Path::kPortable);
  CHECK_OK(cpu::set_int8_path(Int8Path::kAuto));
  CHECK(cpu::int8_path() == best);
}

TSP3D_TEST(int8, bit_identical_across_paths_on_a_grid) {
  Rng rng{17};
  for (int64_t cin : {1, 3, 4, 5, 16, 17, 64, 128})
    for (int64_t cout : {1, 5, 16, 17, 64, 80, 128})
      for (int64_t k : {1, 8, 27}) CHECK(all_paths_exact(random_case(rng, cin, cout, k)));
}

// vpmaddubsw adds two u8 x s8 products into an int16 with saturation. With the feature as the unsigned operand
// (x + 128), a pair of features -128 -> 0 is fine but features 127 -> 255 against weights 127 give
// 2 * 255 * 127 = 64770: the naive form clips. These inputs drive every pair of the exact form to its bound
// (|x| = 128, |w| = 127, same signs: 32512) and the naive form far past 32767; the AVX2 path must stay exact.
TSP3D_TEST(int8, avx2_pairs_at_the_saturation_bound) {
  Rng rng{23};
  Case c = random_case(rng, 64, 48, 27);
  for (int64_t i = 0; i < c.n_in; ++i)
    for (int64_t ci = 0; ci < c.cin; ++ci) c.f[i * c.cin + ci] = (i % 2) ? 127 : -128;
  for (size_t j = 0; j < c.w.size(); ++j) c.w[j] = (j % 3 == 0) ? 127 : -127;
  // The naive u8 form (x + 128) x w would saturate on these inputs: show that it is the regime being tested.
  int64_t naive_max = 0;
  for (int32_t x : {-128, 127})
    for (int32_t w : {-127, 127}) naive_max = std::max<int64_t>(naive_max, std::abs(2 * (x + 128) * w));
  CHECK(naive_max > 32767);
  CHECK(all_paths_exact(c));
  for (auto& w : c.w) w = -127;  // every pair with x = -128 at exactly +32512
  CHECK(all_paths_exact(c));
}

// A weight of -128 has no int8 negation: the AVX2 path hands such weights to the portable kernel; VNNI takes
// them as the unsigned byte 0. Both exact.
TSP3D_TEST(int8, weights_of_minus_128) {
  Rng rng{29};
  Case c = random_case(rng, 32, 40, 8, -128);
  c.w[5] = -128;
  CHECK(all_paths_exact(c));
  for (auto& v : c.f) v = -128;
  for (auto& v : c.w) v = -128;
  CHECK(all_paths_exact(c));
}

// The largest reduction the op allows (K * Cin = kInt8MaxReduction): the true sums are within int32, the biased
// VNNI sums (w + 128) * x are not and wrap; the compensation must undo the wrap exactly.
TSP3D_TEST(int8, extreme_sums_at_the_reduction_bound) {
  const int64_t cin = tsp3d::kInt8MaxReduction;
  for (int8_t fv : {int8_t(-128), int8_t(127)})
    for (int8_t wv : {int8_t(-128), int8_t(127), int8_t(-127)}) {
      Case c{2, cin, 2, 1, 3, std::vector<int8_t>(2 * cin, fv), std::vector<int8_t>(cin * 3, wv), {0, 1}};
      CHECK(all_paths_exact(c));
    }
  std::vector<int8_t> f(cin + 1, 1), w((cin + 1) * 2, 1);
  const std::vector<int32_t> nbr = {0};
  std::vector<int32_t> acc(2);
  CHECK_STATUS(cpu::sparse_conv_i8_acc(f.data(), 1, cin + 1, nbr.data(), 1, 1, w.data(), 2, acc.data(), nullptr),
               Status::kInvalidArgument);
}

TSP3D_TEST(int8, same_bits_for_any_thread_count) {
  Rng rng{31};
  const Case c = random_case(rng, 64, 128, 27, -127, 3000, 2500);
  const int32_t prev = cpu::set_num_threads(1);
  for (Int8Path p : available_paths()) {
    cpu::set_num_threads(1);
    const auto one = run_on(p, c);
    cpu::set_num_threads(3);
    const auto three = run_on(p, c);
    CHECK(!one.empty() && one == three);
  }
  cpu::set_num_threads(prev);
}
