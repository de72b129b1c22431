// Where the kernels run their parallel loops. Work is split into fixed chunks that write disjoint outputs, so
// results do not depend on the thread count or on which thread ran which chunk (bit-identical run to run).
//
// Two executors: the kernels' own process-wide pool (the C ABI, libtsp3d_cpu.so), or a pool of the caller's
// installed for the current thread with ExternalPoolScope (the ONNX Runtime library runs every chunk on ORT's
// intra-op pool of the running kernel, so sessions share no threads of ours and never wait for each other).
//
// Thread count of the own pool: set_num_threads(n) (C ABI tsp3d_cpu_set_num_threads), else the environment
// variable TSP3D_NUM_THREADS, else all hardware threads. Under an external pool it only sizes the work split.
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

// A caller's pool: run(context, fn, n, data) calls fn(data, i) once for every i in [0, n), on any of its threads
// and in any order, and returns when all calls are done. fn does not throw.
struct ExternalPool {
  void (*run)(void* context, void (*fn)(void* data, int64_t i), int64_t n, void* data);
  void* context;
};

// While alive, parallel_for on this thread (not nested in a chunk) hands its chunks to `pool`. Scoped like
// ThreadOverride; thread-local.
class ExternalPoolScope {
 public:
  explicit ExternalPoolScope(const ExternalPool& pool);
  ~ExternalPoolScope();
  ExternalPoolScope(const ExternalPoolScope&) = delete;
  ExternalPoolScope& operator=(const ExternalPoolScope&) = delete;

 private:
  const ExternalPool* previous_;
  ExternalPool pool_;
};

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
