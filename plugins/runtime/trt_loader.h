// TensorRT at run time, not at link time: libnvinfer (and libnvonnxparser, for building engines) are dlopen'ed,
// so the runtime builds and starts on machines without TensorRT and says clearly what is missing.
#pragma once

#include <memory>
#include <stdexcept>
#include <string>

#include "NvInferRuntime.h"

namespace tsp3d {
namespace runtime {

class RuntimeError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Prints TensorRT's messages at or above `min_severity` to stderr, prefixed with the severity.
class StderrLogger final : public nvinfer1::ILogger {
 public:
  explicit StderrLogger(Severity min_severity = Severity::kWARNING) : min_(min_severity) {}
  void log(Severity severity, const char* msg) noexcept override;

 private:
  Severity min_;
};

// The TensorRT libraries of this process. Library names tried: libnvinfer.so.11, .so.10, .so (and the same for
// libnvonnxparser); TSP3D_NVINFER / TSP3D_NVONNXPARSER name a file to use instead.
class TensorRT {
 public:
  explicit TensorRT(nvinfer1::ILogger& logger);  // throws RuntimeError naming the libraries it tried
  ~TensorRT();
  TensorRT(const TensorRT&) = delete;
  TensorRT& operator=(const TensorRT&) = delete;

  nvinfer1::IRuntime& runtime() { return *runtime_; }
  // Registers the creators of a plugin library (its getCreators entry point) with TensorRT's registry.
  void load_plugins(const std::string& path);
  // The loaded plugin library's tsp3d_trt_take_error (a failure recorded after the last size-tensor op of an
  // inference; read once per inference), or null when the library has none.
  using TakeError = int32_t (*)(char* message, size_t capacity);
  TakeError take_error() const { return take_error_; }
  // Creates a builder; needs libnvinfer's builder entry (always there) - the ONNX parser is loaded separately.
  void* create_builder();
  // The ONNX parser factory (createNvOnnxParser_INTERNAL), loaded on first use; throws when absent.
  void* onnx_parser_factory();
  std::string version() const;
  nvinfer1::ILogger& logger() { return logger_; }

 private:
  nvinfer1::ILogger& logger_;
  void* nvinfer_ = nullptr;
  void* onnxparser_ = nullptr;
  TakeError take_error_ = nullptr;
  nvinfer1::IRuntime* runtime_ = nullptr;
};

}  // namespace runtime
}  // namespace tsp3d
