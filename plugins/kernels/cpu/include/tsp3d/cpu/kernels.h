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

// --- the code paths of the int8 convs (same int32 results on every path; only the speed differs)
enum class Int8Path : int32_t {
  kAuto = 0,        // the best path this CPU has
  kPortable = 1,    // GCC/Clang vector extensions, int32 multiplies (scalar code where there is no vector unit)
  kAvx2 = 2,        // vpmaddubsw + vpmaddwd, exact by moving the feature's sign onto the weight
  kAvx512Vnni = 3,  // vpdpbusd on offset weights (w + 128) with a per-row compensation term
};
const char* int8_path_name(Int8Path path);     // "auto", "portable", "avx2", "avx512vnni"
bool parse_int8_path(const char* name, Int8Path* path);
bool int8_path_available(Int8Path path);       // compiled in and supported by this CPU (kAuto: always)
// Force a path for the whole process (kAuto: choose by CPU features). kInvalidArgument if unavailable.
Status set_int8_path(Int8Path path);
// The path int8 convs take now: set_int8_path's, else the environment variable TSP3D_INT8_PATH's (read once),
// else the best available. Never kAuto. When TSP3D_INT8_PATH names an unknown or unavailable path, returns
// kPortable and sets *problem (if given) to a message; the convs then fail with kInvalidArgument.
Int8Path int8_path(const char** problem = nullptr);

// --- rulebook application. bias may be null. out: [n_out, cout].
Status sparse_conv_f32(const float* feats, int64_t n_in, int64_t cin, const int32_t* nbr, int64_t n_out, int64_t k,
                       const float* weight, int64_t cout, const float* bias, int32_t activation, float* out,
                       Diag* diag);
// IEEE binary16 bit patterns in and out, float32 accumulation, one rounding at the end.
Status sparse_conv_f16(const uint16_t* feats, int64_t n_in, int64_t cin, const int32_t* nbr, int64_t n_out,
                       int64_t k, const uint16_t* weight, int64_t cout, const uint16_t* bias, int32_t activation,
                       uint16_t* out, Diag* diag);
// int8 feats and weights, exact int32 accumulation, float32 out (docs/opset.md SparseConvInt8). K * cin above
// kInt8MaxReduction (tsp3d/int8_math.h) is kInvalidArgument; so is an invalid TSP3D_INT8_PATH (int8_path()).
Status sparse_conv_i8(const int8_t* feats, float feats_scale, int64_t n_in, int64_t cin, const int32_t* nbr,
                      int64_t n_out, int64_t k, const int8_t* weight, const float* weight_scale, int64_t cout,
                      const float* bias, int32_t activation, float* out, Diag* diag);
// The exact accumulators alone: acc [n_out, cout] = sum_k sum_ci feats[nbr[o, k], ci] * weight[k, ci, c].
Status sparse_conv_i8_acc(const int8_t* feats, int64_t n_in, int64_t cin, const int32_t* nbr, int64_t n_out,
                          int64_t k, const int8_t* weight, int64_t cout, int32_t* acc, Diag* diag);

// SparseConvInt8 weights packed for the int8 path taken when they were packed (constant weights: pack once,
// convolve many times; sparse_conv_i8 packs on every call). They keep that path whatever is forced later.
struct Int8Weights {
  Int8Path path{};
  int64_t k = 0, cin = 0, cout = 0, ldw = 0;
  std::vector<int32_t> data;
};
Status pack_int8_weights(const int8_t* weight, int64_t k, int64_t cin, int64_t cout, Int8Weights* packed);
// sparse_conv_i8 with packed weights (their k, cin and cout must match the call's; else kInvalidArgument).
Status sparse_conv_i8_packed(const int8_t* feats, float feats_scale, int64_t n_in, int64_t cin, const int32_t* nbr,
                             int64_t n_out, int64_t k, const Int8Weights& weight, const float* weight_scale,
                             int64_t cout, const float* bias, int32_t activation, float* out, Diag* diag);

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
