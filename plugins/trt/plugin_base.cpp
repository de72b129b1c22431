#include "plugin_base.h"

#include <array>

#include "op_helpers.h"
#include "tsp3d/c_api_cuda.h"

namespace tsp3d {
namespace trt {

using nvinfer1::PluginCapabilityType;

namespace {

// The first 256 bytes of the TensorRT workspace hold the kernel's int32 status and int64 count.
constexpr size_t kResultBytes = 256;

}  // namespace

PluginBase::PluginBase(const Signature& signature, std::string node, Attributes attrs)
    : op_(signature.op), sig_(&signature), node_(std::move(node)), where_(trt::where(op_, node_)),
      attrs_(std::move(attrs)), node_id_(trt::node_id(where_)) {
  TSP3D_VALIDATE(sig_->max_inputs() <= kMaxInputs, op_ << ": a signature of more than " << kMaxInputs << " inputs");
}

nvinfer1::IPluginCapability* PluginBase::getCapabilityInterface(PluginCapabilityType type) noexcept {
  switch (type) {
    case PluginCapabilityType::kBUILD: return static_cast<nvinfer1::IPluginV3OneBuild*>(this);
    case PluginCapabilityType::kRUNTIME: return static_cast<nvinfer1::IPluginV3OneRuntime*>(this);
    case PluginCapabilityType::kCORE: return static_cast<nvinfer1::IPluginV3OneCore*>(this);
  }
  return nullptr;
}

void PluginBase::check_inputs(int32_t nb_inputs) const {
  const int32_t lo = sig_->min_inputs(), hi = sig_->max_inputs();
  TSP3D_VALIDATE(nb_inputs >= lo && nb_inputs <= hi,
                 "expected " << lo << (hi != lo ? " to " + std::to_string(hi) : std::string()) << " inputs, got "
                             << nb_inputs);
}

void PluginBase::check_counts(int32_t nb_inputs, int32_t nb_outputs) const {
  check_inputs(nb_inputs);
  const int32_t n = sig_->nb_outputs();
  TSP3D_VALIDATE(nb_outputs == n, "expected " << n << " outputs, got " << nb_outputs);
}

int32_t PluginBase::take_counts(const char* method, int32_t nb_inputs, int32_t nb_outputs) noexcept {
  try {
    check_counts(nb_inputs, nb_outputs);
    nb_inputs_ = nb_inputs;
    return 0;
  } catch (const std::exception& e) {
    report(where_, method, e);
    return -1;
  }
}

int32_t PluginBase::configurePlugin(const DynamicPluginTensorDesc*, int32_t nb_inputs, const DynamicPluginTensorDesc*,
                                    int32_t nb_outputs) noexcept {
  return take_counts("configurePlugin", nb_inputs, nb_outputs);
}

int32_t PluginBase::getOutputDataTypes(DataType* types_out, int32_t nb_outputs, const DataType* input_types,
                                       int32_t nb_inputs) const noexcept {
  try {
    check_counts(nb_inputs, nb_outputs);
    output_types_of(*sig_, input_types, nb_inputs, types_out, nb_outputs);
    return 0;
  } catch (const std::exception& e) {
    report(where_, "getOutputDataTypes", e);
    return -1;
  }
}

int32_t PluginBase::getOutputShapes(const DimsExprs* inputs, int32_t nb_inputs, const DimsExprs*,
                                    int32_t nb_shape_inputs, DimsExprs* outputs, int32_t nb_outputs,
                                    IExprBuilder& builder) noexcept {
  try {
    TSP3D_VALIDATE(nb_shape_inputs == 0, "takes no shape inputs, got " << nb_shape_inputs);
    check_counts(nb_inputs, nb_outputs);
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
    if (nb_inputs < sig_->min_inputs() || nb_inputs > sig_->max_inputs() || nb_outputs != sig_->nb_outputs()) {
      return false;
    }
    if (in_out[pos].desc.format != nvinfer1::TensorFormat::kLINEAR) return false;
    return supports_type(*sig_, pos, in_out, nb_inputs);
  } catch (const std::exception& e) {
    report(where_, "supportsFormatCombination", e);
    return false;
  }
}

size_t PluginBase::getWorkspaceSize(const DynamicPluginTensorDesc* inputs, int32_t nb_inputs,
                                    const DynamicPluginTensorDesc*, int32_t) const noexcept {
  try {
    check_inputs(nb_inputs);
    std::array<Dims, kMaxInputs> largest{};
    for (int32_t i = 0; i < nb_inputs; ++i) largest[i] = max_dims(inputs[i]);
    size_t bytes = 0;
    return kResultBytes + workspace_or_throw(workspace_size(largest.data(), &bytes), bytes, op_);
  } catch (const std::exception& e) {
    report(where_, "getWorkspaceSize", e);
    return 0;
  }
}

int32_t PluginBase::onShapeChange(const PluginTensorDesc*, int32_t nb_inputs, const PluginTensorDesc*,
                                  int32_t nb_outputs) noexcept {
  return take_counts("onShapeChange", nb_inputs, nb_outputs);
}

int32_t PluginBase::enqueue(const PluginTensorDesc* input_desc, const PluginTensorDesc* output_desc,
                            const void* const* inputs, void* const* outputs, void* workspace,
                            cudaStream_t stream) noexcept {
  try {
    TSP3D_VALIDATE(nb_inputs_ >= 0, "enqueue before onShapeChange: the number of inputs is unknown");
    TSP3D_VALIDATE(workspace != nullptr, "no workspace (getWorkspaceSize failed at build time?)");
    std::array<Dims, kMaxInputs> shapes{};
    for (int32_t i = 0; i < nb_inputs_; ++i) shapes[i] = input_desc[i].dims;
    char* base = static_cast<char*>(workspace);
    Workspace ws{reinterpret_cast<int32_t*>(base), reinterpret_cast<int64_t*>(base + 8), base + kResultBytes, 0};
    if (!launched("workspace query", workspace_size(shapes.data(), &ws.bytes))) return -1;
    return run(input_desc, output_desc, inputs, outputs, ws, stream) ? 0 : -1;
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

bool PluginBase::size_tensor(const Workspace& ws, int64_t subtract, void* size_out, cudaStream_t stream) const {
  return launched("size tensor",
                  tsp3d_cuda_size_from_count(ws.count, ws.status, subtract, static_cast<int32_t*>(size_out), stream));
}

bool PluginBase::recorded(const Workspace& ws, cudaStream_t stream) {
  if (!record_) record_ = record_for(context_key_);
  return launched("error record", tsp3d_cuda_record_error(ws.status, record_->device(), node_id_, stream));
}

}  // namespace trt
}  // namespace tsp3d
