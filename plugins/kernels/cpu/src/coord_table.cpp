#include "coord_table.h"

#include <algorithm>
#include <atomic>
#include <new>

#include "tsp3d/cpu/parallel.h"

namespace tsp3d {
namespace cpu {
namespace {

constexpr int64_t kGrain = 8192;

void atomic_min(std::atomic<int64_t>* target, int64_t v) {
  int64_t cur = target->load(std::memory_order_relaxed);
  while (v < cur && !target->compare_exchange_weak(cur, v, std::memory_order_relaxed)) {
  }
}

}  // namespace

int64_t first_row_out_of_range(const int32_t* rows, int64_t n) {
  std::atomic<int64_t> bad{INT64_MAX};
  parallel_for(n, kGrain, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) {
      const int32_t* r = rows + 4 * i;
      if (!row_in_range(r[0], r[1], r[2], r[3])) {
        atomic_min(&bad, i);
        return;
      }
    }
  });
  const int64_t v = bad.load();
  return v == INT64_MAX ? -1 : v;
}

Status CoordTable::build(const int32_t* rows, int64_t n, int32_t input_index, Diag* diag) {
  if (n > INT32_MAX) {
    if (diag) diag->input = input_index;
    return Status::kInvalidArgument;
  }
  const int64_t bad = first_row_out_of_range(rows, n);
  if (bad >= 0) {
    if (diag) {
      diag->input = input_index;
      diag->row = bad;
    }
    return Status::kCoordOutOfRange;
  }
  n_ = n;
  cap_ = hash_capacity(n);
  try {
    keys_.assign(static_cast<size_t>(cap_), kEmptyKey);
    vals_.assign(static_cast<size_t>(cap_), -1);
  } catch (const std::bad_alloc&) {
    return Status::kOutOfMemory;
  }
  int64_t* keys = keys_.data();
  int32_t* vals = vals_.data();
  const int64_t cap = cap_;
  auto key_of = [rows](int64_t i) {
    const int32_t* r = rows + 4 * i;
    return pack_key(r[0], r[1], r[2], r[3]);
  };
  // Parallel insert: each slot is claimed by one compare-and-swap. Slot positions may vary with the thread
  // interleaving; what find() returns cannot.
  std::atomic<bool> dup{false};
  parallel_for(n, kGrain, [&](int64_t b, int64_t e) {
    auto claim = [keys](uint64_t slot, int64_t key) {
      int64_t expected = kEmptyKey;
      __atomic_compare_exchange_n(&keys[slot], &expected, key, false, __ATOMIC_RELAXED, __ATOMIC_RELAXED);
      return expected;
    };
    for (int64_t i = b; i < e; ++i) {
      if (!probe_insert(keys, vals, cap, key_of(i), static_cast<int32_t>(i), claim)) dup.store(true);
    }
  });
  if (!dup.load()) return Status::kOk;
  // A duplicate: find the first pair in row order, deterministically (serial, rare path).
  std::fill(keys_.begin(), keys_.end(), kEmptyKey);
  auto plain = [keys](uint64_t slot, int64_t key) {
    const int64_t prev = keys[slot];
    if (prev == kEmptyKey) keys[slot] = key;
    return prev;
  };
  for (int64_t i = 0; i < n; ++i) {
    const int64_t key = key_of(i);
    if (!probe_insert(keys, vals, cap, key, static_cast<int32_t>(i), plain)) {
      if (diag) {
        diag->input = input_index;
        diag->row = i;
        diag->row2 = hash_find(keys, vals, cap, key);
      }
      return Status::kDuplicateCoord;
    }
  }
  return Status::kDuplicateCoord;  // unreachable: the parallel pass saw one
}

}  // namespace cpu
}  // namespace tsp3d
