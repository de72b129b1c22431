// Prune (threshold, NaN, min_keep fallback with ties) and the thread pool.
#include <atomic>
#include <cmath>
#include <limits>
#include <vector>

#include "test_runner.h"
#include "tsp3d/cpu/kernels.h"
#include "tsp3d/cpu/parallel.h"

using tsp3d::Status;
namespace cpu = tsp3d::cpu;

TSP3D_TEST(prune, threshold_and_nan) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const std::vector<float> s = {0.1f, 0.5f, nan, 0.2f, 0.9f};
  std::vector<int32_t> idx;
  CHECK_OK(cpu::prune_f32(s.data(), 5, 0.3f, 0, 1, &idx, nullptr));
  CHECK(idx == (std::vector<int32_t>{0, 3}));
  CHECK_OK(cpu::prune_f32(s.data(), 5, 0.3f, 1, 1, &idx, nullptr));
  CHECK(idx == (std::vector<int32_t>{1, 4}));
  CHECK_OK(cpu::prune_f32(s.data(), 5, 0.2f, 0, 0, &idx, nullptr));  // strict: 0.2 does not pass
  CHECK(idx == (std::vector<int32_t>{0}));
}

TSP3D_TEST(prune, min_keep_fallback_ties_and_nan_last) {
  const float nan = std::numeric_limits<float>::quiet_NaN(), inf = std::numeric_limits<float>::infinity();
  const std::vector<float> s = {0.7f, nan, 0.4f, 0.7f, 0.4f, inf};
  std::vector<int32_t> idx;
  // Nothing is below 0.1: the 3 lowest are rows 2, 4 (0.4) and 0 (0.7 ties with 3: the lower row wins).
  CHECK_OK(cpu::prune_f32(s.data(), 6, 0.1f, 0, 3, &idx, nullptr));
  CHECK(idx == (std::vector<int32_t>{0, 2, 4}));
  // Keep-above fallback: the highest are inf (5), then 0.7 (0, 3); NaN ranks after every number.
  CHECK_OK(cpu::prune_f32(s.data(), 6, 10.f, 1, 3, &idx, nullptr));
  CHECK(idx == (std::vector<int32_t>{0, 3, 5}));
  CHECK_OK(cpu::prune_f32(s.data(), 6, 10.f, 1, 6, &idx, nullptr));
  CHECK_EQ(idx.size(), 6u);
  CHECK_OK(cpu::prune_f32(s.data(), 6, 10.f, 1, 100, &idx, nullptr));  // min(min_keep, N)
  CHECK_EQ(idx.size(), 6u);
  CHECK_OK(cpu::prune_f32(s.data(), 0, 10.f, 1, 3, &idx, nullptr));
  CHECK(idx.empty());
  CHECK_STATUS(cpu::prune_f32(s.data(), 6, 0.f, 2, 1, &idx, nullptr), Status::kInvalidArgument);
  CHECK_STATUS(cpu::prune_f32(s.data(), 6, 0.f, 0, -1, &idx, nullptr), Status::kInvalidArgument);
}

TSP3D_TEST(threads, every_index_once) {
  for (int32_t threads : {1, 2, 5}) {
    for (int64_t n : {0, 1, 7, 1000, 100003}) {
      std::vector<std::atomic<int>> hits(static_cast<size_t>(n));
      cpu::parallel_for(n, 97, [&](int64_t b, int64_t e) {
        for (int64_t i = b; i < e; ++i) hits[i].fetch_add(1);
      }, threads);
      for (int64_t i = 0; i < n; ++i) CHECK_EQ(hits[i].load(), 1);
    }
  }
}

TSP3D_TEST(threads, nested_calls_run_serially) {
  std::atomic<int64_t> total{0};
  cpu::parallel_for(8, 1, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i)
      cpu::parallel_for(100, 10, [&](int64_t bb, int64_t ee) { total.fetch_add(ee - bb); }, 4);
  }, 4);
  CHECK_EQ(total.load(), 800);
}

TSP3D_TEST(threads, setting_and_override) {
  const int32_t prev = cpu::set_num_threads(3);
  CHECK_EQ(cpu::num_threads(), 3);
  {
    cpu::ThreadOverride o(2);
    CHECK_EQ(cpu::num_threads(), 2);
  }
  CHECK_EQ(cpu::num_threads(), 3);
  CHECK_EQ(cpu::set_num_threads(prev), 3);
}
