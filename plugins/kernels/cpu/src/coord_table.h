// A coordinate set indexed by key (open addressing from hash_table.h): the "hash the input set once" of
// KernelMap, Lookup and AppendMissing. Building checks the range and refuses duplicate coordinates.
#pragma once

#include <cstdint>
#include <vector>

#include "tsp3d/coord_key.h"
#include "tsp3d/cpu/kernels.h"
#include "tsp3d/hash_table.h"

namespace tsp3d {
namespace cpu {

// First row (lowest index) of rows [n, 4] outside the coordinate range, or -1.
int64_t first_row_out_of_range(const int32_t* rows, int64_t n);

class CoordTable {
 public:
  // rows [n, 4]. Errors: kCoordOutOfRange (diag.row), kDuplicateCoord (diag.row = the later row, diag.row2 = the
  // earlier one; the first such pair in row order), kInvalidArgument (n >= 2^31). diag.input = input_index.
  Status build(const int32_t* rows, int64_t n, int32_t input_index, Diag* diag);

  int32_t find(int64_t key) const { return n_ ? hash_find(keys_.data(), vals_.data(), cap_, key) : -1; }

  // Row of (b, x, y, z), or -1; a query outside the coordinate range is simply absent.
  int32_t find(int32_t b, int32_t x, int32_t y, int32_t z) const {
    return row_in_range(b, x, y, z) ? find(pack_key(b, x, y, z)) : -1;
  }

  int64_t size() const { return n_; }

 private:
  std::vector<int64_t> keys_;
  std::vector<int32_t> vals_;
  int64_t cap_ = 0;
  int64_t n_ = 0;
};

}  // namespace cpu
}  // namespace tsp3d
