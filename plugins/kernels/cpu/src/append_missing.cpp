// AppendMissing: the rows of b whose site is not in a, ascending (both sets unique).
#include <new>

#include "coord_table.h"
#include "tsp3d/cpu/kernels.h"
#include "tsp3d/cpu/parallel.h"

namespace tsp3d {
namespace cpu {

Status append_missing(const int32_t* coords_a, int64_t na, const int32_t* coords_b, int64_t nb,
                      std::vector<int32_t>* idx_b, Diag* diag) {
  if (na < 0 || nb < 0) return Status::kInvalidArgument;
  CoordTable ta, tb;
  Status st = ta.build(coords_a, na, 0, diag);
  if (st != Status::kOk) return st;
  st = tb.build(coords_b, nb, 1, diag);  // duplicates in b would be appended twice: refuse them
  if (st != Status::kOk) return st;
  try {
    std::vector<uint8_t> missing(static_cast<size_t>(nb));
    parallel_for(nb, 4096, [&](int64_t b, int64_t e) {
      for (int64_t i = b; i < e; ++i) {
        const int32_t* r = coords_b + 4 * i;
        missing[i] = ta.find(pack_key(r[0], r[1], r[2], r[3])) < 0;
      }
    });
    idx_b->clear();
    for (int64_t i = 0; i < nb; ++i)
      if (missing[i]) idx_b->push_back(static_cast<int32_t>(i));
  } catch (const std::bad_alloc&) {
    return Status::kOutOfMemory;
  }
  return Status::kOk;
}

}  // namespace cpu
}  // namespace tsp3d
