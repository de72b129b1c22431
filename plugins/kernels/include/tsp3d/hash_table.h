// Open-addressing hash table from coordinate keys to row indices (linear probing, power-of-two capacity, at
// most half full). The probe sequence and the lookup are shared; insertion differs only in how a slot is claimed
// (plain store on the CPU, atomicCAS on the GPU), so both sides call probe_insert with their own claim function.
#pragma once

#include "tsp3d/coord_key.h"

namespace tsp3d {

// splitmix64 finaliser: cheap and mixes the packed fields well.
TSP3D_HD uint64_t hash_key(int64_t key) {
  uint64_t z = static_cast<uint64_t>(key) + 0x9E3779B97F4A7C15ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

// Smallest power of two >= 2 * n (and >= 16): load factor <= 0.5 keeps probe chains short.
TSP3D_HD int64_t hash_capacity(int64_t n) {
  int64_t cap = 16;
  while (cap < 2 * n) cap <<= 1;
  return cap;
}

// Row of `key`, or -1. `keys` holds kEmptyKey in free slots.
TSP3D_HD int32_t hash_find(const int64_t* keys, const int32_t* vals, int64_t capacity, int64_t key) {
  const uint64_t mask = static_cast<uint64_t>(capacity - 1);
  uint64_t slot = hash_key(key) & mask;
  for (int64_t i = 0; i < capacity; ++i) {
    const int64_t k = keys[slot];
    if (k == key) return vals[slot];
    if (k == kEmptyKey) return -1;
    slot = (slot + 1) & mask;
  }
  return -1;
}

// Insert key -> val. `claim(slot, key)` atomically replaces kEmptyKey by `key` in keys[slot] and returns the
// previous content. Returns false when the key was already present (a duplicate coordinate).
template <typename Claim>
TSP3D_HD bool probe_insert(int64_t* keys, int32_t* vals, int64_t capacity, int64_t key, int32_t val, Claim claim) {
  const uint64_t mask = static_cast<uint64_t>(capacity - 1);
  uint64_t slot = hash_key(key) & mask;
  for (int64_t i = 0; i < capacity; ++i) {
    const int64_t prev = claim(slot, key);
    if (prev == kEmptyKey) {
      vals[slot] = val;
      return true;
    }
    if (prev == key) return false;
    slot = (slot + 1) & mask;
  }
  return false;  // unreachable at load factor <= 0.5
}

}  // namespace tsp3d
