// The final status/count kernel, the size-tensor helper and the status texts.
#include "cuda_utils.cuh"
#include "tsp3d/c_api_cuda.h"

namespace tsp3d {
namespace cuda {
namespace {

__global__ void finalize_kernel(const uint32_t* bits, ErrorOrder order, CountSpec spec, int32_t* status_out) {
  if (blockIdx.x != 0 || threadIdx.x != 0) return;
  int32_t status = 0;
  const uint32_t raised = *bits;
  if (raised != 0) {
    status = static_cast<int32_t>(Status::kInvalidArgument);  // a raised code missing from the list (a bug)
    for (uint64_t list = order.nibbles; list != 0; list >>= 4) {
      const uint32_t code = static_cast<uint32_t>(list & 0xF);
      if (raised & (1u << code)) {
        status = code == static_cast<uint32_t>(kCreatedOutOfRange) ? static_cast<int32_t>(Status::kCoordOutOfRange)
                                                                     : static_cast<int32_t>(code);
        break;
      }
    }
  }
  if (spec.count_out != nullptr) {
    int64_t count = spec.add;
    if (spec.scan_last_pos != nullptr) count += *spec.scan_last_pos + *spec.scan_last_flag;
    *spec.count_out = count;
    if (status == 0 && count > spec.bound) status = static_cast<int32_t>(Status::kCapacityExceeded);
  }
  *status_out = status;
}

}  // namespace

cudaError_t finalize(const uint32_t* bits, ErrorOrder order, CountSpec spec, int32_t* status_out,
                     cudaStream_t stream) {
  finalize_kernel<<<1, 1, 0, stream>>>(bits, order, spec, status_out);
  return cudaGetLastError();
}

namespace {
__global__ void size_from_count_kernel(const int64_t* count, const int32_t* status, int64_t subtract,
                                       int32_t* size_out) {
  if (blockIdx.x != 0 || threadIdx.x != 0) return;
  const int64_t rows = *count - subtract;
  *size_out = (*status == 0 && rows >= 0 && rows <= kMaxRows) ? static_cast<int32_t>(rows) : 0;
}

__global__ void record_error_kernel(const int32_t* status, int32_t* record, int32_t node) {
  if (blockIdx.x != 0 || threadIdx.x != 0) return;
  const int32_t s = *status;
  if (s != 0 && atomicCAS(&record[0], 0, s) == 0) record[1] = node;
}
}  // namespace

}  // namespace cuda
}  // namespace tsp3d

extern "C" int32_t tsp3d_cuda_record_error(const int32_t* status, int32_t* record, int32_t node,
                                           cudaStream_t stream) {
  if (status == nullptr || record == nullptr) return tsp3d::cuda::invalid();
  tsp3d::cuda::record_error_kernel<<<1, 1, 0, stream>>>(status, record, node);
  return tsp3d::cuda::launch_status();
}

extern "C" int32_t tsp3d_cuda_size_from_count(const int64_t* count, const int32_t* status, int64_t subtract,
                                              int32_t* size_out, cudaStream_t stream) {
  if (count == nullptr || status == nullptr || size_out == nullptr) return tsp3d::cuda::invalid();
  tsp3d::cuda::size_from_count_kernel<<<1, 1, 0, stream>>>(count, status, subtract, size_out);
  return tsp3d::cuda::launch_status();
}

extern "C" const char* tsp3d_cuda_status_string(int32_t status) {
  return tsp3d::status_name(static_cast<tsp3d::Status>(status));
}

extern "C" const char* tsp3d_cuda_status_hint(int32_t status) {
  return tsp3d::status_hint(static_cast<tsp3d::Status>(status));
}
