// Sort + unique over candidate keys: the canonical order of every coordinate set an op creates (docs/opset.md).
// The op fills keys_in/vals_in, run_sorted_unique sorts the pairs stably, flags the first of each run of equal
// keys and scans the flags; the op then finalizes (count = number of runs) and scatters with scatter_unique.
#pragma once

#include "cuda_utils.cuh"

namespace tsp3d {
namespace cuda {

struct SortedUnique {
  int n = 0;
  uint64_t* keys_in = nullptr;
  int32_t* vals_in = nullptr;
  uint64_t* keys = nullptr;  // sorted
  int32_t* vals = nullptr;   // permuted with the keys
  int32_t* heads = nullptr;  // 1 at the first element of each run of equal keys
  int32_t* pos = nullptr;    // exclusive scan of heads: output row of each run
  void* sort_temp = nullptr;
  size_t sort_bytes = 0;
  void* scan_temp = nullptr;
  size_t scan_bytes = 0;

  // Carve the buffers (measures only when the carver has no base). Returns a Status.
  int32_t plan(Carver& carver, int64_t count);
  // Sort, flag and scan (keys_in/vals_in filled by the caller on the same stream).
  int32_t run(cudaStream_t stream) const;
  // Count spec for finalize: the number of runs (plus `add`), checked against `bound`.
  CountSpec count_spec(int64_t bound, int64_t* count_out) const;
};

// Keys are packed coordinate rows (< 2^63): sort the low 63 bits.
constexpr int kKeyBits = 63;

// coords_out[pos[i]] = unpack(keys[i]) and first_out[pos[i]] = vals[i] (when first_out is not null) for every
// run head, if *status == 0.
cudaError_t scatter_unique(const SortedUnique& su, const int32_t* status, int32_t* coords_out, int32_t* first_out,
                           cudaStream_t stream);

}  // namespace cuda
}  // namespace tsp3d
