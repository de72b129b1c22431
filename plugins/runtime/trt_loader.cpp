#include "trt_loader.h"

#include <dlfcn.h>

#include <cstdlib>
#include <iostream>
#include <vector>

namespace tsp3d {
namespace runtime {
namespace {

using Factory = void* (*)(void* logger, int32_t version) noexcept;

// dlopen the first library that loads; the error lists every attempt.
void* open_first(const char* env, const std::vector<std::string>& names, const char* what) {
  std::vector<std::string> tried;
  if (const char* forced = std::getenv(env)) tried.push_back(forced);
  for (const std::string& n : names) tried.push_back(n);
  std::string errors;
  for (const std::string& name : tried) {
    if (void* h = dlopen(name.c_str(), RTLD_NOW | RTLD_LOCAL)) return h;
    const char* e = dlerror();
    errors += "\n  " + name + ": " + (e != nullptr ? e : "not found");
  }
  throw RuntimeError(std::string(what) + " is not available (TensorRT 10.x or 11.x is needed at run time)." +
                     errors + "\n  Install TensorRT (JetPack ships it), add its lib/ to LD_LIBRARY_PATH, or set " +
                     env + ".");
}

template <typename T>
T symbol(void* lib, const char* name, const char* lib_name) {
  dlerror();
  void* s = dlsym(lib, name);
  if (s == nullptr) throw RuntimeError(std::string(lib_name) + " has no symbol " + name + ": not a TensorRT >= 10");
  return reinterpret_cast<T>(s);
}

}  // namespace

void StderrLogger::log(Severity severity, const char* msg) noexcept {
  if (severity > min_) return;
  static const char* const names[] = {"internal error", "error", "warning", "info", "verbose"};
  std::cerr << "[TensorRT " << names[static_cast<int>(severity)] << "] " << msg << std::endl;
}

TensorRT::TensorRT(nvinfer1::ILogger& logger) : logger_(logger) {
  // The major release of the headers first: interfaces change between majors (createInferRuntime refuses another).
  nvinfer_ = open_first("TSP3D_NVINFER", {"libnvinfer.so." + std::to_string(NV_TENSORRT_MAJOR), "libnvinfer.so"},
                        "libnvinfer");
  auto create = symbol<Factory>(nvinfer_, "createInferRuntime_INTERNAL", "libnvinfer");
  runtime_ = static_cast<nvinfer1::IRuntime*>(create(&logger_, NV_TENSORRT_VERSION));
  if (runtime_ == nullptr) {
    throw RuntimeError("libnvinfer refused to create a runtime (" + version() +
                       "; this program was compiled against TensorRT " + std::to_string(NV_TENSORRT_MAJOR) + "." +
                       std::to_string(NV_TENSORRT_MINOR) + " headers: rebuild it against the installed TensorRT)");
  }
}

TensorRT::~TensorRT() {
  delete runtime_;
  // The libraries stay loaded: engines and plugin creators may outlive this object in the process.
}

std::string TensorRT::version() const {
  using VersionFn = int32_t (*)() noexcept;
  dlerror();
  auto fn = reinterpret_cast<VersionFn>(dlsym(nvinfer_, "getInferLibVersion"));
  if (fn == nullptr) return "libnvinfer version unknown";
  const int32_t v = fn();  // major * 10000 + minor * 100 + patch for TensorRT >= 10
  return "libnvinfer " + std::to_string(v / 10000) + "." + std::to_string((v / 100) % 100) + "." +
         std::to_string(v % 100);
}

void TensorRT::load_plugins(const std::string& path) {
  if (runtime_->getPluginRegistry().loadLibrary(path.c_str()) == nullptr) {
    throw RuntimeError("TensorRT could not load the plugin library " + path +
                       " (missing file, unresolved CUDA libraries, or its plugins are already registered)");
  }
  // TensorRT has it loaded: RTLD_NOLOAD hands back that handle (no second copy, same error records).
  if (void* h = dlopen(path.c_str(), RTLD_NOW | RTLD_NOLOAD)) {
    take_error_ = reinterpret_cast<TakeError>(dlsym(h, "tsp3d_trt_take_error"));
    dlclose(h);  // drops only the reference taken here
  }
}

void* TensorRT::create_builder() {
  auto create = symbol<Factory>(nvinfer_, "createInferBuilder_INTERNAL", "libnvinfer");
  void* builder = create(&logger_, NV_TENSORRT_VERSION);
  if (builder == nullptr) throw RuntimeError("libnvinfer refused to create a builder");
  return builder;
}

void* TensorRT::onnx_parser_factory() {
  if (onnxparser_ == nullptr) {
    onnxparser_ = open_first("TSP3D_NVONNXPARSER",
                             {"libnvonnxparser.so." + std::to_string(NV_TENSORRT_MAJOR), "libnvonnxparser.so"},
                             "libnvonnxparser (needed to build an engine from ONNX)");
  }
  return symbol<void*>(onnxparser_, "createNvOnnxParser_INTERNAL", "libnvonnxparser");
}

}  // namespace runtime
}  // namespace tsp3d
