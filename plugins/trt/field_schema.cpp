#include "field_schema.h"

#include <cmath>
#include <cstring>
#include <limits>

#include "plugin_utils.h"

namespace tsp3d {
namespace trt {

using nvinfer1::PluginField;
using nvinfer1::PluginFieldType;

const char* field_type_name(PluginFieldType type) {
  switch (type) {
    case PluginFieldType::kFLOAT16: return "float16";
    case PluginFieldType::kFLOAT32: return "float32";
    case PluginFieldType::kFLOAT64: return "float64";
    case PluginFieldType::kINT8: return "int8";
    case PluginFieldType::kINT16: return "int16";
    case PluginFieldType::kINT32: return "int32";
    case PluginFieldType::kINT64: return "int64";
    case PluginFieldType::kCHAR: return "char";
    case PluginFieldType::kDIMS: return "dims";
    case PluginFieldType::kUNKNOWN: return "unknown";
    default: return "other";
  }
}

namespace {

// An int field arrives as int32 (the ONNX parser) or int64 (a Python caller); anything else is refused.
void expect_one_value(const char* op, const PluginField& f) {
  TSP3D_VALIDATE(f.data != nullptr, op << ": field '" << f.name << "' has no data");
  TSP3D_VALIDATE(f.length == 1, op << ": field '" << f.name << "' must hold 1 value, got " << f.length);
}

int32_t read_int(const char* op, const PluginField& f) {
  expect_one_value(op, f);
  if (f.type == PluginFieldType::kINT32) return *static_cast<const int32_t*>(f.data);
  TSP3D_VALIDATE(f.type == PluginFieldType::kINT64,
                 op << ": field '" << f.name << "' must be int32 or int64, got " << field_type_name(f.type));
  const int64_t v = *static_cast<const int64_t*>(f.data);
  TSP3D_VALIDATE(v >= std::numeric_limits<int32_t>::min() && v <= std::numeric_limits<int32_t>::max(),
                 op << ": field '" << f.name << "' = " << v << " does not fit int32");
  return static_cast<int32_t>(v);
}

float read_float(const char* op, const PluginField& f) {
  expect_one_value(op, f);
  if (f.type == PluginFieldType::kFLOAT32) return *static_cast<const float*>(f.data);
  TSP3D_VALIDATE(f.type == PluginFieldType::kFLOAT64,
                 op << ": field '" << f.name << "' must be float32 or float64, got " << field_type_name(f.type));
  const double v = *static_cast<const double*>(f.data);
  TSP3D_VALIDATE(!std::isfinite(v) || std::fabs(v) <= std::numeric_limits<float>::max(),
                 op << ": field '" << f.name << "' = " << v << " does not fit float32");
  return static_cast<float>(v);
}

}  // namespace

Attributes Attributes::parse(const char* op, const Schema& schema, const nvinfer1::PluginFieldCollection* fc,
                             nvinfer1::TensorRTPhase phase) {
  Attributes a;
  a.schema_ = &schema;
  a.ints_.assign(schema.size(), 0);
  a.floats_.assign(schema.size(), 0.f);
  std::vector<bool> seen(schema.size(), false);
  bool version_seen = false;
  const int32_t n = fc != nullptr ? fc->nbFields : 0;
  TSP3D_VALIDATE(n >= 0 && (n == 0 || fc->fields != nullptr), op << ": malformed field collection");
  for (int32_t i = 0; i < n; ++i) {
    const PluginField& f = fc->fields[i];
    TSP3D_VALIDATE(f.name != nullptr, op << ": field " << i << " has no name");
    if (std::strcmp(f.name, kSchemaVersionField) == 0) {
      TSP3D_VALIDATE(!version_seen, op << ": field '" << kSchemaVersionField << "' given twice");
      version_seen = true;
      a.schema_version_ = read_int(op, f);
      TSP3D_VALIDATE(a.schema_version_ == kSchemaVersion,
                     op << ": attribute schema version " << a.schema_version_ << " is not supported by this plugin "
                        << "library (it implements version " << kSchemaVersion
                        << "); rebuild the engine with a matching libtsp3d_trt.so");
      continue;
    }
    size_t j = 0;
    while (j < schema.size() && std::strcmp(schema[j].name, f.name) != 0) ++j;
    if (j == schema.size()) {
      std::string known;
      for (const FieldSpec& s : schema) known += std::string(known.empty() ? "" : ", ") + s.name;
      TSP3D_VALIDATE(false, op << ": unknown field '" << f.name << "' (expected: "
                               << (known.empty() ? "none" : known) << ")");
    }
    TSP3D_VALIDATE(!seen[j], op << ": field '" << f.name << "' given twice");
    seen[j] = true;
    if (schema[j].kind == FieldKind::kInt) {
      a.ints_[j] = read_int(op, f);
    } else {
      a.floats_[j] = read_float(op, f);
    }
  }
  TSP3D_VALIDATE(version_seen || phase == nvinfer1::TensorRTPhase::kBUILD,
                 op << ": serialized fields lack '" << kSchemaVersionField
                    << "': the engine was not built with this plugin library");
  for (size_t j = 0; j < schema.size(); ++j) {
    if (seen[j]) continue;
    TSP3D_VALIDATE(!schema[j].required, op << ": required field '" << schema[j].name << "' is missing");
    if (schema[j].kind == FieldKind::kInt) {
      a.ints_[j] = static_cast<int32_t>(schema[j].default_value);
    } else {
      a.floats_[j] = static_cast<float>(schema[j].default_value);
    }
  }
  return a;
}

Attributes::Attributes(const Attributes& other)
    : schema_(other.schema_), ints_(other.ints_), floats_(other.floats_), schema_version_(other.schema_version_) {}

Attributes& Attributes::operator=(const Attributes& other) {
  schema_ = other.schema_;
  ints_ = other.ints_;
  floats_ = other.floats_;
  schema_version_ = other.schema_version_;
  fields_.clear();
  collection_ = {};
  return *this;
}

size_t Attributes::index_of(const char* name, FieldKind kind) const {
  for (size_t j = 0; j < schema_->size(); ++j) {
    if (std::strcmp((*schema_)[j].name, name) == 0 && (*schema_)[j].kind == kind) return j;
  }
  throw PluginError(std::string("internal: no attribute '") + name + "' of that type in the schema");
}

int32_t Attributes::get_int(const char* name) const { return ints_[index_of(name, FieldKind::kInt)]; }

float Attributes::get_float(const char* name) const { return floats_[index_of(name, FieldKind::kFloat)]; }

const nvinfer1::PluginFieldCollection* Attributes::serialize() {
  fields_.clear();
  for (size_t j = 0; j < schema_->size(); ++j) {
    const FieldSpec& s = (*schema_)[j];
    if (s.build_hint) continue;  // only the build reads it
    if (s.kind == FieldKind::kInt) {
      fields_.emplace_back(s.name, &ints_[j], PluginFieldType::kINT32, 1);
    } else {
      fields_.emplace_back(s.name, &floats_[j], PluginFieldType::kFLOAT32, 1);
    }
  }
  fields_.emplace_back(kSchemaVersionField, &schema_version_, PluginFieldType::kINT32, 1);
  collection_.nbFields = static_cast<int32_t>(fields_.size());
  collection_.fields = fields_.data();
  return &collection_;
}

FieldNames::FieldNames(const Schema& schema) {
  for (const FieldSpec& s : schema) {
    fields_.emplace_back(s.name, nullptr,
                         s.kind == FieldKind::kInt ? PluginFieldType::kINT32 : PluginFieldType::kFLOAT32, 1);
  }
  collection_.nbFields = static_cast<int32_t>(fields_.size());
  collection_.fields = fields_.data();
}

Schema with_capacity(Schema fields) {
  fields.push_back({"capacity", FieldKind::kInt, false, 0.0});
  fields.push_back({kOptRowsField, FieldKind::kInt, false, 0.0, true});
  return fields;
}

int32_t capacity_attr(const Attributes& attrs, const std::string& where_prefix) {
  const int32_t capacity = attrs.get_int("capacity");
  TSP3D_VALIDATE(capacity >= 0, where_prefix << ": attribute 'capacity' must be >= 0, got " << capacity);
  return capacity;
}

}  // namespace trt
}  // namespace tsp3d
