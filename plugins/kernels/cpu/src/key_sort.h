// Sorting of coordinate keys (non-negative int64, see coord_key.h): the canonical order of created sets.
#pragma once

#include <cstdint>
#include <vector>

namespace tsp3d {
namespace cpu {

// Stable LSD radix sort of keys (8-bit digits; digits equal in every key are skipped), carrying `vals` along
// when not null. Stable: equal keys keep their input order, so a payload of ascending row numbers gives the
// lowest row first within each run of equal keys.
void sort_keys(std::vector<int64_t>* keys, std::vector<int32_t>* vals);

// Sort and drop repeated keys.
void sort_unique_keys(std::vector<int64_t>* keys);

}  // namespace cpu
}  // namespace tsp3d
