// A persistent pool of worker threads serving one job at a time. A job is a range split into chunks that the
// workers and the calling thread claim with an atomic counter (dynamic scheduling: which thread runs a chunk
// varies, what each chunk computes does not).
#include "tsp3d/cpu/parallel.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <mutex>
#include <thread>
#include <vector>

#if defined(__unix__) || defined(__APPLE__)
#include <pthread.h>
#endif

namespace tsp3d {
namespace cpu {
namespace {

int32_t hardware_threads() {
  const unsigned n = std::thread::hardware_concurrency();
  return n == 0 ? 1 : static_cast<int32_t>(n);
}

int32_t env_threads() {
  const char* s = std::getenv("TSP3D_NUM_THREADS");
  if (s == nullptr || *s == '\0') return 0;
  char* end = nullptr;
  const long v = std::strtol(s, &end, 10);
  return (end != s && *end == '\0' && v > 0 && v <= 1024) ? static_cast<int32_t>(v) : 0;
}

std::atomic<int32_t> g_setting{-1};  // -1: not read yet; 0: default; > 0: explicit
thread_local int32_t t_override = 0;
thread_local bool t_inside_job = false;
thread_local const ExternalPool* t_external = nullptr;

// One parallel_for on an external pool: chunk i of `grain` items; chunks run nested calls serially.
struct ExternalJob {
  const std::function<void(int64_t, int64_t)>* fn;
  int64_t n, grain;

  static void run_chunk(void* data, int64_t i) {
    const auto* job = static_cast<const ExternalJob*>(data);
    const bool outer = t_inside_job;
    t_inside_job = true;
    const int64_t b = i * job->grain;
    (*job->fn)(b, std::min(job->n, b + job->grain));
    t_inside_job = outer;
  }
};

class Pool;
Pool* g_pool = nullptr;  // never destroyed: workers may outlive static destruction order
std::once_flag g_pool_once;

class Pool {
 public:
  static Pool& get() {
    std::call_once(g_pool_once, [] {
      g_pool = new Pool();
#if defined(__unix__) || defined(__APPLE__)
      // A forked child has none of the workers (and maybe a locked mutex): give it a fresh pool.
      pthread_atfork(nullptr, nullptr, [] { g_pool = new Pool(); });
#endif
    });
    return *g_pool;
  }

  void run(int64_t n_chunks, int32_t threads, const std::function<void(int64_t)>& chunk) {
    std::lock_guard<std::mutex> job_lock(job_mutex_);  // one job at a time
    ensure_workers(threads - 1);
    {
      std::lock_guard<std::mutex> lk(mutex_);
      chunk_ = &chunk;
      n_chunks_ = n_chunks;
      next_.store(0);
      done_ = 0;
      active_ = std::min<int64_t>(threads - 1, n_chunks - 1);
      joined_ = 0;
      ++generation_;
    }
    cv_work_.notify_all();
    work();
    std::unique_lock<std::mutex> lk(mutex_);
    cv_done_.wait(lk, [&] { return done_ == n_chunks_ && joined_ == active_; });
    chunk_ = nullptr;
  }

 private:
  void ensure_workers(int32_t n) {
    while (static_cast<int32_t>(workers_.size()) < n) {
      const int32_t id = static_cast<int32_t>(workers_.size());
      workers_.emplace_back([this, id] { loop(id); });
      workers_.back().detach();
    }
  }

  // Claim and run chunks until none are left.
  void work() {
    int64_t ran = 0;
    for (;;) {
      const int64_t i = next_.fetch_add(1);
      if (i >= n_chunks_) break;
      (*chunk_)(i);
      ++ran;
    }
    if (ran) {
      std::lock_guard<std::mutex> lk(mutex_);
      done_ += ran;
    }
  }

  void loop(int32_t id) {
    t_inside_job = true;
    uint64_t seen = 0;
    for (;;) {
      {
        std::unique_lock<std::mutex> lk(mutex_);
        cv_work_.wait(lk, [&] { return generation_ != seen && id < active_; });
        seen = generation_;
      }
      work();
      {
        std::lock_guard<std::mutex> lk(mutex_);
        ++joined_;
      }
      cv_done_.notify_one();
    }
  }

  std::mutex job_mutex_;
  std::mutex mutex_;
  std::condition_variable cv_work_, cv_done_;
  std::vector<std::thread> workers_;
  const std::function<void(int64_t)>* chunk_ = nullptr;
  int64_t n_chunks_ = 0;
  std::atomic<int64_t> next_{0};
  int64_t done_ = 0;
  int64_t active_ = 0;  // workers taking part in the current job (ids 0..active_-1)
  int64_t joined_ = 0;  // of those, how many have finished
  uint64_t generation_ = 0;
};

}  // namespace

int32_t set_num_threads(int32_t n) {
  const int32_t prev = g_setting.exchange(n < 0 ? 0 : n);
  return prev < 0 ? 0 : prev;
}

int32_t num_threads() {
  if (t_override > 0) return t_override;
  int32_t s = g_setting.load();
  if (s < 0) {
    int32_t expected = -1;
    g_setting.compare_exchange_strong(expected, env_threads());
    s = g_setting.load();
  }
  return s > 0 ? s : hardware_threads();
}

ThreadOverride::ThreadOverride(int32_t threads) : previous_(t_override) {
  if (threads > 0) t_override = threads;
}

ThreadOverride::~ThreadOverride() { t_override = previous_; }

ExternalPoolScope::ExternalPoolScope(const ExternalPool& pool) : previous_(t_external), pool_(pool) {
  t_external = &pool_;
}

ExternalPoolScope::~ExternalPoolScope() { t_external = previous_; }

void parallel_for(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& fn, int32_t threads) {
  if (n <= 0) return;
  grain = std::max<int64_t>(grain, 1);
  const int64_t n_chunks = (n + grain - 1) / grain;
  if (threads <= 0) threads = num_threads();
  if (threads <= 1 || n_chunks <= 1 || t_inside_job) {
    fn(0, n);
    return;
  }
  if (t_external != nullptr) {
    ExternalJob job{&fn, n, grain};
    t_external->run(t_external->context, &ExternalJob::run_chunk, n_chunks, &job);
    return;
  }
  const std::function<void(int64_t)> chunk = [&](int64_t i) {
    const int64_t b = i * grain;
    fn(b, std::min(n, b + grain));
  };
  t_inside_job = true;
  Pool::get().run(n_chunks, threads, chunk);
  t_inside_job = false;
}

}  // namespace cpu
}  // namespace tsp3d
