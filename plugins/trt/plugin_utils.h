// Errors and logging of the TensorRT plugin glue. Validation throws PluginError (never just logs); every noexcept
// entry point catches, logs the message through the logger TensorRT hands over (setLoggerFinder) and returns a
// failure value. Kernel status codes become messages that name the op and the node, with the texts of
// tsp3d/status.h.
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>
#include <sstream>
#include <stdexcept>
#include <string>

#include "NvInferRuntime.h"

namespace tsp3d {
namespace trt {

class PluginError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Throws PluginError with the streamed message when cond is false.
#define TSP3D_VALIDATE(cond, msg)                         \
  do {                                                    \
    if (!(cond)) {                                        \
      std::ostringstream tsp3d_os_;                       \
      tsp3d_os_ << msg;                                   \
      throw ::tsp3d::trt::PluginError(tsp3d_os_.str());   \
    }                                                     \
  } while (0)

void set_logger_finder(nvinfer1::ILoggerFinder* finder);
void log(nvinfer1::ILogger::Severity severity, const std::string& msg);
inline void log_error(const std::string& msg) { log(nvinfer1::ILogger::Severity::kERROR, msg); }

// "Voxelize node 'name'": the prefix of every message about one plugin instance.
std::string where(const char* op, const std::string& node);

// For catch blocks of noexcept overrides.
void report(const std::string& where_prefix, const char* method, const std::exception& e);

// Device-side results read back after the stream has run: the context's first failure (status, node id) and
// this launch's row count.
struct DeviceResult {
  int32_t status = 0;
  int32_t node = 0;
  int64_t count = 0;
};

// Waits for `stream` once and reads the error record (int32 [2]) and the count. Returns true when the record
// holds no failure; on a failure clears the record (the inference fails here) and returns false; a CUDA error is
// logged. Refuses CUDA graph capture: the host must read the record (and TensorRT does not capture graphs with
// data-dependent shapes anyway).
bool read_record(const std::string& where_prefix, int32_t* record_dev, const void* count_dev, cudaStream_t stream,
                 DeviceResult* result);

// "<status name>[; <detail>][; <hint>]": the texts of tsp3d/status.h around what only the plugin knows.
std::string status_message(int32_t status, const std::string& detail = std::string());

// Logs "<where>: <what> failed (<status name>)" for a host-side status from the kernel API; returns the status.
int32_t report_launch(const std::string& where_prefix, const char* what, int32_t status);

}  // namespace trt
}  // namespace tsp3d
