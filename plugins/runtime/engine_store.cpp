#include "engine_store.h"

#include <cstdio>
#include <fstream>
#include <sstream>

#include "NvInfer.h"

#if __has_include(<NvOnnxParser.h>)
#include <NvOnnxParser.h>
#define TSP3D_HAVE_ONNX_PARSER 1
#else
#define TSP3D_HAVE_ONNX_PARSER 0
#endif

namespace tsp3d {
namespace runtime {
namespace {

bool file_exists(const std::string& path) { return std::ifstream(path).good(); }

std::string read_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw RuntimeError("cannot open " + path);
  std::ostringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

Engine deserialize(TensorRT& trt, const std::string& path) {
  const std::string blob = read_file(path);
  Engine engine(trt.runtime().deserializeCudaEngine(blob.data(), blob.size()));
  if (!engine) {
    throw RuntimeError("cannot deserialize " + path + " with " + trt.version() +
                       " (engines are tied to the GPU, the TensorRT version and the plugin library; rebuild it "
                       "with --rebuild and --onnx)");
  }
  return engine;
}

#if TSP3D_HAVE_ONNX_PARSER
// Write to a temporary sibling, then rename: a crash leaves the old file or the whole new one.
void write_atomically(const std::string& path, const void* data, size_t size) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
    if (!f || !f.write(static_cast<const char*>(data), static_cast<std::streamsize>(size)) || !f.flush()) {
      std::remove(tmp.c_str());
      throw RuntimeError("cannot write " + tmp);
    }
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    std::remove(tmp.c_str());
    throw RuntimeError("cannot rename " + tmp + " to " + path);
  }
}

template <typename T>
struct Deleter {
  void operator()(T* p) const { delete p; }
};
template <typename T>
using Owned = std::unique_ptr<T, Deleter<T>>;

Engine build(TensorRT& trt, const EngineOptions& o, const std::map<std::string, std::vector<int64_t>>& shapes) {
  Owned<nvinfer1::IBuilder> builder(static_cast<nvinfer1::IBuilder*>(trt.create_builder()));
  // Strongly typed: the exported graph's FP16/INT8 types are the precision. TensorRT 11 always is, and renumbered
  // the deprecated flag (10: kSTRONGLY_TYPED = 1; 11: 0, and bit 1 means kPREFER_JIT_PYTHON_PLUGINS).
#if NV_TENSORRT_MAJOR >= 11
  const uint32_t flags = 0;
#else
  const auto flags = 1U << static_cast<uint32_t>(nvinfer1::NetworkDefinitionCreationFlag::kSTRONGLY_TYPED);
#endif
  Owned<nvinfer1::INetworkDefinition> network(builder->createNetworkV2(flags));
  using ParserFactory = void* (*)(void*, void*, int) noexcept;
  auto make_parser = reinterpret_cast<ParserFactory>(trt.onnx_parser_factory());
  Owned<nvonnxparser::IParser> parser(
      static_cast<nvonnxparser::IParser*>(make_parser(network.get(), &trt.logger(), NV_ONNX_PARSER_VERSION)));
  if (!network || !parser) throw RuntimeError("TensorRT could not create a network or an ONNX parser");
  if (!parser->parseFromFile(o.onnx_path.c_str(), static_cast<int>(nvinfer1::ILogger::Severity::kWARNING))) {
    std::string errors;
    for (int32_t i = 0; i < parser->getNbErrors(); ++i) errors += std::string("\n  ") + parser->getError(i)->desc();
    throw RuntimeError("cannot parse " + o.onnx_path + errors +
                       "\n  (is the tsp3d plugin library loaded? it must be, before parsing)");
  }
  Owned<nvinfer1::IBuilderConfig> config(builder->createBuilderConfig());
  config->setMemoryPoolLimit(nvinfer1::MemoryPoolType::kWORKSPACE, o.workspace_bytes);
  nvinfer1::IOptimizationProfile* profile = builder->createOptimizationProfile();
  for (int32_t i = 0; i < network->getNbInputs(); ++i) {
    nvinfer1::ITensor* in = network->getInput(i);
    nvinfer1::Dims d = in->getDimensions();
    const auto at = shapes.find(in->getName());
    if (at == shapes.end() || static_cast<int32_t>(at->second.size()) != d.nbDims) {
      throw RuntimeError(std::string("no input of matching rank for the network input '") + in->getName() + "'");
    }
    nvinfer1::Dims lo = d, opt = d, hi = d;
    for (int32_t k = 0; k < d.nbDims; ++k) {
      if (d.d[k] >= 0) continue;
      opt.d[k] = at->second[k];
      lo.d[k] = k == 0 ? 1 : at->second[k];
      const auto m = o.max_rows.find(in->getName());
      hi.d[k] = k == 0 ? (m != o.max_rows.end() ? m->second : o.default_max_rows) : at->second[k];
      if (opt.d[k] > hi.d[k]) {
        throw RuntimeError(std::string("input '") + in->getName() + "' has " + std::to_string(opt.d[k]) +
                           " rows, over the profile maximum " + std::to_string(hi.d[k]) + " (raise --max-rows)");
      }
    }
    using S = nvinfer1::OptProfileSelector;
    profile->setDimensions(in->getName(), S::kMIN, lo);
    profile->setDimensions(in->getName(), S::kOPT, opt);
    profile->setDimensions(in->getName(), S::kMAX, hi);
  }
  config->addOptimizationProfile(profile);
  Owned<nvinfer1::IHostMemory> plan(builder->buildSerializedNetwork(*network, *config));
  if (!plan) throw RuntimeError("TensorRT could not build an engine from " + o.onnx_path + " (see its log above)");
  write_atomically(o.engine_path, plan->data(), plan->size());
  Engine engine(trt.runtime().deserializeCudaEngine(plan->data(), plan->size()));
  if (!engine) throw RuntimeError("the engine just built does not deserialize");
  return engine;
}
#endif

}  // namespace

bool can_build_from_onnx() { return TSP3D_HAVE_ONNX_PARSER != 0; }

Engine load_or_build_engine(TensorRT& trt, const EngineOptions& o,
                            const std::map<std::string, std::vector<int64_t>>& first_shapes) {
  if (o.engine_path.empty()) throw RuntimeError("no engine path");
  if (file_exists(o.engine_path) && !o.rebuild) return deserialize(trt, o.engine_path);
  if (o.onnx_path.empty()) {
    throw RuntimeError(o.engine_path + (o.rebuild ? ": --rebuild needs --onnx" : " does not exist; pass --onnx to build it"));
  }
#if TSP3D_HAVE_ONNX_PARSER
  return build(trt, o, first_shapes);
#else
  (void)first_shapes;
  throw RuntimeError("this tsp3d_infer was compiled without NvOnnxParser.h, so it cannot build engines: build " +
                     o.engine_path + " with trtexec --onnx=" + o.onnx_path +
                     " --dynamicPlugins=libtsp3d_trt.so --saveEngine=... or rebuild tsp3d_infer with TENSORRT_ROOT");
#endif
}

}  // namespace runtime
}  // namespace tsp3d
