// A small test harness for the plugin glue tests (plain C++, registered with ctest): checks that record
// failures, a capturing TensorRT logger, a builder of PluginFieldCollections, and shortcuts to the plugins'
// capability interfaces.
#pragma once

#include <cstdint>
#include <cstring>
#include <deque>
#include <iostream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "NvInferRuntime.h"

extern "C" nvinfer1::IPluginCreatorInterface* const* getCreators(int32_t& nb_creators);
extern "C" void setLoggerFinder(nvinfer1::ILoggerFinder* finder);

namespace tsp3d_test {

inline int& failures() {
  static int n = 0;
  return n;
}
inline std::string& current_test() {
  static std::string name;
  return name;
}

inline void fail(const char* file, int line, const std::string& what) {
  ++failures();
  std::cerr << file << ":" << line << ": [" << current_test() << "] check failed: " << what << std::endl;
}

#define CHECK(cond)                                   \
  do {                                                \
    if (!(cond)) ::tsp3d_test::fail(__FILE__, __LINE__, #cond); \
  } while (0)

#define CHECK_EQ(a, b)                                                                         \
  do {                                                                                         \
    const auto& tsp3d_a_ = (a);                                                                \
    const auto& tsp3d_b_ = (b);                                                                \
    if (!(tsp3d_a_ == tsp3d_b_)) {                                                             \
      std::ostringstream tsp3d_os_;                                                            \
      tsp3d_os_ << #a << " == " << #b << " (got '" << tsp3d_a_ << "' vs '" << tsp3d_b_ << "')"; \
      ::tsp3d_test::fail(__FILE__, __LINE__, tsp3d_os_.str());                                 \
    }                                                                                          \
  } while (0)

// Records every message the plugins log.
class CaptureLogger final : public nvinfer1::ILogger {
 public:
  void log(Severity severity, const char* msg) noexcept override {
    (severity <= Severity::kERROR ? errors : warnings).push_back(msg);
  }
  void clear() {
    errors.clear();
    warnings.clear();
  }
  // True when some error contains every one of the fragments.
  bool error_has(std::initializer_list<const char*> fragments) const {
    for (const std::string& e : errors) {
      bool all = true;
      for (const char* f : fragments) all = all && e.find(f) != std::string::npos;
      if (all) return true;
    }
    return false;
  }
  std::string dump() const {
    std::string s;
    for (const std::string& e : errors) s += "\n  error: " + e;
    return s;
  }
  std::vector<std::string> errors, warnings;
};

class CaptureFinder final : public nvinfer1::ILoggerFinder {
 public:
  nvinfer1::ILogger* findLogger() override { return &logger; }
  CaptureLogger logger;
};

// Owns the values a PluginFieldCollection points at.
class Fields {
 public:
  Fields& i32(const char* name, int32_t v) { return raw(name, store(v), nvinfer1::PluginFieldType::kINT32, 1); }
  Fields& i64(const char* name, int64_t v) { return raw(name, store(v), nvinfer1::PluginFieldType::kINT64, 1); }
  Fields& f32(const char* name, float v) { return raw(name, store(v), nvinfer1::PluginFieldType::kFLOAT32, 1); }
  Fields& f64(const char* name, double v) { return raw(name, store(v), nvinfer1::PluginFieldType::kFLOAT64, 1); }
  Fields& raw(const char* name, const void* data, nvinfer1::PluginFieldType type, int32_t length) {
    names_.emplace_back(name);
    fields_.emplace_back(names_.back().c_str(), data, type, length);
    return *this;
  }
  const nvinfer1::PluginFieldCollection* get() {
    fc_.nbFields = static_cast<int32_t>(fields_.size());
    fc_.fields = fields_.data();
    return &fc_;
  }

 private:
  template <typename T>
  const void* store(T v) {
    blobs_.emplace_back(sizeof(T));
    std::memcpy(blobs_.back().data(), &v, sizeof(T));
    return blobs_.back().data();
  }
  std::deque<std::string> names_;
  std::deque<std::vector<char>> blobs_;
  std::vector<nvinfer1::PluginField> fields_;
  nvinfer1::PluginFieldCollection fc_{};
};

inline nvinfer1::IPluginCreatorV3One* creator(const std::string& name) {
  int32_t n = 0;
  nvinfer1::IPluginCreatorInterface* const* all = getCreators(n);
  for (int32_t i = 0; i < n; ++i) {
    auto* c = static_cast<nvinfer1::IPluginCreatorV3One*>(all[i]);
    if (name == c->getPluginName()) return c;
  }
  return nullptr;
}

struct PluginDeleter {
  void operator()(nvinfer1::IPluginV3* p) const { delete p; }
};
using Plugin = std::unique_ptr<nvinfer1::IPluginV3, PluginDeleter>;

inline Plugin create(const std::string& op, Fields& fields,
                     nvinfer1::TensorRTPhase phase = nvinfer1::TensorRTPhase::kBUILD, const char* node = "node_0") {
  nvinfer1::IPluginCreatorV3One* c = creator(op);
  return Plugin(c != nullptr ? c->createPlugin(node, fields.get(), phase) : nullptr);
}

inline nvinfer1::IPluginV3OneCore* core(nvinfer1::IPluginV3* p) {
  return static_cast<nvinfer1::IPluginV3OneCore*>(p->getCapabilityInterface(nvinfer1::PluginCapabilityType::kCORE));
}
inline nvinfer1::IPluginV3OneBuild* build(nvinfer1::IPluginV3* p) {
  return static_cast<nvinfer1::IPluginV3OneBuild*>(p->getCapabilityInterface(nvinfer1::PluginCapabilityType::kBUILD));
}
inline nvinfer1::IPluginV3OneRuntime* runtime(nvinfer1::IPluginV3* p) {
  return static_cast<nvinfer1::IPluginV3OneRuntime*>(
      p->getCapabilityInterface(nvinfer1::PluginCapabilityType::kRUNTIME));
}

// Defined by the glue test runner (plugin_glue_test.cpp): its capturing logger, and a plugin of `op` created
// from valid attributes (a failure is recorded).
CaptureLogger& logs();
Plugin make(const std::string& op);
void add_shape_and_format_tests(std::vector<std::pair<const char*, void (*)()>>& tests);

inline nvinfer1::DynamicPluginTensorDesc desc(nvinfer1::DataType type, std::initializer_list<int64_t> dims,
                                              nvinfer1::TensorFormat format = nvinfer1::TensorFormat::kLINEAR) {
  nvinfer1::DynamicPluginTensorDesc d{};
  d.desc.type = type;
  d.desc.format = format;
  d.desc.dims.nbDims = static_cast<int32_t>(dims.size());
  int32_t i = 0;
  for (int64_t v : dims) d.desc.dims.d[i++] = v;
  d.min = d.max = d.opt = d.desc.dims;
  return d;
}

}  // namespace tsp3d_test
