// C ABI of the CPU kernels (libtsp3d_cpu.so). Python (ctypes: tsp3d/runtime/cpu_kernels.py), the benchmarks and
// the GPU check call the kernels through it; the ONNX Runtime ops call the same C++ functions directly.
// The CUDA kernels expose the same functions with the prefix tsp3d_cuda_ (see c_api_cuda.h), plus a stream and a
// workspace.
//
// Conventions: row-major contiguous buffers; every function returns a tsp3d::Status value (0 = ok).
// Data-dependent outputs: the caller passes buffers with room for `capacity` rows and receives the row count in
// *count_out. If the count would exceed `capacity` the function returns kCapacityExceeded, sets *count_out to the
// count that was needed and writes nothing past `capacity` rows. Semantics of each op: docs/opset.md.
#pragma once

#include <stddef.h>
#include <stdint.h>

#if defined(_WIN32)
#define TSP3D_API __declspec(dllexport)
#else
#define TSP3D_API __attribute__((visibility("default")))
#endif

#ifdef __cplusplus
extern "C" {
#endif

// Voxelize: points [n, dim] float32 (x, y, z first) -> coords [m, 4], first [m].
TSP3D_API int32_t tsp3d_cpu_voxelize(const float* points, int64_t n, int64_t dim, float voxel_size, int32_t batch,
                                     int64_t capacity, int32_t* coords_out, int32_t* first_out, int64_t* count_out);

// CoordsDown / CoordsUp: coords [n, 4] at tensor stride `stride` -> coords [m, 4], canonical order.
TSP3D_API int32_t tsp3d_cpu_coords_down(const int32_t* coords, int64_t n, int32_t stride, int64_t capacity,
                                        int32_t* coords_out, int64_t* count_out);
TSP3D_API int32_t tsp3d_cpu_coords_up(const int32_t* coords, int64_t n, int32_t stride, int64_t capacity,
                                      int32_t* coords_out, int64_t* count_out);

// KernelMap: nbr_out [n_out, kernel_size^3].
TSP3D_API int32_t tsp3d_cpu_kernel_map(const int32_t* in_coords, int64_t n_in, const int32_t* out_coords,
                                       int64_t n_out, int32_t kernel_size, int32_t offset_stride, int32_t transposed,
                                       int32_t* nbr_out);

// SparseConv: feats [n_in, cin], nbr [n_out, k], weight [k, cin, cout], bias [cout] or NULL -> out [n_out, cout].
TSP3D_API int32_t tsp3d_cpu_sparse_conv_f32(const float* feats, int64_t n_in, int64_t cin, const int32_t* nbr,
                                            int64_t n_out, int64_t k, const float* weight, int64_t cout,
                                            const float* bias, int32_t activation, float* out);
// float16 I/O (IEEE binary16 bit patterns), float32 accumulation.
TSP3D_API int32_t tsp3d_cpu_sparse_conv_f16(const uint16_t* feats, int64_t n_in, int64_t cin, const int32_t* nbr,
                                            int64_t n_out, int64_t k, const uint16_t* weight, int64_t cout,
                                            const uint16_t* bias, int32_t activation, uint16_t* out);
// SparseConvInt8: int8 feats/weights, per-tensor feats_scale, per-output-channel weight_scale [cout], float32 out.
TSP3D_API int32_t tsp3d_cpu_sparse_conv_i8(const int8_t* feats, float feats_scale, int64_t n_in, int64_t cin,
                                           const int32_t* nbr, int64_t n_out, int64_t k, const int8_t* weight,
                                           const float* weight_scale, int64_t cout, const float* bias,
                                           int32_t activation, float* out);

// The exact int32 accumulators of SparseConvInt8 alone: acc_out [n_out, cout] = sum_k sum_ci feats * weight.
TSP3D_API int32_t tsp3d_cpu_sparse_conv_i8_acc(const int8_t* feats, int64_t n_in, int64_t cin, const int32_t* nbr,
                                               int64_t n_out, int64_t k, const int8_t* weight, int64_t cout,
                                               int32_t* acc_out);
// The int8 code path: "auto" (by CPU features), "portable", "avx2", "avx512vnni". Setting an unknown path or one
// this CPU lacks returns kInvalidArgument. tsp3d_cpu_int8_path names the path taken now; when the environment
// variable TSP3D_INT8_PATH is invalid, tsp3d_cpu_int8_path_problem says why (else NULL) and the int8 convs fail.
TSP3D_API int32_t tsp3d_cpu_set_int8_path(const char* name);
TSP3D_API int32_t tsp3d_cpu_int8_path_available(const char* name);
TSP3D_API const char* tsp3d_cpu_int8_path(void);
TSP3D_API const char* tsp3d_cpu_int8_path_problem(void);

// SparseMaxPool: feats [n_in, c], nbr [n_out, k] -> out [n_out, c].
TSP3D_API int32_t tsp3d_cpu_sparse_max_pool_f32(const float* feats, int64_t n_in, int64_t c, const int32_t* nbr,
                                                int64_t n_out, int64_t k, float* out);

// Lookup: idx_out [q] = row of table equal to query, or -1.
TSP3D_API int32_t tsp3d_cpu_lookup(const int32_t* query, int64_t q, const int32_t* table, int64_t n,
                                   int32_t* idx_out);

// Prune: ascending kept rows.
TSP3D_API int32_t tsp3d_cpu_prune_f32(const float* scores, int64_t n, float threshold, int32_t mode,
                                      int64_t min_keep, int64_t capacity, int32_t* idx_out, int64_t* count_out);

// AppendMissing: coords_out [na + mb, 4] (capacity counts all rows), idx_b_out [mb]; *count_out = na + mb.
TSP3D_API int32_t tsp3d_cpu_append_missing(const int32_t* coords_a, int64_t na, const int32_t* coords_b,
                                           int64_t nb, int64_t capacity, int32_t* coords_out, int32_t* idx_b_out,
                                           int64_t* count_out);

// Threads used by the kernels (0 = all hardware threads). Returns the previous setting.
TSP3D_API int32_t tsp3d_cpu_set_num_threads(int32_t n);

// Static strings for a status code (the table of tsp3d/status.h): what went wrong, and what to change ("" when
// there is nothing to add).
TSP3D_API const char* tsp3d_status_string(int32_t status);
TSP3D_API const char* tsp3d_status_hint(int32_t status);

#ifdef __cplusplus
}
#endif
