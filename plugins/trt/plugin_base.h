// Common IPluginV3 machinery of every tsp3d plugin: the three capabilities (OneCore/OneBuild/OneRuntime), name,
// version and namespace, attribute serialization, and the noexcept boundary. Each op implements the protected
// hooks, which may throw; the overrides here catch, log "<Op> node '<name>': <method>: <message>" and return the
// failure value TensorRT expects. The ops call kernels only through the C API of libtsp3d_cuda.so.
#pragma once

#include <memory>
#include <string>

#include "NvInferRuntime.h"
#include "error_record.h"
#include "field_schema.h"
#include "plugin_utils.h"

namespace tsp3d {
namespace trt {

std::string status_text(int32_t status);

// Plugin names are the ONNX op types; version "1" is the tsp3d ONNX domain version; the namespace is empty, the
// ONNX parser's default (it looks plugins up by op type, `plugin_version` and `plugin_namespace` attributes).
constexpr const char* kPluginVersion = "1";
constexpr const char* kPluginNamespace = "";

using nvinfer1::DataType;
using nvinfer1::DimsExprs;
using nvinfer1::DynamicPluginTensorDesc;
using nvinfer1::IExprBuilder;
using nvinfer1::PluginTensorDesc;

class PluginBase : public nvinfer1::IPluginV3,
                   public nvinfer1::IPluginV3OneCore,
                   public nvinfer1::IPluginV3OneBuild,
                   public nvinfer1::IPluginV3OneRuntime {
 public:
  PluginBase(const char* op, std::string node, Attributes attrs);
  PluginBase(const PluginBase&) = default;
  ~PluginBase() override = default;

  // IPluginV3
  nvinfer1::IPluginCapability* getCapabilityInterface(nvinfer1::PluginCapabilityType type) noexcept override;
  nvinfer1::IPluginV3* clone() noexcept override;
  // IPluginV3OneCore
  const char* getPluginName() const noexcept override { return op_; }
  const char* getPluginVersion() const noexcept override { return kPluginVersion; }
  const char* getPluginNamespace() const noexcept override { return kPluginNamespace; }
  // IPluginV3OneBuild
  int32_t configurePlugin(const DynamicPluginTensorDesc* in, int32_t nb_inputs, const DynamicPluginTensorDesc* out,
                          int32_t nb_outputs) noexcept override;
  int32_t getOutputDataTypes(DataType* types_out, int32_t nb_outputs, const DataType* input_types,
                             int32_t nb_inputs) const noexcept override;
  int32_t getOutputShapes(const DimsExprs* inputs, int32_t nb_inputs, const DimsExprs* shape_inputs,
                          int32_t nb_shape_inputs, DimsExprs* outputs, int32_t nb_outputs,
                          IExprBuilder& builder) noexcept override;
  bool supportsFormatCombination(int32_t pos, const DynamicPluginTensorDesc* in_out, int32_t nb_inputs,
                                 int32_t nb_outputs) noexcept override;
  int32_t getNbOutputs() const noexcept override { return nb_outputs(); }
  size_t getWorkspaceSize(const DynamicPluginTensorDesc* inputs, int32_t nb_inputs,
                          const DynamicPluginTensorDesc* outputs, int32_t nb_outputs) const noexcept override;
  // IPluginV3OneRuntime
  int32_t onShapeChange(const PluginTensorDesc* in, int32_t nb_inputs, const PluginTensorDesc* out,
                        int32_t nb_outputs) noexcept override;
  int32_t enqueue(const PluginTensorDesc* input_desc, const PluginTensorDesc* output_desc, const void* const* inputs,
                  void* const* outputs, void* workspace, cudaStream_t stream) noexcept override;
  nvinfer1::IPluginV3* attachToContext(nvinfer1::IPluginResourceContext* context) noexcept override;
  const nvinfer1::PluginFieldCollection* getFieldsToSerialize() noexcept override;

  const std::string& where() const { return where_; }

 protected:
  // The first 256 bytes of the TensorRT workspace hold the kernel's int32 status and int64 count; the kernel
  // workspace follows.
  static constexpr size_t kResultBytes = 256;
  static int32_t* status_slot(void* ws) { return static_cast<int32_t*>(ws); }
  static int64_t* count_slot(void* ws) { return reinterpret_cast<int64_t*>(static_cast<char*>(ws) + 8); }
  static void* kernel_workspace(void* ws) { return static_cast<char*>(ws) + kResultBytes; }

  // Op hooks (may throw PluginError).
  virtual int32_t min_inputs() const = 0;
  virtual int32_t max_inputs() const { return min_inputs(); }
  virtual int32_t nb_outputs() const = 0;
  virtual void output_types(DataType* out, int32_t nb_out, const DataType* in, int32_t nb_in) const = 0;
  virtual void output_shapes(const DimsExprs* in, int32_t nb_in, DimsExprs* out, int32_t nb_out,
                             IExprBuilder& builder) const = 0;
  virtual bool supports(int32_t pos, const DynamicPluginTensorDesc* io, int32_t nb_in, int32_t nb_out) const = 0;
  // Bytes of the kernel workspace for the largest shapes (`max` dims); kResultBytes is added by the base.
  virtual size_t kernel_workspace_bytes(const DynamicPluginTensorDesc* in, int32_t nb_in) const = 0;
  // Launch and check; returns false after logging when something failed.
  virtual bool run(const PluginTensorDesc* in, const PluginTensorDesc* out, const void* const* inputs,
                   void* const* outputs, void* ws, cudaStream_t stream) = 0;
  virtual PluginBase* copy() const = 0;

  // Helpers for the ops.
  void check_inputs(int32_t nb_inputs) const;
  bool launched(const char* what, int32_t status) const;  // false (logged) when the launch call failed
  // Ops without a size tensor: queues the kernel status into the context's error record; no host wait
  // (error_record.h). False (logged) only when that launch failed.
  bool recorded(void* ws, cudaStream_t stream);
  // Ops with a size tensor: records the status, then waits for the stream once and reads the record (and the
  // count). A failure of this node logs "<where>: <status text>[; <detail(result)>]", an earlier node's failure
  // "<its where>: <status text>"; both return false.
  template <typename Detail>
  bool finished(void* ws, cudaStream_t stream, Detail detail) {
    if (!recorded(ws, stream)) return false;
    DeviceResult r;
    if (read_record(where_, record_->device(), count_slot(ws), stream, &r)) return true;
    if (r.status != 0 && r.node == node_id_) {
      const std::string extra = detail(r);
      log_error(where_ + ": " + status_text(r.status) + (extra.empty() ? "" : "; " + extra));
    } else if (r.status != 0) {
      log_error(node_where(r.node) + ": " + status_text(r.status) + " (reported at " + where_ + ")");
    }
    return false;
  }

  const char* op_;
  std::string node_;
  std::string where_;
  Attributes attrs_;
  int32_t nb_inputs_ = -1;  // known after configurePlugin / onShapeChange (optional inputs)
  int32_t node_id_ = 0;
  const void* context_key_ = nullptr;      // the IPluginResourceContext of attachToContext (null while building)
  std::shared_ptr<DeviceRecord> record_;  // acquired at the first enqueue
};

}  // namespace trt
}  // namespace tsp3d
