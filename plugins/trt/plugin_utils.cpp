#include "plugin_utils.h"

#include <iostream>
#include <mutex>

#include "tsp3d/status.h"

namespace tsp3d {
namespace trt {
namespace {

std::mutex g_mutex;
nvinfer1::ILoggerFinder* g_finder = nullptr;

}  // namespace

void set_logger_finder(nvinfer1::ILoggerFinder* finder) {
  std::lock_guard<std::mutex> lock(g_mutex);
  g_finder = finder;
}

void log(nvinfer1::ILogger::Severity severity, const std::string& msg) {
  nvinfer1::ILogger* logger = nullptr;
  {
    std::lock_guard<std::mutex> lock(g_mutex);
    if (g_finder != nullptr) logger = g_finder->findLogger();
  }
  const std::string line = "[tsp3d] " + msg;
  if (logger != nullptr) {
    logger->log(severity, line.c_str());
  } else if (severity <= nvinfer1::ILogger::Severity::kWARNING) {
    std::cerr << line << std::endl;  // no TensorRT logger yet (library used outside TensorRT)
  }
}

std::string where(const char* op, const std::string& node) {
  return std::string(op) + " node '" + node + "'";
}

void report(const std::string& where_prefix, const char* method, const std::exception& e) {
  log_error(where_prefix + ": " + method + ": " + e.what());
}

bool read_record(const std::string& where_prefix, int32_t* record_dev, const void* count_dev, cudaStream_t stream,
                 DeviceResult* result) {
  cudaStreamCaptureStatus capture = cudaStreamCaptureStatusNone;
  if (cudaStreamIsCapturing(stream, &capture) == cudaSuccess && capture != cudaStreamCaptureStatusNone) {
    log_error(where_prefix + ": cannot run inside CUDA graph capture (the plugin reads its error status on the host)");
    return false;
  }
  int32_t record[2] = {0, 0};
  cudaError_t err = cudaMemcpyAsync(record, record_dev, sizeof(record), cudaMemcpyDeviceToHost, stream);
  if (err == cudaSuccess && count_dev != nullptr) {
    err = cudaMemcpyAsync(&result->count, count_dev, sizeof(int64_t), cudaMemcpyDeviceToHost, stream);
  }
  if (err == cudaSuccess) err = cudaStreamSynchronize(stream);  // the one host wait of this plugin call
  if (err != cudaSuccess) {
    log_error(where_prefix + ": CUDA error: " + cudaGetErrorString(err));
    return false;
  }
  result->status = record[0];
  result->node = record[1];
  if (result->status == 0) return true;
  cudaMemsetAsync(record_dev, 0, sizeof(record), stream);  // reported once; the inference stops here
  return false;
}

std::string status_message(int32_t status, const std::string& detail) {
  const Status s = static_cast<Status>(status);
  const std::string hint = status_hint(s);
  return status_name(s) + (detail.empty() ? "" : "; " + detail) + (hint.empty() ? "" : "; " + hint);
}

int32_t report_launch(const std::string& where_prefix, const char* what, int32_t status) {
  if (status != 0) {
    log_error(where_prefix + ": " + what + " failed (" + status_name(static_cast<Status>(status)) + ")");
  }
  return status;
}

}  // namespace trt
}  // namespace tsp3d
