// Helpers shared by the ops that create coordinate rows: capacity check, key -> row unpacking.
#include "tsp3d/coord_key.h"
#include "tsp3d/cpu/kernels.h"
#include "tsp3d/cpu/parallel.h"

namespace tsp3d {
namespace cpu {

Status check_capacity(int64_t count, int64_t capacity, Diag* diag) {
  if (capacity > 0 && count > capacity) {
    if (diag) diag->count = count;
    return Status::kCapacityExceeded;
  }
  return Status::kOk;
}

void unpack_rows(const int64_t* keys, int64_t m, int32_t* rows) {
  parallel_for(m, 1 << 15, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) unpack_key(keys[i], rows + 4 * i);
  });
}

}  // namespace cpu
}  // namespace tsp3d
