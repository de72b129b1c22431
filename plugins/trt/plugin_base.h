// Common IPluginV3 machinery of every tsp3d plugin: the three capabilities (OneCore/OneBuild/OneRuntime), name,
// version and namespace, input/output counts and types (from the op's Signature, op_signature.h), attribute
// serialization, the workspace (status word, row count, kernel workspace) and the noexcept boundary. The IPluginV3
// overrides are declared here once; an op states its name, signature and attribute schema and implements three
// hooks (which may throw): its class derives from OpPlugin<Op> and lives in the op's .cpp, which hands out its
// creator (op_creators.h). The overrides catch, log "<Op> node '<name>': <method>: <message>" and return the
// failure value TensorRT expects. The ops call kernels only through the C API of libtsp3d_cuda.so.
#pragma once

#include <memory>
#include <string>

#include "NvInferRuntime.h"
#include "error_record.h"
#include "field_schema.h"
#include "op_signature.h"
#include "plugin_utils.h"

namespace tsp3d {
namespace trt {

// Plugin names are the ONNX op types; version "1" is the tsp3d ONNX domain version; the namespace is empty, the
// ONNX parser's default (it looks plugins up by op type, `plugin_version` and `plugin_namespace` attributes).
constexpr const char* kPluginVersion = "1";
constexpr const char* kPluginNamespace = "";

using nvinfer1::DataType;
using nvinfer1::Dims;
using nvinfer1::DimsExprs;
using nvinfer1::DynamicPluginTensorDesc;
using nvinfer1::IExprBuilder;
using nvinfer1::PluginTensorDesc;

constexpr int32_t kMaxInputs = 8;  // the most inputs a signature may have

// One enqueue's share of the TensorRT workspace: the first 256 bytes hold the kernel's int32 status and int64
// row count, the kernel workspace (`bytes`, as the op's workspace_size hook asked) follows.
struct Workspace {
  int32_t* status;
  int64_t* count;
  void* kernel;
  size_t bytes;
};

class PluginBase : public nvinfer1::IPluginV3,
                   public nvinfer1::IPluginV3OneCore,
                   public nvinfer1::IPluginV3OneBuild,
                   public nvinfer1::IPluginV3OneRuntime {
 public:
  // `signature` outlives the plugin (a static member of the op).
  PluginBase(const Signature& signature, std::string node, Attributes attrs);
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
  int32_t getNbOutputs() const noexcept override { return sig_->nb_outputs(); }
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
  // Op hooks (may throw PluginError). Shapes see valid input and output counts.
  virtual void output_shapes(const DimsExprs* in, int32_t nb_in, DimsExprs* out, int32_t nb_out,
                             IExprBuilder& builder) const = 0;
  // The kernel's workspace query for inputs of shapes `in` (the profile's largest at build time, the actual ones
  // at enqueue): a tsp3d_cuda_*_workspace_size call.
  virtual int32_t workspace_size(const Dims* in, size_t* bytes) const = 0;
  // Launch and check; returns false after logging when something failed.
  virtual bool run(const PluginTensorDesc* in, const PluginTensorDesc* out, const void* const* inputs,
                   void* const* outputs, const Workspace& ws, cudaStream_t stream) = 0;
  virtual PluginBase* copy() const = 0;

  // Helpers for the ops.
  bool launched(const char* what, int32_t status) const;  // false (logged) when the launch call failed
  // Ops with a size tensor: output `size_out` (int32 device scalar) = the kernel's count - subtract, or 0 on error.
  bool size_tensor(const Workspace& ws, int64_t subtract, void* size_out, cudaStream_t stream) const;
  // Ops without a size tensor: queues the kernel status into the context's error record; no host wait
  // (error_record.h). False (logged) only when that launch failed.
  bool recorded(const Workspace& ws, cudaStream_t stream);
  // Ops with a size tensor: records the status, then waits for the stream once and reads the record (and the
  // count). A failure of this node logs "<where>: <status_message(status, detail(result))>", an earlier node's
  // failure "<its where>: <status_message(status)> (reported at <where>)"; both return false.
  template <typename Detail>
  bool finished(const Workspace& ws, cudaStream_t stream, Detail detail) {
    if (!recorded(ws, stream)) return false;
    DeviceResult r;
    if (read_record(where_, record_->device(), ws.count, stream, &r)) return true;
    if (r.status != 0 && r.node == node_id_) {
      log_error(where_ + ": " + status_message(r.status, detail(r)));
    } else if (r.status != 0) {
      log_error(node_where(r.node) + ": " + status_message(r.status) + " (reported at " + where_ + ")");
    }
    return false;
  }

  const char* op_;
  const Signature* sig_;
  std::string node_;
  std::string where_;
  Attributes attrs_;
  int32_t nb_inputs_ = -1;  // known after configurePlugin / onShapeChange (optional inputs)

 private:
  void check_counts(int32_t nb_inputs, int32_t nb_outputs) const;
  // configurePlugin / onShapeChange: checks the counts and keeps the number of inputs.
  int32_t take_counts(const char* method, int32_t nb_inputs, int32_t nb_outputs) noexcept;
  void check_inputs(int32_t nb_inputs) const;

  int32_t node_id_ = 0;
  const void* context_key_ = nullptr;      // the IPluginResourceContext of attachToContext (null while building)
  std::shared_ptr<DeviceRecord> record_;  // acquired at the first enqueue
};

// The base of each op's plugin class (CRTP): PluginBase made from the op's kSignature, cloned as the op. An op
// states kSignature and (with attributes) kSchema; one without attributes keeps the empty schema and inherits the
// constructor (`using OpPlugin::OpPlugin`).
template <typename Op>
class OpPlugin : public PluginBase {
 public:
  static inline const Schema kSchema{};
  OpPlugin(std::string node, Attributes attrs)
      : PluginBase(Op::kSignature, std::move(node), std::move(attrs)) {}

 protected:
  PluginBase* copy() const final { return new Op(static_cast<const Op&>(*this)); }
};

}  // namespace trt
}  // namespace tsp3d
