// Ops that look coordinates up in a hash table: KernelMap, Lookup, AppendMissing.
#include "cub_primitives.cuh"
#include "hash_table_cuda.cuh"
#include "launch.cuh"
#include "tsp3d/c_api_cuda.h"
#include "tsp3d/kernel_offsets.h"

namespace tsp3d {
namespace cuda {
namespace {

const ErrorOrder kTableErrors{Status::kCoordOutOfRange, Status::kDuplicateCoord};

__global__ void kernel_map_kernel(DeviceTable t, const int32_t* out_coords, int n_out, int32_t kernel_size,
                                  int32_t offset_stride, int32_t transposed, int32_t* nbr, uint32_t* bits) {
  const int32_t volume = kernel_volume(kernel_size);
  const int64_t step = transposed ? -int64_t{offset_stride} : int64_t{offset_stride};
  TSP3D_GRID_STRIDE(j, int64_t{n_out} * volume) {
    const int64_t o = j / volume;
    const int32_t k = static_cast<int32_t>(j % volume);
    const int32_t* c = out_coords + 4 * o;
    int32_t row = -1;
    if (!row_in_range(c[0], c[1], c[2], c[3])) {
      if (k == 0) raise_error(bits, Status::kCoordOutOfRange);
    } else {
      int32_t d[3];
      kernel_offset(kernel_size, k, d);
      row = table_find(t, c[0], c[1] + d[0] * step, c[2] + d[1] * step, c[3] + d[2] * step);
    }
    nbr[j] = row;
  }
}

__global__ void lookup_kernel(DeviceTable t, const int32_t* query, int q, int32_t* idx, uint32_t* bits) {
  TSP3D_GRID_STRIDE(i, q) {
    const int32_t* c = query + 4 * i;
    int32_t row = -1;
    if (!row_in_range(c[0], c[1], c[2], c[3])) {
      raise_error(bits, Status::kCoordOutOfRange);
    } else {
      row = table_find(t, c[0], c[1], c[2], c[3]);
    }
    idx[i] = row;
  }
}

// flags[j] = 1 when row j of b is not in a.
__global__ void missing_flags_kernel(DeviceTable a, const int32_t* coords_b, int nb, int32_t* flags) {
  TSP3D_GRID_STRIDE(j, nb) {
    const int32_t* c = coords_b + 4 * j;
    flags[j] = (row_in_range(c[0], c[1], c[2], c[3]) && table_find(a, c[0], c[1], c[2], c[3]) < 0) ? 1 : 0;
  }
}

__global__ void append_rows_kernel(const int32_t* coords_a, int na, const int32_t* coords_b, int nb,
                                   const int32_t* flags, const int32_t* pos, const int32_t* status,
                                   int32_t* coords_out, int32_t* idx_b_out) {
  if (*status != 0) return;
  TSP3D_GRID_STRIDE(i, int64_t{na} + nb) {
    if (i < na) {
      for (int a = 0; a < 4; ++a) coords_out[4 * i + a] = coords_a[4 * i + a];
    } else {
      const int64_t j = i - na;
      if (!flags[j]) continue;
      const int64_t row = pos[j];
      for (int a = 0; a < 4; ++a) coords_out[4 * (na + row) + a] = coords_b[4 * j + a];
      idx_b_out[row] = static_cast<int32_t>(j);
    }
  }
}

// Workspace layouts (shared by the size queries and the launchers, launch.cuh).
struct OneTablePlan : ErrorWord {  // KernelMap, Lookup: a table of `rows` coordinates
  int64_t rows;
  DeviceTable table;

  explicit OneTablePlan(int64_t table_rows) : rows(table_rows) {}
  int32_t carve(Carver& carver) {
    if (rows < 0 || rows > kMaxRows) return invalid();
    bits = carver.take<uint32_t>(1);
    table.plan(carver, rows);
    return 0;
  }
};

struct AppendPlan : ErrorWord {
  int64_t na, nb;
  DeviceTable table_a, table_b;
  FlagScan missing;  // flags: the row of b is not in a

  AppendPlan(int64_t rows_a, int64_t rows_b) : na(rows_a), nb(rows_b) {}
  int32_t carve(Carver& carver) {
    if (na < 0 || nb < 0 || na > kMaxRows || nb > kMaxRows || na + nb > kMaxRows) return invalid();
    bits = carver.take<uint32_t>(1);
    table_a.plan(carver, na);
    table_b.plan(carver, nb);
    return missing.carve(carver, nb);
  }
};

}  // namespace
}  // namespace cuda
}  // namespace tsp3d

using namespace tsp3d;
using namespace tsp3d::cuda;

extern "C" int32_t tsp3d_cuda_kernel_map_workspace_size(int64_t n_in, int64_t n_out, size_t* bytes) {
  if (n_out < 0 || n_out > kMaxRows) return invalid();
  return measure_workspace(OneTablePlan(n_in), bytes);
}

extern "C" int32_t tsp3d_cuda_kernel_map(const int32_t* in_coords, int64_t n_in, const int32_t* out_coords,
                                         int64_t n_out, int32_t kernel_size, int32_t offset_stride,
                                         int32_t transposed, int32_t* nbr_out, int32_t* status_out,
                                         void* workspace, size_t workspace_bytes, cudaStream_t stream) {
  if (!kernel_size_supported(kernel_size) || offset_stride < 1 || (transposed != 0 && transposed != 1) ||
      n_in < 0 || n_out < 0 || n_out > kMaxRows / kernel_volume(kernel_size) || (n_in > 0 && in_coords == nullptr) ||
      (n_out > 0 && (out_coords == nullptr || nbr_out == nullptr)) || status_out == nullptr) {
    return invalid();
  }
  OneTablePlan p(n_in);
  TSP3D_TRY(start_launch(&p, workspace, workspace_bytes, stream));
  TSP3D_TRY(build_table(p.table, in_coords, static_cast<int>(n_in), p.bits, stream));
  TSP3D_TRY(launch_rows(kernel_map_kernel, n_out * kernel_volume(kernel_size), stream, p.table, out_coords,
                        static_cast<int>(n_out), kernel_size, offset_stride, transposed, nbr_out, p.bits));
  return to_status(finalize(p.bits, kTableErrors, CountSpec{}, status_out, stream));
}

extern "C" int32_t tsp3d_cuda_lookup_workspace_size(int64_t q, int64_t n, size_t* bytes) {
  if (q < 0 || q > kMaxRows) return invalid();
  return measure_workspace(OneTablePlan(n), bytes);
}

extern "C" int32_t tsp3d_cuda_lookup(const int32_t* query, int64_t q, const int32_t* table, int64_t n,
                                     int32_t* idx_out, int32_t* status_out, void* workspace,
                                     size_t workspace_bytes, cudaStream_t stream) {
  if (q < 0 || n < 0 || q > kMaxRows || (q > 0 && (query == nullptr || idx_out == nullptr)) ||
      (n > 0 && table == nullptr) || status_out == nullptr) {
    return invalid();
  }
  OneTablePlan p(n);
  TSP3D_TRY(start_launch(&p, workspace, workspace_bytes, stream));
  TSP3D_TRY(build_table(p.table, table, static_cast<int>(n), p.bits, stream));
  TSP3D_TRY(launch_rows(lookup_kernel, q, stream, p.table, query, static_cast<int>(q), idx_out, p.bits));
  return to_status(finalize(p.bits, kTableErrors, CountSpec{}, status_out, stream));
}

extern "C" int32_t tsp3d_cuda_append_missing_workspace_size(int64_t na, int64_t nb, size_t* bytes) {
  return measure_workspace(AppendPlan(na, nb), bytes);
}

extern "C" int32_t tsp3d_cuda_append_missing(const int32_t* coords_a, int64_t na, const int32_t* coords_b,
                                             int64_t nb, int64_t capacity, int32_t* coords_out,
                                             int32_t* idx_b_out, int64_t* count_out, int32_t* status_out,
                                             void* workspace, size_t workspace_bytes, cudaStream_t stream) {
  if (na < 0 || nb < 0 || capacity < 0 || (na > 0 && coords_a == nullptr) || (nb > 0 && coords_b == nullptr) ||
      coords_out == nullptr || idx_b_out == nullptr || count_out == nullptr || status_out == nullptr) {
    return invalid();
  }
  AppendPlan p(na, nb);
  TSP3D_TRY(start_launch(&p, workspace, workspace_bytes, stream));
  const int ia = static_cast<int>(na), ib = static_cast<int>(nb);
  TSP3D_TRY(build_table(p.table_a, coords_a, ia, p.bits, stream));
  TSP3D_TRY(build_table(p.table_b, coords_b, ib, p.bits, stream));  // only to refuse duplicates in b
  CountSpec spec;
  spec.add = na;
  spec.bound = capacity > 0 ? capacity : na + nb;
  spec.count_out = count_out;
  if (nb > 0) {
    TSP3D_TRY(launch_rows(missing_flags_kernel, nb, stream, p.table_a, coords_b, ib, p.missing.flags));
    TSP3D_TRY_CUDA(p.missing.scan(stream));
    spec.scan_last_pos = p.missing.pos + (nb - 1);
    spec.scan_last_flag = p.missing.flags + (nb - 1);
  }
  TSP3D_TRY_CUDA(finalize(p.bits, kTableErrors, spec, status_out, stream));
  return launch_rows(append_rows_kernel, na + nb, stream, coords_a, ia, coords_b, ib, p.missing.flags,
                     p.missing.pos, status_out, coords_out, idx_b_out);
}
