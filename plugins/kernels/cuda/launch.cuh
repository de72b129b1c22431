// The launcher pieces every op shares: measuring and carving its workspace plan, clearing the error word, and
// launching a kernel over rows (1-D grid-stride) or over tiles (2-D grid), each returning a tsp3d status.
//
// A plan is a struct with `int32_t carve(Carver&)` that takes its buffers from the carver (and checks its sizes);
// a plan that derives from ErrorWord also carves `bits`, the error word the kernels raise into (cuda_utils.cuh).
#pragma once

#include <type_traits>

#include "cuda_utils.cuh"

namespace tsp3d {
namespace cuda {

struct ErrorWord {
  uint32_t* bits = nullptr;
};

// Bytes of the workspace `plan` carves (a copy: the plan keeps no pointers).
template <typename Plan>
int32_t measure_workspace(Plan plan, size_t* bytes) {
  if (bytes == nullptr) return invalid();
  Carver carver(nullptr);
  TSP3D_TRY(plan.carve(carver));
  *bytes = carver.size();
  return 0;
}

// The preamble of a launcher: the workspace holds what the plan needs, the plan is carved from it, and its error
// word (if it has one) starts at zero on `stream`.
template <typename Plan>
int32_t start_launch(Plan* plan, void* workspace, size_t workspace_bytes, cudaStream_t stream) {
  size_t need = 0;
  TSP3D_TRY(measure_workspace(*plan, &need));
  if (workspace == nullptr || workspace_bytes < need) return invalid();
  Carver carver(workspace);
  TSP3D_TRY(plan->carve(carver));
  if constexpr (std::is_base_of_v<ErrorWord, Plan>) {
    TSP3D_TRY_CUDA(cudaMemsetAsync(plan->bits, 0, sizeof(uint32_t), stream));
  }
  return 0;
}

// kernel<<<grid_for(n), kThreads, 0, stream>>>(args...) when n > 0 (the kernel loops with TSP3D_GRID_STRIDE).
template <typename... Params, typename... Args>
int32_t launch_rows(void (*kernel)(Params...), int64_t n, cudaStream_t stream, Args... args) {
  if (n <= 0) return 0;
  kernel<<<grid_for(n), kThreads, 0, stream>>>(args...);
  return launch_status();
}

// One block of `threads` per tile of tile_rows x tile_cols over rows x cols, when rows > 0.
template <typename... Params, typename... Args>
int32_t launch_tiles(void (*kernel)(Params...), int64_t rows, int64_t cols, int tile_rows, int tile_cols, int threads,
                     cudaStream_t stream, Args... args) {
  if (rows <= 0) return 0;
  const int64_t grid_y = (cols + tile_cols - 1) / tile_cols;
  if (grid_y > 65535) return invalid();
  const dim3 grid(static_cast<unsigned>((rows + tile_rows - 1) / tile_rows), static_cast<unsigned>(grid_y));
  kernel<<<grid, threads, 0, stream>>>(args...);
  return launch_status();
}

}  // namespace cuda
}  // namespace tsp3d
