// Ops that create coordinate sets: Voxelize, CoordsDown, CoordsUp. Each computes one candidate key per
// point / row / (row, offset), then sort + unique gives the canonical order (sorted_unique.cuh).
#include "launch.cuh"
#include "sorted_unique.cuh"
#include "tsp3d/c_api_cuda.h"
#include "tsp3d/coord_key.h"
#include "tsp3d/kernel_offsets.h"
#include "tsp3d/point_math.h"

namespace tsp3d {
namespace cuda {
namespace {

__global__ void voxel_keys_kernel(const float* points, int n, int dim, float voxel_size, int32_t batch,
                                  uint64_t* keys, int32_t* vals, uint32_t* bits) {
  TSP3D_GRID_STRIDE(i, n) {
    const float* p = points + i * dim;
    uint64_t key = 0;
    if (!finite3(p[0], p[1], p[2])) {
      raise_error(bits, Status::kNonFinitePoint);
    } else {
      const float q[3] = {voxel_floor(p[0], voxel_size), voxel_floor(p[1], voxel_size),
                          voxel_floor(p[2], voxel_size)};
      bool ok = true;
      for (float v : q) ok = ok && v >= static_cast<float>(kCoordMin) && v <= static_cast<float>(kCoordMax);
      if (ok) {
        key = static_cast<uint64_t>(pack_key(batch, static_cast<int32_t>(q[0]), static_cast<int32_t>(q[1]),
                                             static_cast<int32_t>(q[2])));
      } else {
        raise_error(bits, Status::kCoordOutOfRange);
      }
    }
    keys[i] = key;
    vals[i] = static_cast<int32_t>(i);  // stable sort: the lowest point index comes first in its voxel
  }
}

// Validates a coordinate row at tensor stride `stride`; false (and an error raised) when it is invalid.
__device__ bool valid_row(const int32_t* c, int32_t stride, uint32_t* bits) {
  if (!row_in_range(c[0], c[1], c[2], c[3])) {
    raise_error(bits, Status::kCoordOutOfRange);
    return false;
  }
  if (!on_stride(c[1], stride) || !on_stride(c[2], stride) || !on_stride(c[3], stride)) {
    raise_error(bits, Status::kNotOnStride);
    return false;
  }
  return true;
}

__global__ void down_keys_kernel(const int32_t* coords, int n, int32_t stride, uint64_t* keys, int32_t* vals,
                                 uint32_t* bits) {
  const int32_t s2 = 2 * stride;
  TSP3D_GRID_STRIDE(i, n) {
    const int32_t* c = coords + 4 * i;
    uint64_t key = 0;
    if (valid_row(c, stride, bits)) {
      int32_t o[3];
      bool ok = true;
      for (int a = 0; a < 3; ++a) {
        o[a] = floor_div(c[1 + a], s2) * s2;
        ok = ok && coord_in_range(o[a]);
      }
      if (ok) {
        key = static_cast<uint64_t>(pack_key(c[0], o[0], o[1], o[2]));
      } else {
        raise_error(bits, kCreatedOutOfRange);  // only for strides that are not powers of two
      }
    }
    keys[i] = key;
    vals[i] = static_cast<int32_t>(i);
  }
}

__global__ void up_keys_kernel(const int32_t* coords, int n, int32_t stride, uint64_t* keys, int32_t* vals,
                               uint32_t* bits) {
  const int32_t half = stride / 2;
  const int64_t total = int64_t{n} * 27;
  TSP3D_GRID_STRIDE(j, total) {
    const int64_t i = j / 27;
    const int32_t k = static_cast<int32_t>(j % 27);
    const int32_t* c = coords + 4 * i;
    uint64_t key = 0;
    if (valid_row(c, stride, bits)) {
      int32_t d[3];
      kernel_offset(3, k, d);
      const int32_t x = c[1] + d[0] * half, y = c[2] + d[1] * half, z = c[3] + d[2] * half;
      if (coord_in_range(x) && coord_in_range(y) && coord_in_range(z)) {
        key = static_cast<uint64_t>(pack_key(c[0], x, y, z));
      } else {
        raise_error(bits, kCreatedOutOfRange);
      }
    }
    keys[j] = key;
    vals[j] = static_cast<int32_t>(j);
  }
}

// Workspace of the three ops: the error word, then the sort + unique buffers for `candidates` keys.
struct CoordSetPlan : ErrorWord {
  int64_t candidates;
  SortedUnique su;

  explicit CoordSetPlan(int64_t n) : candidates(n) {}
  int32_t carve(Carver& carver) {
    bits = carver.take<uint32_t>(1);
    return su.plan(carver, candidates);
  }
};

// Shared tail, after the key kernel: sort + unique, final status/count, scatter.
int32_t finish_coord_set(const CoordSetPlan& p, ErrorOrder order, int64_t bound, int32_t* coords_out,
                         int32_t* first_out, int64_t* count_out, int32_t* status_out, cudaStream_t stream) {
  TSP3D_TRY(p.su.run(stream));
  TSP3D_TRY_CUDA(finalize(p.bits, order, p.su.count_spec(bound, count_out), status_out, stream));
  return to_status(scatter_unique(p.su, status_out, coords_out, first_out, stream));
}

const ErrorOrder kResampleErrors{Status::kCoordOutOfRange, Status::kNotOnStride, kCreatedOutOfRange};

int64_t bound_of(int64_t capacity, int64_t natural) { return capacity > 0 ? capacity : natural; }

bool stride_ok(int32_t stride) { return stride >= 1 && stride <= (1 << 15); }

}  // namespace
}  // namespace cuda
}  // namespace tsp3d

using namespace tsp3d;
using namespace tsp3d::cuda;

extern "C" int32_t tsp3d_cuda_voxelize_workspace_size(int64_t n, size_t* bytes) {
  return measure_workspace(CoordSetPlan(n), bytes);
}

extern "C" int32_t tsp3d_cuda_voxelize(const float* points, int64_t n, int64_t dim, float voxel_size, int32_t batch,
                                       int64_t capacity, int32_t* coords_out, int32_t* first_out,
                                       int64_t* count_out, int32_t* status_out, void* workspace,
                                       size_t workspace_bytes, cudaStream_t stream) {
  if (n < 1 || n > kMaxRows || dim < 3 || dim > (int64_t{1} << 20) || !(voxel_size > 0.f) ||
      !isfinite(voxel_size) || batch < 0 || batch > kBatchMax || capacity < 0 || points == nullptr ||
      coords_out == nullptr || first_out == nullptr || count_out == nullptr || status_out == nullptr) {
    return invalid();
  }
  CoordSetPlan p(n);
  TSP3D_TRY(start_launch(&p, workspace, workspace_bytes, stream));
  TSP3D_TRY(launch_rows(voxel_keys_kernel, n, stream, points, static_cast<int>(n), static_cast<int>(dim), voxel_size,
                        batch, p.su.keys_in, p.su.vals_in, p.bits));
  return finish_coord_set(p, ErrorOrder{Status::kNonFinitePoint, Status::kCoordOutOfRange}, bound_of(capacity, n),
                          coords_out, first_out, count_out, status_out, stream);
}

extern "C" int32_t tsp3d_cuda_coords_down_workspace_size(int64_t n, size_t* bytes) {
  return measure_workspace(CoordSetPlan(n), bytes);
}

extern "C" int32_t tsp3d_cuda_coords_down(const int32_t* coords, int64_t n, int32_t stride, int64_t capacity,
                                          int32_t* coords_out, int64_t* count_out, int32_t* status_out,
                                          void* workspace, size_t workspace_bytes, cudaStream_t stream) {
  if (n < 0 || n > kMaxRows || !stride_ok(stride) || capacity < 0 || (n > 0 && coords == nullptr) ||
      coords_out == nullptr || count_out == nullptr || status_out == nullptr) {
    return invalid();
  }
  CoordSetPlan p(n);
  TSP3D_TRY(start_launch(&p, workspace, workspace_bytes, stream));
  TSP3D_TRY(launch_rows(down_keys_kernel, n, stream, coords, static_cast<int>(n), stride, p.su.keys_in,
                        p.su.vals_in, p.bits));
  return finish_coord_set(p, kResampleErrors, bound_of(capacity, n), coords_out, nullptr, count_out, status_out,
                          stream);
}

extern "C" int32_t tsp3d_cuda_coords_up_workspace_size(int64_t n, size_t* bytes) {
  if (n < 0 || n > kMaxRows / 27) return invalid();
  return measure_workspace(CoordSetPlan(27 * n), bytes);
}

extern "C" int32_t tsp3d_cuda_coords_up(const int32_t* coords, int64_t n, int32_t stride, int64_t capacity,
                                        int32_t* coords_out, int64_t* count_out, int32_t* status_out,
                                        void* workspace, size_t workspace_bytes, cudaStream_t stream) {
  if (n < 0 || n > kMaxRows / 27 || !stride_ok(stride) || stride < 2 || stride % 2 != 0 || capacity < 0 ||
      (n > 0 && coords == nullptr) || coords_out == nullptr || count_out == nullptr || status_out == nullptr) {
    return invalid();
  }
  CoordSetPlan p(27 * n);
  TSP3D_TRY(start_launch(&p, workspace, workspace_bytes, stream));
  TSP3D_TRY(launch_rows(up_keys_kernel, 27 * n, stream, coords, static_cast<int>(n), stride, p.su.keys_in,
                        p.su.vals_in, p.bits));
  return finish_coord_set(p, kResampleErrors, bound_of(capacity, 27 * n), coords_out, nullptr, count_out,
                          status_out, stream);
}
