// Hand-computed cases: half conversions, Voxelize, CoordsDown/Up, KernelMap (ME offset order), Lookup,
// AppendMissing, with negative coordinates, duplicates, range errors and capacities.
#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "test_runner.h"
#include "tsp3d/coord_key.h"
#include "tsp3d/cpu/half.h"
#include "tsp3d/cpu/kernels.h"

using tsp3d::Status;
namespace cpu = tsp3d::cpu;

namespace {

using Rows = std::vector<int32_t>;

Rows rows_of(const std::vector<int64_t>& keys) {
  Rows r(keys.size() * 4);
  cpu::unpack_rows(keys.data(), static_cast<int64_t>(keys.size()), r.data());
  return r;
}

int64_t n_rows(const Rows& r) { return static_cast<int64_t>(r.size() / 4); }

uint32_t bits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
}

}  // namespace

// ---------------------------------------------------------------- half

TSP3D_TEST(half, known_values) {
  CHECK_EQ(cpu::float_to_half_bits_soft(1.0f), 0x3C00);
  CHECK_EQ(cpu::float_to_half_bits_soft(-2.0f), 0xC000);
  CHECK_EQ(cpu::float_to_half_bits_soft(65504.f), 0x7BFF);
  CHECK_EQ(cpu::float_to_half_bits_soft(65520.f), 0x7C00);       // halfway to 2^16: ties to even = inf
  CHECK_EQ(cpu::float_to_half_bits_soft(65519.99f), 0x7BFF);
  CHECK_EQ(cpu::float_to_half_bits_soft(std::ldexp(1.f, -24)), 0x0001);
  CHECK_EQ(cpu::float_to_half_bits_soft(std::ldexp(1.f, -25)), 0x0000);  // tie to even (0)
  CHECK_EQ(cpu::float_to_half_bits_soft(std::ldexp(3.f, -26)), 0x0001);
  CHECK_EQ(cpu::float_to_half_bits_soft(1.0f + std::ldexp(1.f, -11)), 0x3C00);  // tie to even
  CHECK_EQ(cpu::float_to_half_bits_soft(1.0f + std::ldexp(3.f, -11)), 0x3C02);
  CHECK(std::isnan(cpu::half_bits_to_float_soft(0x7E00)));
  CHECK_EQ(cpu::half_bits_to_float_soft(0x0001), std::ldexp(1.f, -24));
  CHECK_EQ(cpu::half_bits_to_float_soft(0xFC00), -std::numeric_limits<float>::infinity());
}

TSP3D_TEST(half, soft_matches_hardware_path) {
  for (uint32_t h = 0; h < 65536; ++h) {
    const float a = cpu::half_bits_to_float_soft(static_cast<uint16_t>(h));
    const float b = cpu::half_to_float(static_cast<uint16_t>(h));
    if (std::isnan(a) || std::isnan(b)) {
      CHECK(std::isnan(a) && std::isnan(b));
      continue;
    }
    CHECK_EQ(bits(a), bits(b));
    CHECK_EQ(cpu::float_to_half_bits_soft(a), h);  // round trip of every non-NaN half
  }
  uint32_t x = 12345;
  for (int i = 0; i < 300000; ++i) {
    x = x * 1664525u + 1013904223u;
    uint32_t u = (x & 0x8FFFFFFFu) | ((x >> 3 & 0x7u) == 0 ? 0 : 0x30000000u);  // bias toward the half range
    float f;
    std::memcpy(&f, &u, 4);
    if (std::isnan(f)) continue;
    CHECK_EQ(cpu::float_to_half_bits_soft(f), cpu::float_to_half(f));
  }
}

// ---------------------------------------------------------------- voxelize, coords_down, coords_up

TSP3D_TEST(coords, voxelize_lowest_index_and_order) {
  // voxel 1 m; points 0 and 2 share voxel (0,0,0); point 1 is at x = -0.01 -> voxel -1.
  const float pts[] = {0.5f, 0.5f, 0.5f, 7.f, -0.01f, 0.f, 0.f, 8.f, 0.9f, 0.1f, 0.2f, 9.f, 2.f, -3.5f, 1.f, 0.f};
  std::vector<int64_t> keys;
  std::vector<int32_t> first;
  CHECK_OK(cpu::voxelize(pts, 4, 4, 1.0f, 3, &keys, &first, nullptr));
  const Rows r = rows_of(keys);
  CHECK_EQ(n_rows(r), 3);
  const Rows want = {3, -1, 0, 0, 3, 0, 0, 0, 3, 2, -4, 1};
  CHECK(r == want);
  CHECK(first == (std::vector<int32_t>{1, 0, 3}));
}

TSP3D_TEST(coords, voxelize_errors) {
  std::vector<int64_t> keys;
  std::vector<int32_t> first;
  cpu::Diag d;
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const float pts[] = {0.f, 0.f, 0.f, 1.f, 1e6f, 0.f, 0.f, nan, 0.f};
  CHECK_STATUS(cpu::voxelize(pts, 3, 3, 0.01f, 0, &keys, &first, &d), Status::kNonFinitePoint);
  CHECK_EQ(d.row, 2);
  d = cpu::Diag();
  CHECK_STATUS(cpu::voxelize(pts, 2, 3, 0.01f, 0, &keys, &first, &d), Status::kCoordOutOfRange);
  CHECK_EQ(d.row, 1);
  CHECK_STATUS(cpu::voxelize(pts, 0, 3, 0.01f, 0, &keys, &first, nullptr), Status::kInvalidArgument);
  CHECK_STATUS(cpu::voxelize(pts, 1, 3, 0.f, 0, &keys, &first, nullptr), Status::kInvalidArgument);
  CHECK_STATUS(cpu::voxelize(pts, 1, 3, 0.01f, 40000, &keys, &first, nullptr), Status::kInvalidArgument);
}

TSP3D_TEST(coords, coords_down_floor_of_negatives) {
  const Rows in = {0, -1, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, -3, 5, 2};
  std::vector<int64_t> keys;
  CHECK_OK(cpu::coords_down(in.data(), 4, 1, &keys, nullptr));
  const Rows want = {0, -2, 0, 0, 0, 0, 0, 0, 1, -4, 4, 2};
  CHECK(rows_of(keys) == want);
  // stride 2: sites at multiples of 4; a row off the stride is an error naming the row.
  const Rows in2 = {0, -2, 2, 6, 0, 4, 3, 0};
  cpu::Diag d;
  CHECK_STATUS(cpu::coords_down(in2.data(), 2, 2, &keys, &d), Status::kNotOnStride);
  CHECK_EQ(d.row, 1);
  CHECK_OK(cpu::coords_down(in2.data(), 1, 2, &keys, nullptr));
  CHECK(rows_of(keys) == (Rows{0, -4, 0, 4}));
  const Rows bad = {0, 0, 0, 0, -1, 0, 0, 0};
  d = cpu::Diag();
  CHECK_STATUS(cpu::coords_down(bad.data(), 2, 1, &keys, &d), Status::kCoordOutOfRange);
  CHECK_EQ(d.row, 1);
}

TSP3D_TEST(coords, coords_up_union_and_range) {
  const Rows one = {0, 0, 0, 0};
  std::vector<int64_t> keys;
  CHECK_OK(cpu::coords_up(one.data(), 1, 2, &keys, nullptr));
  CHECK_EQ(keys.size(), 27u);
  const Rows r = rows_of(keys);
  CHECK(std::vector<int32_t>(r.begin(), r.begin() + 4) == (Rows{0, -1, -1, -1}));  // sorted by x, y, z
  CHECK(std::vector<int32_t>(r.end() - 4, r.end()) == (Rows{0, 1, 1, 1}));
  const Rows two = {0, 0, 0, 0, 0, 2, 0, 0};
  CHECK_OK(cpu::coords_up(two.data(), 2, 2, &keys, nullptr));
  CHECK_EQ(keys.size(), 45u);  // 27 + 27 - the 9 sites at x = 1
  const Rows edge = {0, -32768, 0, 0};
  cpu::Diag d;
  CHECK_STATUS(cpu::coords_up(edge.data(), 1, 2, &keys, &d), Status::kCoordOutOfRange);
  CHECK_STATUS(cpu::coords_up(one.data(), 1, 3, &keys, nullptr), Status::kInvalidArgument);
  CHECK_STATUS(cpu::coords_up(one.data(), 1, 1, &keys, nullptr), Status::kInvalidArgument);
}

TSP3D_TEST(coords, capacity) {
  cpu::Diag d;
  CHECK_STATUS(cpu::check_capacity(5, 4, &d), Status::kCapacityExceeded);
  CHECK_EQ(d.count, 5);
  CHECK_OK(cpu::check_capacity(5, 5, nullptr));
  CHECK_OK(cpu::check_capacity(5, 0, nullptr));  // 0 = the natural bound
}

// ---------------------------------------------------------------- kernel map

TSP3D_TEST(kernel_map, me_offset_order_k3) {
  const Rows out = {0, 0, 0, 0};
  const Rows in = {0, 1, 0, 0};  // at o + (1, 0, 0)
  std::vector<int32_t> nbr(27);
  CHECK_OK(cpu::kernel_map(in.data(), 1, out.data(), 1, 3, 1, false, nbr.data(), nullptr));
  for (int k = 0; k < 27; ++k) CHECK_EQ(nbr[k], k == 14 ? 0 : -1);  // (dx+1) + 3(dy+1) + 9(dz+1) = 2 + 3 + 9
  CHECK_OK(cpu::kernel_map(in.data(), 1, out.data(), 1, 3, 1, true, nbr.data(), nullptr));
  for (int k = 0; k < 27; ++k) CHECK_EQ(nbr[k], k == 12 ? 0 : -1);  // transposed reads o - d: d = (-1, 0, 0)
  const Rows in_neg = {0, -2, -2, -2};  // offset stride 2, d = (-1, -1, -1) -> k = 0
  CHECK_OK(cpu::kernel_map(in_neg.data(), 1, out.data(), 1, 3, 2, false, nbr.data(), nullptr));
  for (int k = 0; k < 27; ++k) CHECK_EQ(nbr[k], k == 0 ? 0 : -1);
}

TSP3D_TEST(kernel_map, even_and_unit_kernels) {
  const Rows out = {0, 0, 0, 0, 0, 4, 0, 0};
  const Rows in = {0, 2, 2, 0, 0, 0, 0, 0, 0, 4, 0, 2};  // o0 + (1,1,0)*2 -> k = 1 + 2 = 3; o1 + (0,0,1)*2 -> 4
  std::vector<int32_t> nbr(16);
  CHECK_OK(cpu::kernel_map(in.data(), 3, out.data(), 2, 2, 2, false, nbr.data(), nullptr));
  const std::vector<int32_t> want = {1, -1, -1, 0, -1, -1, -1, -1, -1, -1, -1, -1, 2, -1, -1, -1};
  CHECK(nbr == want);
  std::vector<int32_t> one(2);
  CHECK_OK(cpu::kernel_map(in.data(), 3, out.data(), 2, 1, 2, false, one.data(), nullptr));
  CHECK(one == (std::vector<int32_t>{1, -1}));
}

TSP3D_TEST(kernel_map, batches_edges_duplicates) {
  const Rows out = {0, 0, 0, 0, 0, 32767, 0, 0};
  const Rows in = {1, 0, 0, 0, 0, 32767, 0, 0};  // batch 1 is invisible to batch 0
  std::vector<int32_t> nbr(54);
  CHECK_OK(cpu::kernel_map(in.data(), 2, out.data(), 2, 3, 1, false, nbr.data(), nullptr));
  for (int k = 0; k < 27; ++k) CHECK_EQ(nbr[k], -1);
  for (int k = 0; k < 27; ++k) CHECK_EQ(nbr[27 + k], k == 13 ? 1 : -1);  // x + 1 leaves the range: absent
  const Rows dup = {0, 1, 2, 3, 0, 5, 5, 5, 0, 1, 2, 3};
  cpu::Diag d;
  CHECK_STATUS(cpu::kernel_map(dup.data(), 3, out.data(), 2, 3, 1, false, nbr.data(), &d), Status::kDuplicateCoord);
  CHECK_EQ(d.input, 0);
  CHECK_EQ(d.row, 2);
  CHECK_EQ(d.row2, 0);
  const Rows bad_out = {0, 0, 0, 40000};
  d = cpu::Diag();
  CHECK_STATUS(cpu::kernel_map(in.data(), 2, bad_out.data(), 1, 3, 1, false, nbr.data(), &d),
               Status::kCoordOutOfRange);
  CHECK_EQ(d.input, 1);
  CHECK_STATUS(cpu::kernel_map(in.data(), 2, out.data(), 2, 4, 1, false, nbr.data(), nullptr),
               Status::kInvalidArgument);
}

// ---------------------------------------------------------------- lookup, append

TSP3D_TEST(lookup, found_missing_errors) {
  const Rows table = {0, -5, 3, 2, 0, 0, 0, 0, 2, -5, 3, 2};
  const Rows query = {2, -5, 3, 2, 0, 0, 0, 1, 0, -5, 3, 2, 1, -5, 3, 2};
  std::vector<int32_t> idx(4);
  CHECK_OK(cpu::lookup(query.data(), 4, table.data(), 3, idx.data(), nullptr));
  CHECK(idx == (std::vector<int32_t>{2, -1, 0, -1}));
  CHECK_OK(cpu::lookup(query.data(), 4, table.data(), 0, idx.data(), nullptr));  // empty table
  CHECK(idx == (std::vector<int32_t>{-1, -1, -1, -1}));
  const Rows dup = {0, 1, 1, 1, 0, 1, 1, 1};
  cpu::Diag d;
  CHECK_STATUS(cpu::lookup(query.data(), 4, dup.data(), 2, idx.data(), &d), Status::kDuplicateCoord);
  CHECK_EQ(d.input, 1);
  const Rows bad_q = {0, 0, 0, 0, -1, 0, 0, 0};
  d = cpu::Diag();
  CHECK_STATUS(cpu::lookup(bad_q.data(), 2, table.data(), 3, idx.data(), &d), Status::kCoordOutOfRange);
  CHECK_EQ(d.input, 0);
  CHECK_EQ(d.row, 1);
}

TSP3D_TEST(append, missing_rows_in_order) {
  const Rows a = {0, 0, 0, 0, 0, 1, 0, 0};
  const Rows b = {0, 1, 0, 0, 0, -5, 2, 3, 0, 0, 0, 0, 0, 7, 7, 7};
  std::vector<int32_t> idx;
  CHECK_OK(cpu::append_missing(a.data(), 2, b.data(), 4, &idx, nullptr));
  CHECK(idx == (std::vector<int32_t>{1, 3}));
  CHECK_OK(cpu::append_missing(a.data(), 0, b.data(), 4, &idx, nullptr));
  CHECK(idx == (std::vector<int32_t>{0, 1, 2, 3}));
  const Rows dup_b = {0, 9, 9, 9, 0, 9, 9, 9};
  cpu::Diag d;
  CHECK_STATUS(cpu::append_missing(a.data(), 2, dup_b.data(), 2, &idx, &d), Status::kDuplicateCoord);
  CHECK_EQ(d.input, 1);
  CHECK_EQ(d.row, 1);
}
