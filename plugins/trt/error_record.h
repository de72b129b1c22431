// Deferred error reporting: the plugins of one execution context share one device record of their first failure
// (status, node), so the host reads the statuses of many plugin launches with one synchronization.
//
//  * Every plugin queues tsp3d_cuda_record_error after its kernels (no host wait).
//  * Plugins that produce a size tensor (Voxelize, CoordsDown, CoordsUp, Prune, AppendMissing) wait for their
//    stream once - TensorRT has to wait there anyway to read the size - and read the record: a failure of any
//    plugin queued before them on that context is reported then, naming its node.
//  * Failures of plugins after the last size-tensor op are read once per inference by the caller through
//    tsp3d_trt_take_error (exported by libtsp3d_trt.so; tsp3d_infer and tsp3d.runtime.tensorrt_runtime call it).
//
// Records are keyed by the IPluginResourceContext TensorRT hands to attachToContext (one per execution context);
// plugins used during the build (tactic timing) share the record of the null key.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

namespace tsp3d {
namespace trt {

// Device int32[2] = {status, node id}; zeroed when allocated and after each read that found a failure.
class DeviceRecord {
 public:
  DeviceRecord();  // throws PluginError when the device memory cannot be allocated
  ~DeviceRecord();
  DeviceRecord(const DeviceRecord&) = delete;
  DeviceRecord& operator=(const DeviceRecord&) = delete;
  int32_t* device() const { return dev_; }

 private:
  int32_t* dev_ = nullptr;
};

// The record of `context_key` (created on first use, freed with its last plugin).
std::shared_ptr<DeviceRecord> record_for(const void* context_key);

// Small integer ids for node names ("<Op> node '<name>'"), so a device word can name the failing node.
int32_t node_id(const std::string& where);
std::string node_where(int32_t id);

// Reads every live record (synchronously); on the first one holding a failure writes
// "<Op> node '<name>': <status_message(status)>" to `message` and returns the status after clearing that record.
int32_t take_first_error(std::string* message);

}  // namespace trt
}  // namespace tsp3d
