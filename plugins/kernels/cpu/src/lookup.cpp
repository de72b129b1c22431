// Lookup: the row of the table equal to each query, or -1.
#include "coord_table.h"
#include "tsp3d/cpu/kernels.h"
#include "tsp3d/cpu/parallel.h"

namespace tsp3d {
namespace cpu {

Status lookup(const int32_t* query, int64_t q, const int32_t* table, int64_t n, int32_t* idx, Diag* diag) {
  if (q < 0 || n < 0) return Status::kInvalidArgument;
  const int64_t bad = first_row_out_of_range(query, q);
  if (bad >= 0) {
    if (diag) {
      diag->input = 0;
      diag->row = bad;
    }
    return Status::kCoordOutOfRange;
  }
  CoordTable t;
  Status st = t.build(table, n, 1, diag);
  if (st != Status::kOk) return st;
  parallel_for(q, 4096, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) {
      const int32_t* r = query + 4 * i;
      idx[i] = t.find(pack_key(r[0], r[1], r[2], r[3]));
    }
  });
  return Status::kOk;
}

}  // namespace cpu
}  // namespace tsp3d
