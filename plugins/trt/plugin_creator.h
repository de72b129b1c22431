// One creator class for every op: the op's name and attribute schema come from the plugin class (kSignature.op,
// kSchema); createPlugin parses and validates the fields (field_schema.h) and constructs the plugin, whose
// constructor checks the attribute values. Failures are logged with the op and node name; nullptr is returned.
#pragma once

#include <string>

#include "NvInferRuntime.h"
#include "field_schema.h"
#include "plugin_base.h"
#include "plugin_utils.h"

namespace tsp3d {
namespace trt {

template <typename Plugin>
class PluginCreator final : public nvinfer1::IPluginCreatorV3One {
 public:
  PluginCreator() : names_(Plugin::kSchema) {}

  nvinfer1::IPluginV3* createPlugin(const char* name, const nvinfer1::PluginFieldCollection* fc,
                                    nvinfer1::TensorRTPhase phase) noexcept override {
    const std::string node = name != nullptr ? name : "";
    try {
      return new Plugin(node, Attributes::parse(op_name(), Plugin::kSchema, fc, phase));
    } catch (const std::exception& e) {
      report(where(op_name(), node), "createPlugin", e);
      return nullptr;
    }
  }
  const nvinfer1::PluginFieldCollection* getFieldNames() noexcept override { return names_.get(); }
  const char* getPluginName() const noexcept override { return op_name(); }
  const char* getPluginVersion() const noexcept override { return kPluginVersion; }
  const char* getPluginNamespace() const noexcept override { return kPluginNamespace; }

 private:
  static const char* op_name() { return Plugin::kSignature.op; }
  FieldNames names_;
};

// The one creator of an op, for getCreators (each op's .cpp returns it from its function in op_creators.h).
template <typename Plugin>
nvinfer1::IPluginCreatorInterface* creator_of() {
  static PluginCreator<Plugin> creator;
  return &creator;
}

}  // namespace trt
}  // namespace tsp3d
