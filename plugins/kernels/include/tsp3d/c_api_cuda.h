// C ABI of the CUDA kernels (libtsp3d_cuda.so): the same operations as c_api.h (tsp3d_cpu_*), with the prefix
// tsp3d_cuda_, a CUDA stream, an explicit workspace and device-side results. The TensorRT plugins call these
// functions; Python calls them through ctypes (tsp3d/runtime/cuda_kernels.py) on a GPU machine without TensorRT.
// Semantics of each op: docs/opset.md.
//
// Conventions
//  * Every array argument is a device pointer to a row-major contiguous buffer; sizes are host values.
//  * Nothing synchronizes: the work is queued on `stream`. The return value is a tsp3d::Status for what the host
//    can see (kInvalidArgument: a bad size/attribute/pointer or a workspace that is too small; kCudaError: a launch
//    or CUB failure). Errors that depend on the data (capacity, range, stride, duplicates, NaN points, kernel-map
//    indices) are written by the kernels to `status_out`, an int32 device scalar (0 = ok), once the queued work
//    has run: synchronize the stream, then read it.
//  * Data-dependent row counts go to `count_out`, an int64 device scalar. The output buffers hold `capacity`
//    rows (`capacity` 0 = the op's natural bound, see docs/opset.md). When the count exceeds that bound,
//    *status_out becomes kCapacityExceeded, *count_out holds the count that was needed, and no output row is
//    written. Whenever *status_out is not 0 the outputs are unspecified (but nothing is written out of bounds).
//  * Workspace: `tsp3d_cuda_<op>_workspace_size` gives the bytes for the given sizes (it asks CUB, so it needs a
//    CUDA device); pass a buffer of at least that size (256-byte aligned, as cudaMalloc gives) and its size.
//  * Row counts must be below 2^31 (including n * 27 for CoordsUp and n_out * K for kernel maps).
#pragma once

#include <cuda_runtime_api.h>
#include <stddef.h>
#include <stdint.h>

#if defined(_WIN32)
#define TSP3D_CUDA_API __declspec(dllexport)
#else
#define TSP3D_CUDA_API __attribute__((visibility("default")))
#endif

#ifdef __cplusplus
extern "C" {
#endif

// ---- coordinate sets -------------------------------------------------------------------------------------

// Voxelize: points [n, dim] float32 -> coords_out [cap, 4], first_out [cap]; natural bound n.
TSP3D_CUDA_API int32_t tsp3d_cuda_voxelize_workspace_size(int64_t n, size_t* bytes);
TSP3D_CUDA_API int32_t tsp3d_cuda_voxelize(const float* points, int64_t n, int64_t dim, float voxel_size,
                                           int32_t batch, int64_t capacity, int32_t* coords_out, int32_t* first_out,
                                           int64_t* count_out, int32_t* status_out, void* workspace,
                                           size_t workspace_bytes, cudaStream_t stream);

// CoordsDown: coords [n, 4] at stride -> coords_out [cap, 4]; natural bound n.
TSP3D_CUDA_API int32_t tsp3d_cuda_coords_down_workspace_size(int64_t n, size_t* bytes);
TSP3D_CUDA_API int32_t tsp3d_cuda_coords_down(const int32_t* coords, int64_t n, int32_t stride, int64_t capacity,
                                              int32_t* coords_out, int64_t* count_out, int32_t* status_out,
                                              void* workspace, size_t workspace_bytes, cudaStream_t stream);

// CoordsUp: coords [n, 4] at even stride -> coords_out [cap, 4]; natural bound 27 n.
TSP3D_CUDA_API int32_t tsp3d_cuda_coords_up_workspace_size(int64_t n, size_t* bytes);
TSP3D_CUDA_API int32_t tsp3d_cuda_coords_up(const int32_t* coords, int64_t n, int32_t stride, int64_t capacity,
                                            int32_t* coords_out, int64_t* count_out, int32_t* status_out,
                                            void* workspace, size_t workspace_bytes, cudaStream_t stream);

// ---- tables ----------------------------------------------------------------------------------------------

// KernelMap: nbr_out [n_out, kernel_size^3].
TSP3D_CUDA_API int32_t tsp3d_cuda_kernel_map_workspace_size(int64_t n_in, int64_t n_out, size_t* bytes);
TSP3D_CUDA_API int32_t tsp3d_cuda_kernel_map(const int32_t* in_coords, int64_t n_in, const int32_t* out_coords,
                                             int64_t n_out, int32_t kernel_size, int32_t offset_stride,
                                             int32_t transposed, int32_t* nbr_out, int32_t* status_out,
                                             void* workspace, size_t workspace_bytes, cudaStream_t stream);

// Lookup: idx_out [q].
TSP3D_CUDA_API int32_t tsp3d_cuda_lookup_workspace_size(int64_t q, int64_t n, size_t* bytes);
TSP3D_CUDA_API int32_t tsp3d_cuda_lookup(const int32_t* query, int64_t q, const int32_t* table, int64_t n,
                                         int32_t* idx_out, int32_t* status_out, void* workspace,
                                         size_t workspace_bytes, cudaStream_t stream);

// AppendMissing: coords_out [cap, 4] (cap counts all rows; natural bound na + nb), idx_b_out with room for
// min(nb, cap) rows; *count_out = na + mb (the rows of coords_out; idx_b_out has count - na rows).
TSP3D_CUDA_API int32_t tsp3d_cuda_append_missing_workspace_size(int64_t na, int64_t nb, size_t* bytes);
TSP3D_CUDA_API int32_t tsp3d_cuda_append_missing(const int32_t* coords_a, int64_t na, const int32_t* coords_b,
                                                 int64_t nb, int64_t capacity, int32_t* coords_out,
                                                 int32_t* idx_b_out, int64_t* count_out, int32_t* status_out,
                                                 void* workspace, size_t workspace_bytes, cudaStream_t stream);

// ---- rulebook application --------------------------------------------------------------------------------

// SparseConv float32: feats [n_in, cin], nbr [n_out, k], weight [k, cin, cout], bias [cout] or NULL.
TSP3D_CUDA_API int32_t tsp3d_cuda_sparse_conv_workspace_size(int64_t n_out, size_t* bytes);
TSP3D_CUDA_API int32_t tsp3d_cuda_sparse_conv_f32(const float* feats, int64_t n_in, int64_t cin, const int32_t* nbr,
                                                  int64_t n_out, int64_t k, const float* weight, int64_t cout,
                                                  const float* bias, int32_t activation, float* out,
                                                  int32_t* status_out, void* workspace, size_t workspace_bytes,
                                                  cudaStream_t stream);
// float16 I/O (IEEE binary16 bit patterns), float32 accumulation on tensor cores, one rounding at the end.
TSP3D_CUDA_API int32_t tsp3d_cuda_sparse_conv_f16(const uint16_t* feats, int64_t n_in, int64_t cin,
                                                  const int32_t* nbr, int64_t n_out, int64_t k,
                                                  const uint16_t* weight, int64_t cout, const uint16_t* bias,
                                                  int32_t activation, uint16_t* out, int32_t* status_out,
                                                  void* workspace, size_t workspace_bytes, cudaStream_t stream);
// int8 feats/weights, exact int32 accumulation on tensor cores; feats_scale is a device float32 scalar (a graph
// tensor in TensorRT), weight_scale [cout] float32, bias [cout] float32 or NULL; float32 out.
TSP3D_CUDA_API int32_t tsp3d_cuda_sparse_conv_i8(const int8_t* feats, const float* feats_scale, int64_t n_in,
                                                 int64_t cin, const int32_t* nbr, int64_t n_out, int64_t k,
                                                 const int8_t* weight, const float* weight_scale, int64_t cout,
                                                 const float* bias, int32_t activation, float* out,
                                                 int32_t* status_out, void* workspace, size_t workspace_bytes,
                                                 cudaStream_t stream);

// SparseMaxPool: feats [n_in, c], nbr [n_out, k] -> out [n_out, c]. No workspace beyond the error word.
TSP3D_CUDA_API int32_t tsp3d_cuda_sparse_max_pool_workspace_size(int64_t n_out, size_t* bytes);
TSP3D_CUDA_API int32_t tsp3d_cuda_sparse_max_pool_f32(const float* feats, int64_t n_in, int64_t c, const int32_t* nbr,
                                                      int64_t n_out, int64_t k, float* out, int32_t* status_out,
                                                      void* workspace, size_t workspace_bytes, cudaStream_t stream);
TSP3D_CUDA_API int32_t tsp3d_cuda_sparse_max_pool_f16(const uint16_t* feats, int64_t n_in, int64_t c,
                                                      const int32_t* nbr, int64_t n_out, int64_t k, uint16_t* out,
                                                      int32_t* status_out, void* workspace, size_t workspace_bytes,
                                                      cudaStream_t stream);

// ---- pruning ---------------------------------------------------------------------------------------------

// Prune: idx_out [cap] ascending; natural bound n. Scores float32 or float16 (compared in float32).
TSP3D_CUDA_API int32_t tsp3d_cuda_prune_workspace_size(int64_t n, size_t* bytes);
TSP3D_CUDA_API int32_t tsp3d_cuda_prune_f32(const float* scores, int64_t n, float threshold, int32_t mode,
                                            int64_t min_keep, int64_t capacity, int32_t* idx_out, int64_t* count_out,
                                            int32_t* status_out, void* workspace, size_t workspace_bytes,
                                            cudaStream_t stream);
TSP3D_CUDA_API int32_t tsp3d_cuda_prune_f16(const uint16_t* scores, int64_t n, float threshold, int32_t mode,
                                            int64_t min_keep, int64_t capacity, int32_t* idx_out, int64_t* count_out,
                                            int32_t* status_out, void* workspace, size_t workspace_bytes,
                                            cudaStream_t stream);

// ---- helpers ---------------------------------------------------------------------------------------------

// size_out (int32 device scalar, a TensorRT size tensor) = *status == 0 ? *count - subtract : 0. Used for
// data-dependent output dimensions: an op that failed reports 0 rows, never a count past the declared bound.
TSP3D_CUDA_API int32_t tsp3d_cuda_size_from_count(const int64_t* count, const int32_t* status, int64_t subtract,
                                                  int32_t* size_out, cudaStream_t stream);

// The first failure among queued launches: when *status != 0 and record[0] == 0, sets record[0] = *status and
// record[1] = node (record: int32 device [2], zeroed by the caller; the first writer wins). Lets a caller read the
// statuses of many launches with one synchronization (the TensorRT plugins do, at their size-tensor ops).
TSP3D_CUDA_API int32_t tsp3d_cuda_record_error(const int32_t* status, int32_t* record, int32_t node,
                                               cudaStream_t stream);

// Static strings for a status code (the table of tsp3d/status.h, as in the CPU library): what went wrong, and what
// to change ("" when there is nothing to add).
TSP3D_CUDA_API const char* tsp3d_cuda_status_string(int32_t status);
TSP3D_CUDA_API const char* tsp3d_cuda_status_hint(int32_t status);

#ifdef __cplusplus
}
#endif
