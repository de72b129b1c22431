#include "plugin_base.h"

#include "tsp3d/c_api_cuda.h"

namespace tsp3d {
namespace trt {

using nvinfer1::PluginCapabilityType;

PluginBase::PluginBase(const char* op, std::string node, Attributes attrs)
    : op_(op), node_(std::move(node)), where_(trt::where(op, node_)), attrs_(std::move(attrs)),
      node_id_(trt::node_id(where_)) {}

nvinfer1::IPluginCapability* PluginBase::getCapabilityInterface(PluginCapabilityType type) noexcept {
  switch (type) {
    case PluginCapabilityType::kBUILD: return static_cast<nvinfer1::IPluginV3OneBuild*>(this);
    case PluginCapabilityType::kRUNTIME: return static_cast<nvinfer1::IPluginV3OneRuntime*>(this);
    case PluginCapabilityType::kCORE: return static_cast<nvinfer1::IPluginV3OneCore*>(this);
  }
  return nullptr;
}

void PluginBase::check_inputs(int32_t nb_inputs) const {
  const int32_t lo = min_inputs(), hi = max_inputs();
  TSP3D_VALIDATE(nb_inputs >= lo && nb_inputs <= hi,
                 "expected " << lo << (hi != lo ? " to " + std::to_string(hi) : std::string()) << " inputs, got "
                             << nb_inputs);
}

int32_t PluginBase::configurePlugin(const DynamicPluginTensorDesc*, int32_t nb_inputs, const DynamicPluginTensorDesc*,
                                    int32_t nb_outputs) noexcept {
  try {
    check_inputs(nb_inputs);
    TSP3D_VALIDATE(nb_outputs == this->nb_outputs(), "expected " << this->nb_outputs() << " outputs, got " << nb_outputs);
    nb_inputs_ = nb_inputs;
    return 0;
  } catch (const std::exception& e) {
    report(where_, "configurePlugin", e);
    return -1;
  }
}

int32_t PluginBase::getOutputDataTypes(DataType* types_out, int32_t nb_outputs, const DataType* input_types,
                                       int32_t nb_inputs) const noexcept {
  try {
    check_inputs(nb_inputs);
    TSP3D_VALIDATE(nb_outputs == this->nb_outputs(), "expected " << this->nb_outputs() << " outputs, got " << nb_outputs);
    output_types(types_out, nb_outputs, input_types, nb_inputs);
    return 0;
  } catch (const std::exception& e) {
    report(where_, "getOutputDataTypes", e);
    return -1;
  }
}

int32_t PluginBase::getOutputShapes(const DimsExprs* inputs, int32_t nb_inputs, const DimsExprs*, int32_t nb_shape_inputs,
                                    DimsExprs* outputs, int32_t nb_outputs, IExprBuilder& builder) noexcept {
  try {
    check_inputs(nb_inputs);
    TSP3D_VALIDATE(nb_shape_inputs == 0, "takes no shape inputs, got " << nb_shape_inputs);
    TSP3D_VALIDATE(nb_outputs == this->nb_outputs(), "expected " << this->nb_outputs() << " outputs, got " << nb_outputs);
    output_shapes(inputs, nb_inputs, outputs, nb_outputs, builder);
    return 0;
  } catch (const std::exception& e) {
    report(where_, "getOutputShapes", e);
    return -1;
  }
}

bool PluginBase::supportsFormatCombination(int32_t pos, const DynamicPluginTensorDesc* in_out, int32_t nb_inputs,
                                           int32_t nb_outputs) noexcept {
  try {
    if (pos < 0 || pos >= nb_inputs + nb_outputs) return false;
    if (in_out[pos].desc.format != nvinfer1::TensorFormat::kLINEAR) return false;
    return supports(pos, in_out, nb_inputs, nb_outputs);
  } catch (const std::exception& e) {
    report(where_, "supportsFormatCombination", e);
    return false;
  }
}

size_t PluginBase::getWorkspaceSize(const DynamicPluginTensorDesc* inputs, int32_t nb_inputs,
                                    const DynamicPluginTensorDesc*, int32_t) const noexcept {
  try {
    return kResultBytes + kernel_workspace_bytes(inputs, nb_inputs);
  } catch (const std::exception& e) {
    report(where_, "getWorkspaceSize", e);
    return 0;
  }
}

int32_t PluginBase::onShapeChange(const PluginTensorDesc*, int32_t nb_inputs, const PluginTensorDesc*,
                                  int32_t nb_outputs) noexcept {
  try {
    check_inputs(nb_inputs);
    TSP3D_VALIDATE(nb_outputs == this->nb_outputs(), "expected " << this->nb_outputs() << " outputs, got " << nb_outputs);
    nb_inputs_ = nb_inputs;
    return 0;
  } catch (const std::exception& e) {
    report(where_, "onShapeChange", e);
    return -1;
  }
}

int32_t PluginBase::enqueue(const PluginTensorDesc* input_desc, const PluginTensorDesc* output_desc,
                            const void* const* inputs, void* const* outputs, void* workspace,
                            cudaStream_t stream) noexcept {
  try {
    TSP3D_VALIDATE(nb_inputs_ >= 0, "enqueue before onShapeChange: the number of inputs is unknown");
    TSP3D_VALIDATE(workspace != nullptr, "no workspace (getWorkspaceSize failed at build time?)");
    return run(input_desc, output_desc, inputs, outputs, workspace, stream) ? 0 : -1;
  } catch (const std::exception& e) {
    report(where_, "enqueue", e);
    return -1;
  }
}

nvinfer1::IPluginV3* PluginBase::clone() noexcept {
  try {
    return copy();
  } catch (const std::exception& e) {
    report(where_, "clone", e);
    return nullptr;
  }
}

nvinfer1::IPluginV3* PluginBase::attachToContext(nvinfer1::IPluginResourceContext* context) noexcept {
  try {
    PluginBase* p = copy();
    p->context_key_ = context;  // plugins of one execution context share one error record
    p->record_.reset();
    return p;
  } catch (const std::exception& e) {
    report(where_, "attachToContext", e);
    return nullptr;
  }
}

const nvinfer1::PluginFieldCollection* PluginBase::getFieldsToSerialize() noexcept {
  try {
    return attrs_.serialize();
  } catch (const std::exception& e) {
    report(where_, "getFieldsToSerialize", e);
    return nullptr;
  }
}

bool PluginBase::launched(const char* what, int32_t status) const {
  return report_launch(where_, what, status) == 0;
}

bool PluginBase::recorded(void* ws, cudaStream_t stream) {
  if (!record_) record_ = record_for(context_key_);
  return launched("error record", tsp3d_cuda_record_error(status_slot(ws), record_->device(), node_id_, stream));
}

std::string status_text(int32_t status) { return tsp3d_cuda_status_string(status); }

}  // namespace trt
}  // namespace tsp3d
