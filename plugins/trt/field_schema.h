// Versioned attribute schemas: one table per op (name, type, default) that matches export/opset_spec.py. The
// creator advertises the table (getFieldNames); parsing refuses unknown fields, repeated fields, wrong types and
// lengths, missing required fields and another schema version; serialization writes every attribute (build hints
// excepted) plus the field `schema_version`, so an engine made with another schema fails to deserialize with a
// message.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "NvInferRuntime.h"

namespace tsp3d {
namespace trt {

// The attribute schema version of every tsp3d plugin (= the plugin version "1" = the ONNX domain version 1).
constexpr int32_t kSchemaVersion = 1;
constexpr const char* kSchemaVersionField = "schema_version";

enum class FieldKind { kInt, kFloat };

struct FieldSpec {
  const char* name;
  FieldKind kind;
  bool required;         // no default in the opset: a node without it is refused
  double default_value;  // used when not required and absent
  // A TensorRT build hint, not an opset attribute: optional, only read while building (getOutputShapes), never
  // serialized. `tsp3d build-engine` writes it into the ONNX it hands to the parser (tsp3d/engine/trt_hints.py).
  bool build_hint = false;
};

// The auto-tuning row count of a data-dependent op (IExprBuilder::declareSizeTensor's `opt`); 0 = none given.
constexpr const char* kOptRowsField = "opt_rows";

using Schema = std::vector<FieldSpec>;

// Parsed attribute values of one node, in schema order.
class Attributes {
 public:
  // Throws PluginError naming the op and the field. In the runtime phase (engine deserialization) the field
  // schema_version is required; in the build phase it is optional (ONNX nodes do not carry it).
  static Attributes parse(const char* op, const Schema& schema, const nvinfer1::PluginFieldCollection* fc,
                          nvinfer1::TensorRTPhase phase);

  int32_t get_int(const char* name) const;
  float get_float(const char* name) const;

  // The fields to serialize (every attribute + schema_version). Valid while this object lives unchanged.
  const nvinfer1::PluginFieldCollection* serialize();

  Attributes(const Attributes& other);
  Attributes& operator=(const Attributes& other);

 private:
  Attributes() = default;
  size_t index_of(const char* name, FieldKind kind) const;

  const Schema* schema_ = nullptr;
  std::vector<int32_t> ints_;  // one slot per schema entry (used for kInt)
  std::vector<float> floats_;  // one slot per schema entry (used for kFloat)
  int32_t schema_version_ = kSchemaVersion;
  std::vector<nvinfer1::PluginField> fields_;
  nvinfer1::PluginFieldCollection collection_{};
};

// The creator's advertised field list for a schema (data null, length 1).
class FieldNames {
 public:
  explicit FieldNames(const Schema& schema);
  const nvinfer1::PluginFieldCollection* get() const { return &collection_; }

 private:
  std::vector<nvinfer1::PluginField> fields_;
  nvinfer1::PluginFieldCollection collection_{};
};

const char* field_type_name(nvinfer1::PluginFieldType type);

// The schema of a data-dependent op: its own fields, then 'capacity' (int, default 0 = the natural bound) and the
// build hint opt_rows.
Schema with_capacity(Schema fields);
// The attribute 'capacity', refused (PluginError naming `where_prefix`) when negative.
int32_t capacity_attr(const Attributes& attrs, const std::string& where_prefix);

}  // namespace trt
}  // namespace tsp3d
