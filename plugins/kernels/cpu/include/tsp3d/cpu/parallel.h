// The kernels' own thread pool. Work is split into fixed chunks that write disjoint outputs, so results do not
// depend on the thread count or on which thread ran which chunk (bit-identical run to run).
//
// Thread count: set_num_threads(n) (C ABI tsp3d_cpu_set_num_threads; the ORT library takes it from the session
// config entry "tsp3d.num_threads"), else the environment variable TSP3D_NUM_THREADS, else all hardware threads.
#pragma once

#include <cstdint>
#include <functional>

namespace tsp3d {
namespace cpu {

// 0 = hardware threads. Returns the previous setting (0 when it was the default).
int32_t set_num_threads(int32_t n);
// The thread count parallel_for uses when called with threads = 0 (resolved, >= 1).
int32_t num_threads();

// Runs fn(begin, end) over [0, n) in chunks of `grain` items on up to `threads` threads (0 = num_threads()), the
// caller included. Nested calls (from inside a chunk) run serially. Concurrent callers take turns.
// fn must not throw.
void parallel_for(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& fn, int32_t threads = 0);

// Threads to use for a call that may override the global setting (ORT sessions pass theirs; 0 = global).
// Scoped: restores the previous override on destruction. Thread-local, so concurrent sessions do not interfere.
class ThreadOverride {
 public:
  explicit ThreadOverride(int32_t threads);
  ~ThreadOverride();
  ThreadOverride(const ThreadOverride&) = delete;
  ThreadOverride& operator=(const ThreadOverride&) = delete;

 private:
  int32_t previous_;
};

}  // namespace cpu
}  // namespace tsp3d
