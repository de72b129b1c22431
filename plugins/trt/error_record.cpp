#include "error_record.h"

#include <cuda_runtime_api.h>

#include <map>
#include <mutex>
#include <vector>

#include "plugin_utils.h"

namespace tsp3d {
namespace trt {
namespace {

std::mutex g_mutex;
std::map<const void*, std::weak_ptr<DeviceRecord>>& records() {
  static std::map<const void*, std::weak_ptr<DeviceRecord>> m;
  return m;
}
std::vector<std::string>& node_names() {
  static std::vector<std::string> v;
  return v;
}

}  // namespace

DeviceRecord::DeviceRecord() {
  void* p = nullptr;
  cudaError_t e = cudaMalloc(&p, 2 * sizeof(int32_t));
  if (e == cudaSuccess) e = cudaMemset(p, 0, 2 * sizeof(int32_t));
  TSP3D_VALIDATE(e == cudaSuccess, "cannot allocate the error record: " << cudaGetErrorString(e));
  dev_ = static_cast<int32_t*>(p);
}

DeviceRecord::~DeviceRecord() { cudaFree(dev_); }

std::shared_ptr<DeviceRecord> record_for(const void* context_key) {
  std::lock_guard<std::mutex> lock(g_mutex);
  std::shared_ptr<DeviceRecord> r = records()[context_key].lock();
  if (!r) {
    r = std::make_shared<DeviceRecord>();
    records()[context_key] = r;
  }
  return r;
}

int32_t node_id(const std::string& where) {
  std::lock_guard<std::mutex> lock(g_mutex);
  std::vector<std::string>& names = node_names();
  for (size_t i = 0; i < names.size(); ++i) {
    if (names[i] == where) return static_cast<int32_t>(i) + 1;
  }
  names.push_back(where);
  return static_cast<int32_t>(names.size());
}

std::string node_where(int32_t id) {
  std::lock_guard<std::mutex> lock(g_mutex);
  const std::vector<std::string>& names = node_names();
  return id >= 1 && static_cast<size_t>(id) <= names.size() ? names[id - 1] : "a tsp3d plugin";
}

int32_t take_first_error(std::string* message) {
  std::vector<std::shared_ptr<DeviceRecord>> live;
  {
    std::lock_guard<std::mutex> lock(g_mutex);
    for (auto& kv : records()) {
      if (auto r = kv.second.lock()) live.push_back(r);
    }
  }
  for (const auto& r : live) {
    int32_t host[2] = {0, 0};
    cudaError_t e = cudaMemcpy(host, r->device(), sizeof(host), cudaMemcpyDeviceToHost);
    if (e != cudaSuccess) {
      if (message != nullptr) {
        *message = std::string("CUDA error reading the tsp3d error record: ") + cudaGetErrorString(e);
      }
      return -1;
    }
    if (host[0] == 0) continue;
    cudaMemset(r->device(), 0, sizeof(host));
    if (message != nullptr) *message = node_where(host[1]) + ": " + status_message(host[0]);
    return host[0];
  }
  return 0;
}

}  // namespace trt
}  // namespace tsp3d
