// Prints the plugin creators of libtsp3d_trt.so as JSON - name, version, namespace and advertised fields with
// their types - exactly what the ONNX parser sees through getCreators. tsp3d check-engine reads the committed copy
// (tsp3d/engine/data/trt_plugin_creators.json); tests/test_trt_plugins.py keeps it in sync with this output.
#include <iostream>
#include <string>

#include "NvInferRuntime.h"

extern "C" nvinfer1::IPluginCreatorInterface* const* getCreators(int32_t& nb_creators);

namespace {

const char* type_name(nvinfer1::PluginFieldType t) {
  switch (t) {
    case nvinfer1::PluginFieldType::kINT32: return "int32";
    case nvinfer1::PluginFieldType::kINT64: return "int64";
    case nvinfer1::PluginFieldType::kFLOAT32: return "float32";
    case nvinfer1::PluginFieldType::kFLOAT64: return "float64";
    default: return "other";
  }
}

}  // namespace

int main() {
  int32_t n = 0;
  nvinfer1::IPluginCreatorInterface* const* all = getCreators(n);
  std::cout << "{\n \"format\": \"tsp3d-trt-creators/1\",\n \"creators\": [";
  for (int32_t i = 0; i < n; ++i) {
    auto* c = static_cast<nvinfer1::IPluginCreatorV3One*>(all[i]);
    std::cout << (i ? "," : "") << "\n  {\"name\": \"" << c->getPluginName() << "\", \"version\": \""
              << c->getPluginVersion() << "\", \"namespace\": \"" << c->getPluginNamespace() << "\", \"fields\": [";
    const nvinfer1::PluginFieldCollection* fc = c->getFieldNames();
    for (int32_t j = 0; fc != nullptr && j < fc->nbFields; ++j) {
      std::cout << (j ? ", " : "") << "{\"name\": \"" << fc->fields[j].name << "\", \"type\": \""
                << type_name(fc->fields[j].type) << "\"}";
    }
    std::cout << "]}";
  }
  std::cout << "\n ]\n}\n";
  return 0;
}
