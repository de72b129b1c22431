// Prune (threshold, NaN, min_keep fallback with ties) and the thread pools (own and external).
#include <atomic>
#include <cmath>
#include <limits>
#include <thread>
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

namespace {

// An external pool that runs the chunks on two std::threads of its own and counts the calls it served.
struct TwoThreadPool {
  std::atomic<int64_t> calls{0};
  static void run(void* self, void (*fn)(void*, int64_t), int64_t n, void* data) {
    auto* pool = static_cast<TwoThreadPool*>(self);
    pool->calls.fetch_add(1);
    std::atomic<int64_t> next{0};
    auto work = [&] {
      for (int64_t i; (i = next.fetch_add(1)) < n;) fn(data, i);
    };
    std::thread other(work);
    work();
    other.join();
  }
};

}  // namespace

TSP3D_TEST(threads, external_pool_runs_every_chunk_once) {
  TwoThreadPool pool;
  std::atomic<int64_t> nested{0};
  {
    cpu::ExternalPoolScope scope(cpu::ExternalPool{&TwoThreadPool::run, &pool});
    for (int64_t n : {1, 7, 1000, 100003}) {
      std::vector<std::atomic<int>> hits(static_cast<size_t>(n));
      cpu::parallel_for(n, 97, [&](int64_t b, int64_t e) {
        for (int64_t i = b; i < e; ++i) hits[i].fetch_add(1);
        // a nested loop runs serially inside the chunk, never on the pool again
        cpu::parallel_for(10, 1, [&](int64_t bb, int64_t ee) { nested.fetch_add(ee - bb); }, 4);
      }, 4);
      for (int64_t i = 0; i < n; ++i) CHECK_EQ(hits[i].load(), 1);
    }
  }
  // n = 1000 and 100003 have several chunks (one pool call each); n = 1 and 7 are one chunk run inline, which is
  // not inside a pool job, so its inner loop of 10 chunks goes to the pool (one call each).
  CHECK_EQ(pool.calls.load(), 4);
  CHECK_EQ(nested.load(), 10 * (1 + 1 + 11 + 1031));
  cpu::parallel_for(1000, 10, [&](int64_t, int64_t) {}, 4);  // scope gone: the own pool again
  CHECK_EQ(pool.calls.load(), 4);
}
