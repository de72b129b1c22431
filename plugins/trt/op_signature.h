// The element types of an op's inputs and outputs, declared once per op (its kSignature): the plugin base derives
// the input/output counts, getOutputDataTypes and supportsFormatCombination from it, so each op states its type
// rules once instead of twice.
#pragma once

#include <cstdint>
#include <vector>

#include "NvInferRuntime.h"

namespace tsp3d {
namespace trt {

enum class Elem : uint8_t {
  kF32,
  kI32,
  kI8,
  kT,  // the op's type parameter: float32 or float16, one type for every kT input and output
};

struct Port {
  const char* name;  // the input's name in docs/opset.md, for messages
  Elem elem;
};

// An op's name (the ONNX op type) and its typed inputs and outputs.
struct Signature {
  const char* op;
  std::vector<Port> inputs;
  int32_t optional_inputs;  // how many trailing inputs may be left out
  std::vector<Elem> outputs;

  int32_t max_inputs() const { return static_cast<int32_t>(inputs.size()); }
  int32_t min_inputs() const { return max_inputs() - optional_inputs; }
  int32_t nb_outputs() const { return static_cast<int32_t>(outputs.size()); }
};

// The output types for input types `in`; throws PluginError naming the first input of a wrong type.
void output_types_of(const Signature& sig, const nvinfer1::DataType* in, int32_t nb_in, nvinfer1::DataType* out,
                     int32_t nb_out);

// Whether the type of io[pos] fits the signature, given the types TensorRT chose for io[0, pos).
bool supports_type(const Signature& sig, int32_t pos, const nvinfer1::DynamicPluginTensorDesc* io, int32_t nb_in);

}  // namespace trt
}  // namespace tsp3d
