// C++ API of the CPU kernels (namespace tsp3d::cpu). The C ABI (c_api.h, libtsp3d_cpu.so) and the ONNX Runtime
// ops (libtsp3d_ort.so) both call these functions. Semantics: docs/opset.md; reference: tsp3d/sparse/*.py.
//
// Conventions
//  * Row-major contiguous buffers; coordinates are int32 rows (batch, x, y, z).
//  * Coordinate sets an op creates come back as sorted unique 64-bit keys (the canonical order); unpack_rows
//    writes them as rows. Data-dependent index outputs come back in std::vector; the caller checks the capacity.
//  * Every function returns a Status. On an error `diag` (optional) says where: the first offending row, in
//    input order, so the message is the same on every run and thread count.
//  * No function throws; an allocation failure is Status::kOutOfMemory.
#pragma once

#include <cstdint>
#include <vector>

#include "tsp3d/common.h"

namespace tsp3d {
namespace cpu {

// Where an error is. Fields that do not apply stay -1.
struct Diag {
  int64_t count = -1;  // kCapacityExceeded: the rows the output needs
  int32_t input = -1;  // index of the input that holds the offending row (op input order)
  int64_t row = -1;    // first offending row of that input (for kIndexOutOfRange: the output row of `nbr`)
  int64_t row2 = -1;   // kDuplicateCoord: the earlier row with the same coordinate; kIndexOutOfRange: the column
  int64_t value = 0;   // kIndexOutOfRange: the bad index; kCoordOutOfRange on created rows: the offending value
};

// capacity <= 0 means the natural bound (always met); otherwise count > capacity is kCapacityExceeded.
Status check_capacity(int64_t count, int64_t capacity, Diag* diag);

void unpack_rows(const int64_t* keys, int64_t m, int32_t* rows);

// --- coordinates and rulebooks
Status voxelize(const float* points, int64_t n, int64_t dim, float voxel_size, int32_t batch,
                std::vector<int64_t>* keys, std::vector<int32_t>* first, Diag* diag);
Status coords_down(const int32_t* coords, int64_t n, int32_t stride, std::vector<int64_t>* keys, Diag* diag);
Status coords_up(const int32_t* coords, int64_t n, int32_t stride, std::vector<int64_t>* keys, Diag* diag);
// nbr: [n_out, kernel_size^3], written in full.
Status kernel_map(const int32_t* in_coords, int64_t n_in, const int32_t* out_coords, int64_t n_out,
                  int32_t kernel_size, int32_t offset_stride, bool transposed, int32_t* nbr, Diag* diag);

// --- rulebook application. bias may be null. out: [n_out, cout].
Status sparse_conv_f32(const float* feats, int64_t n_in, int64_t cin, const int32_t* nbr, int64_t n_out, int64_t k,
                       const float* weight, int64_t cout, const float* bias, int32_t activation, float* out,
                       Diag* diag);
// IEEE binary16 bit patterns in and out, float32 accumulation, one rounding at the end.
Status sparse_conv_f16(const uint16_t* feats, int64_t n_in, int64_t cin, const int32_t* nbr, int64_t n_out,
                       int64_t k, const uint16_t* weight, int64_t cout, const uint16_t* bias, int32_t activation,
                       uint16_t* out, Diag* diag);
Status sparse_conv_i8(const int8_t* feats, float feats_scale, int64_t n_in, int64_t cin, const int32_t* nbr,
                      int64_t n_out, int64_t k, const int8_t* weight, const float* weight_scale, int64_t cout,
                      const float* bias, int32_t activation, float* out, Diag* diag);
Status sparse_max_pool_f32(const float* feats, int64_t n_in, int64_t c, const int32_t* nbr, int64_t n_out, int64_t k,
                           float* out, Diag* diag);
Status sparse_max_pool_f16(const uint16_t* feats, int64_t n_in, int64_t c, const int32_t* nbr, int64_t n_out,
                           int64_t k, uint16_t* out, Diag* diag);

// --- lookup, pruning, completion
Status lookup(const int32_t* query, int64_t q, const int32_t* table, int64_t n, int32_t* idx, Diag* diag);
Status prune_f32(const float* scores, int64_t n, float threshold, int32_t mode, int64_t min_keep,
                 std::vector<int32_t>* idx, Diag* diag);
Status prune_f16(const uint16_t* scores, int64_t n, float threshold, int32_t mode, int64_t min_keep,
                 std::vector<int32_t>* idx, Diag* diag);
// idx_b: ascending rows of b whose site is not in a. The output coordinates are a followed by b[idx_b].
Status append_missing(const int32_t* coords_a, int64_t na, const int32_t* coords_b, int64_t nb,
                      std::vector<int32_t>* idx_b, Diag* diag);

}  // namespace cpu
}  // namespace tsp3d
