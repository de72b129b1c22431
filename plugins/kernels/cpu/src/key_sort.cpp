#include "key_sort.h"

#include <algorithm>
#include <array>

namespace tsp3d {
namespace cpu {

void sort_keys(std::vector<int64_t>* keys, std::vector<int32_t>* vals) {
  const size_t n = keys->size();
  if (n < 2) return;
  constexpr int kDigits = 8;
  std::array<std::array<size_t, 256>, kDigits> hist{};
  for (const int64_t k : *keys) {
    const uint64_t u = static_cast<uint64_t>(k);
    for (int d = 0; d < kDigits; ++d) ++hist[d][(u >> (8 * d)) & 0xFF];
  }
  std::vector<int64_t> tmp_keys(n);
  std::vector<int32_t> tmp_vals(vals ? n : 0);
  const uint64_t first = static_cast<uint64_t>((*keys)[0]);
  for (int d = 0; d < kDigits; ++d) {
    const int shift = 8 * d;
    if (hist[d][(first >> shift) & 0xFF] == n) continue;  // every key has this digit: the pass would not move
    std::array<size_t, 256> pos;
    size_t sum = 0;
    for (int b = 0; b < 256; ++b) {
      pos[b] = sum;
      sum += hist[d][b];
    }
    const int64_t* src = keys->data();
    for (size_t i = 0; i < n; ++i) {
      const size_t p = pos[(static_cast<uint64_t>(src[i]) >> shift) & 0xFF]++;
      tmp_keys[p] = src[i];
      if (vals) tmp_vals[p] = (*vals)[i];
    }
    keys->swap(tmp_keys);
    if (vals) vals->swap(tmp_vals);
  }
}

void sort_unique_keys(std::vector<int64_t>* keys) {
  sort_keys(keys, nullptr);
  keys->erase(std::unique(keys->begin(), keys->end()), keys->end());
}

}  // namespace cpu
}  // namespace tsp3d
