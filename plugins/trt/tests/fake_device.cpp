// A CPU stand-in for the CUDA runtime calls and the libtsp3d_cuda C ABI that libtsp3d_trt.so makes, defined in
// the test executable (exported with ENABLE_EXPORTS), so the dynamic linker binds the plugin library to these
// instead of libcudart / libtsp3d_cuda. "Device" memory is host memory; every stream is the host; the kernels
// write the results the test scripts (fake_device.h) and the host waits are counted. This lets the plugins'
// enqueue paths - and how often they make the host wait - run on a machine without a GPU.
#include "fake_device.h"

#include <cuda_runtime_api.h>

#include <cstdlib>
#include <cstring>

#include "tsp3d/c_api_cuda.h"

namespace tsp3d_test {

FakeDevice& fake() {
  static FakeDevice d;
  return d;
}

}  // namespace tsp3d_test

using tsp3d_test::fake;

namespace {

// One kernel "launch" of op `op`: its status and (row-creating ops) its count, as the test scripted them.
int32_t launch(const char* op, int32_t* status_out, int64_t* count_out, int64_t natural_rows) {
  ++fake().launches;
  const auto it = fake().fail.find(op);
  *status_out = it != fake().fail.end() ? it->second : 0;
  if (count_out != nullptr) *count_out = natural_rows;
  return 0;
}

int32_t ws_size(size_t* bytes) {
  *bytes = 0;
  return 0;
}

}  // namespace

extern "C" {

// ---- CUDA runtime -------------------------------------------------------------------------------------------

cudaError_t cudaMalloc(void** p, size_t n) {
  *p = std::calloc(n > 0 ? n : 1, 1);
  return *p != nullptr ? cudaSuccess : cudaErrorMemoryAllocation;
}
cudaError_t cudaFree(void* p) {
  std::free(p);
  return cudaSuccess;
}
cudaError_t cudaMemset(void* p, int v, size_t n) {
  std::memset(p, v, n);
  return cudaSuccess;
}
cudaError_t cudaMemsetAsync(void* p, int v, size_t n, cudaStream_t) {
  std::memset(p, v, n);
  return cudaSuccess;
}
cudaError_t cudaMemcpy(void* dst, const void* src, size_t n, cudaMemcpyKind) {
  ++fake().host_waits;  // a synchronous copy waits for the device
  std::memcpy(dst, src, n);
  return cudaSuccess;
}
cudaError_t cudaMemcpyAsync(void* dst, const void* src, size_t n, cudaMemcpyKind, cudaStream_t) {
  std::memcpy(dst, src, n);
  return cudaSuccess;
}
cudaError_t cudaStreamSynchronize(cudaStream_t) {
  ++fake().host_waits;
  return cudaSuccess;
}
cudaError_t cudaStreamIsCapturing(cudaStream_t, cudaStreamCaptureStatus* status) {
  *status = cudaStreamCaptureStatusNone;
  return cudaSuccess;
}
const char* cudaGetErrorString(cudaError_t) { return "fake CUDA error"; }

// ---- libtsp3d_cuda ------------------------------------------------------------------------------------------

int32_t tsp3d_cuda_voxelize_workspace_size(int64_t, size_t* b) { return ws_size(b); }
int32_t tsp3d_cuda_coords_down_workspace_size(int64_t, size_t* b) { return ws_size(b); }
int32_t tsp3d_cuda_coords_up_workspace_size(int64_t, size_t* b) { return ws_size(b); }
int32_t tsp3d_cuda_kernel_map_workspace_size(int64_t, int64_t, size_t* b) { return ws_size(b); }
int32_t tsp3d_cuda_lookup_workspace_size(int64_t, int64_t, size_t* b) { return ws_size(b); }
int32_t tsp3d_cuda_append_missing_workspace_size(int64_t, int64_t, size_t* b) { return ws_size(b); }
int32_t tsp3d_cuda_sparse_conv_workspace_size(int64_t, size_t* b) { return ws_size(b); }
int32_t tsp3d_cuda_sparse_max_pool_workspace_size(int64_t, size_t* b) { return ws_size(b); }
int32_t tsp3d_cuda_prune_workspace_size(int64_t, size_t* b) { return ws_size(b); }

int32_t tsp3d_cuda_voxelize(const float*, int64_t n, int64_t, float, int32_t, int64_t, int32_t*, int32_t*,
                            int64_t* count, int32_t* status, void*, size_t, cudaStream_t) {
  return launch("Voxelize", status, count, n);
}
int32_t tsp3d_cuda_coords_down(const int32_t*, int64_t n, int32_t, int64_t, int32_t*, int64_t* count, int32_t* status,
                               void*, size_t, cudaStream_t) {
  return launch("CoordsDown", status, count, n);
}
int32_t tsp3d_cuda_coords_up(const int32_t*, int64_t n, int32_t, int64_t, int32_t*, int64_t* count, int32_t* status,
                             void*, size_t, cudaStream_t) {
  return launch("CoordsUp", status, count, n);
}
int32_t tsp3d_cuda_kernel_map(const int32_t*, int64_t, const int32_t*, int64_t, int32_t, int32_t, int32_t, int32_t*,
                              int32_t* status, void*, size_t, cudaStream_t) {
  return launch("KernelMap", status, nullptr, 0);
}
int32_t tsp3d_cuda_lookup(const int32_t*, int64_t, const int32_t*, int64_t, int32_t*, int32_t* status, void*, size_t,
                          cudaStream_t) {
  return launch("Lookup", status, nullptr, 0);
}
int32_t tsp3d_cuda_append_missing(const int32_t*, int64_t na, const int32_t*, int64_t nb, int64_t, int32_t*, int32_t*,
                                  int64_t* count, int32_t* status, void*, size_t, cudaStream_t) {
  return launch("AppendMissing", status, count, na + nb);
}
int32_t tsp3d_cuda_sparse_conv_f32(const float*, int64_t, int64_t, const int32_t*, int64_t, int64_t, const float*,
                                   int64_t, const float*, int32_t, float*, int32_t* status, void*, size_t,
                                   cudaStream_t) {
  return launch("SparseConv", status, nullptr, 0);
}
int32_t tsp3d_cuda_sparse_conv_f16(const uint16_t*, int64_t, int64_t, const int32_t*, int64_t, int64_t,
                                   const uint16_t*, int64_t, const uint16_t*, int32_t, uint16_t*, int32_t* status,
                                   void*, size_t, cudaStream_t) {
  return launch("SparseConv", status, nullptr, 0);
}
int32_t tsp3d_cuda_sparse_conv_i8(const int8_t*, const float*, int64_t, int64_t, const int32_t*, int64_t, int64_t,
                                  const int8_t*, const float*, int64_t, const float*, int32_t, float*,
                                  int32_t* status, void*, size_t, cudaStream_t) {
  return launch("SparseConvInt8", status, nullptr, 0);
}
int32_t tsp3d_cuda_sparse_max_pool_f32(const float*, int64_t, int64_t, const int32_t*, int64_t, int64_t, float*,
                                       int32_t* status, void*, size_t, cudaStream_t) {
  return launch("SparseMaxPool", status, nullptr, 0);
}
int32_t tsp3d_cuda_sparse_max_pool_f16(const uint16_t*, int64_t, int64_t, const int32_t*, int64_t, int64_t,
                                       uint16_t*, int32_t* status, void*, size_t, cudaStream_t) {
  return launch("SparseMaxPool", status, nullptr, 0);
}
int32_t tsp3d_cuda_prune_f32(const float*, int64_t n, float, int32_t, int64_t, int64_t, int32_t*, int64_t* count,
                             int32_t* status, void*, size_t, cudaStream_t) {
  return launch("Prune", status, count, n);
}
int32_t tsp3d_cuda_prune_f16(const uint16_t*, int64_t n, float, int32_t, int64_t, int64_t, int32_t*, int64_t* count,
                             int32_t* status, void*, size_t, cudaStream_t) {
  return launch("Prune", status, count, n);
}
int32_t tsp3d_cuda_size_from_count(const int64_t* count, const int32_t* status, int64_t subtract, int32_t* size_out,
                                   cudaStream_t) {
  *size_out = *status == 0 ? static_cast<int32_t>(*count - subtract) : 0;
  return 0;
}
int32_t tsp3d_cuda_record_error(const int32_t* status, int32_t* record, int32_t node, cudaStream_t) {
  if (*status != 0 && record[0] == 0) {
    record[0] = *status;
    record[1] = node;
  }
  return 0;
}

}  // extern "C"
