// Glue shared by the tsp3d custom ops: the op template (name, types, optional inputs, opset version 1 only),
// attribute reading with the ranges of export/opset_spec.py, input checks, and errors as ORT statuses whose
// message names the op, the node, the problem and what to change.
#pragma once

#include <climits>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "ort_api.h"
#include "tsp3d/cpu/kernels.h"

namespace tsp3d {
namespace ort {

constexpr int kOpsetVersion = 1;  // docs/opset.md "Versioning": registered for version 1 only
constexpr const char* kDomain = "tsp3d";

using Types = std::vector<ONNXTensorElementDataType>;
using Flags = std::vector<bool>;
// Int attributes (capacities, min_keep) are at most 2^31 - 1: TensorRT passes int attributes as int32, and the
// same graph must run in both runtimes (docs/opset.md, Capacity attributes).
constexpr int64_t kAttrMax = INT32_MAX;

// Per-registration settings (from the session options given to RegisterCustomOps).
struct OpConfig {
  int32_t threads = 0;  // 0: the kernels' global setting (TSP3D_NUM_THREADS or all hardware threads)
};

// An error on its way to an OrtStatus. Thrown by the glue, caught at the ORT boundary (see guard()).
struct OpError {
  OrtErrorCode code;
  std::string message;
};

[[noreturn]] void fail(OrtErrorCode code, std::string message);

// Everything a kernel needs at creation.
struct KernelSetup {
  const OrtKernelInfo* info;
  OpConfig config;
  const char* op;                  // op type
  ONNXTensorElementDataType elem;  // the type parameter T of this registration (UNDEFINED if none)
  std::string node;                // node name
};

// Attribute readers: missing -> default (or an error when required); out of range -> ORT_INVALID_GRAPH naming
// the attribute and the allowed range.
int64_t attr_int(const KernelSetup& s, const char* name, const int64_t* dflt, int64_t lo, int64_t hi);
float attr_float(const KernelSetup& s, const char* name, const float* dflt);

// Input access with shape checks; `name` is the input name of docs/opset.md for messages.
struct Tensor {
  const void* data = nullptr;
  std::vector<int64_t> shape;
  ONNXTensorElementDataType type = ONNX_TENSOR_ELEMENT_DATA_TYPE_UNDEFINED;
  int64_t dim(size_t i) const { return shape[i]; }
  template <typename T>
  const T* as() const { return static_cast<const T*>(data); }
};
std::string shape_string(const std::vector<int64_t>& shape);
// nullptr data when an optional input is absent.
Tensor input(OrtKernelContext* ctx, size_t index);
Tensor input_rank(OrtKernelContext* ctx, size_t index, const char* name, size_t rank);
Tensor input_coords(OrtKernelContext* ctx, size_t index, const char* name);  // int32 [N, 4]
void* output(OrtKernelContext* ctx, size_t index, const std::vector<int64_t>& shape);

// Turn a kernel status into an OpError with a message (the context gives names and data for it).
struct StatusContext {
  std::vector<const char*> inputs;         // input names in op order
  std::vector<const int32_t*> coords;      // per input: its rows if it is a coordinate input, else nullptr
  int64_t capacity = 0;                    // the capacity attribute, if the op has one
  int64_t stride = 0;                      // the stride attribute, if the op has one
  const float* points = nullptr;           // Voxelize: the points and their row width
  int64_t points_dim = 0;
  float voxel_size = 0.f;
  int64_t feats_rows = 0;                  // conv / pool: rows of feats
};
void check(Status st, const cpu::Diag& diag, const StatusContext& ctx);

// Run f at the ORT boundary: OpError, Ort::Exception, bad_alloc and anything else become an OrtStatus whose
// message starts with "tsp3d::<op> node '<name>': ". f returns void.
template <typename F>
OrtStatusPtr guard(const char* op, const std::string& node, F&& f) noexcept;

// Base of every kernel: ComputeV2 runs compute() at the ORT boundary with this session's thread count.
class KernelBase {
 public:
  explicit KernelBase(const KernelSetup& s) : op_(s.op), node_(s.node), threads_(s.config.threads), elem_(s.elem) {}
  virtual ~KernelBase() = default;
  OrtStatusPtr ComputeV2(OrtKernelContext* ctx);

 protected:
  virtual void compute(OrtKernelContext* ctx) = 0;
  const char* op_;
  std::string node_;
  int32_t threads_;
  ONNXTensorElementDataType elem_;
};

// The custom op of one kernel class (and, for ops with a type parameter, one element type).
template <typename Kernel>
struct Op : Ort::CustomOpBase<Op<Kernel>, Kernel, true> {
  Op(const char* name, std::vector<ONNXTensorElementDataType> inputs, std::vector<bool> optional,
     std::vector<ONNXTensorElementDataType> outputs, ONNXTensorElementDataType elem, OpConfig config)
      : name_(name), inputs_(std::move(inputs)), optional_(std::move(optional)), outputs_(std::move(outputs)),
        elem_(elem), config_(config) {
    this->start_ver_ = kOpsetVersion;
    this->end_ver_ = kOpsetVersion;
  }
  const char* GetName() const { return name_; }
  size_t GetInputTypeCount() const { return inputs_.size(); }
  ONNXTensorElementDataType GetInputType(size_t i) const { return inputs_[i]; }
  size_t GetOutputTypeCount() const { return outputs_.size(); }
  ONNXTensorElementDataType GetOutputType(size_t i) const { return outputs_[i]; }
  OrtCustomOpInputOutputCharacteristic GetInputCharacteristic(size_t i) const {
    return optional_[i] ? INPUT_OUTPUT_OPTIONAL : INPUT_OUTPUT_REQUIRED;
  }
  OrtStatusPtr CreateKernelV2(const OrtApi&, const OrtKernelInfo* info, void** kernel) const {
    KernelSetup setup{info, config_, name_, elem_, std::string()};
    try {
      setup.node = Ort::ConstKernelInfo(info).GetNodeName();
    } catch (...) {
    }
    return guard(name_, setup.node, [&] { *kernel = new Kernel(setup); });
  }

 private:
  const char* name_;
  std::vector<ONNXTensorElementDataType> inputs_;
  std::vector<bool> optional_;
  std::vector<ONNXTensorElementDataType> outputs_;
  ONNXTensorElementDataType elem_;
  OpConfig config_;
};

// The ops a registration adds to the domain; kept alive for the life of the process (ORT requires the op
// objects to outlive every session that uses them).
using OpList = std::vector<std::unique_ptr<OrtCustomOp>>;

// Adds the op, registered for opset version 1 (start = end = 1). NOTE: ORT (checked with 1.32) builds one schema
// per op name with the first op's start version and registers custom domains for versions 1..1000, so it does
// not itself refuse a graph importing tsp3d version 2; tsp3d.runtime.ort_session checks the import instead.
template <typename Kernel>
void add_op(OpList* ops, const char* name, const Types& inputs, const Flags& optional, const Types& outputs,
            ONNXTensorElementDataType elem, const OpConfig& config) {
  ops->push_back(std::unique_ptr<OrtCustomOp>(new Op<Kernel>(name, inputs, optional, outputs, elem, config)));
}

// --- implementation of guard

std::string prefix(const char* op, const std::string& node);
OrtStatusPtr make_status(OrtErrorCode code, const std::string& message);

template <typename F>
OrtStatusPtr guard(const char* op, const std::string& node, F&& f) noexcept {
  try {
    f();
    return nullptr;
  } catch (const OpError& e) {
    return make_status(e.code, prefix(op, node) + e.message);
  } catch (const Ort::Exception& e) {
    return make_status(e.GetOrtErrorCode(), prefix(op, node) + e.what());
  } catch (const std::bad_alloc&) {
    return make_status(ORT_FAIL, prefix(op, node) + "out of memory");
  } catch (const std::exception& e) {
    return make_status(ORT_FAIL, prefix(op, node) + e.what());
  } catch (...) {
    return make_status(ORT_FAIL, prefix(op, node) + "unknown error");
  }
}


constexpr ONNXTensorElementDataType kI32 = ONNX_TENSOR_ELEMENT_DATA_TYPE_INT32;
constexpr ONNXTensorElementDataType kI8 = ONNX_TENSOR_ELEMENT_DATA_TYPE_INT8;
constexpr ONNXTensorElementDataType kF32 = ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT;
constexpr ONNXTensorElementDataType kF16 = ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT16;
constexpr ONNXTensorElementDataType kAny = ONNX_TENSOR_ELEMENT_DATA_TYPE_UNDEFINED;

}  // namespace ort
}  // namespace tsp3d
