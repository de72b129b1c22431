// Checks every creator against the op table of export/opset_spec.py, written by tests/test_trt_plugins.py as
// plain text, one line per op and per attribute:
//
//   op <Name> <number of attributes>
//   attr <name> <int|float> <required 0|1> <default or -> <a valid value> <invalid values, comma-separated, or ->
//
// For each op: the advertised fields have the table's names, order and types; a plugin built from the required
// attributes alone serializes the table's defaults; each attribute alone at a valid value is accepted; each
// invalid value is refused.
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "test_support.h"

using namespace tsp3d_test;

namespace {

const char* const kBuildHint = "opt_rows";  // the only build hint (plugins/trt/field_schema.h kOptRowsField)

struct AttrLine {
  std::string name, type, def, valid;
  bool required = false;
  std::vector<std::string> invalid;
};

struct OpLine {
  std::string name;
  std::vector<AttrLine> attrs;
};

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, sep)) out.push_back(item);
  return out;
}

void add(Fields& f, const AttrLine& a, const std::string& value) {
  if (a.type == "int") {
    f.i64(a.name.c_str(), std::strtoll(value.c_str(), nullptr, 10));
  } else {
    f.f32(a.name.c_str(), std::strtof(value.c_str(), nullptr));
  }
}

Fields required_fields(const OpLine& op, const std::string& except = "") {
  Fields f;
  for (const AttrLine& a : op.attrs) {
    if (a.required && a.name != except) add(f, a, a.valid);
  }
  return f;
}

std::string serialized_value(nvinfer1::IPluginV3* p, const std::string& name) {
  const nvinfer1::PluginFieldCollection* fc = runtime(p)->getFieldsToSerialize();
  for (int32_t i = 0; fc != nullptr && i < fc->nbFields; ++i) {
    const nvinfer1::PluginField& f = fc->fields[i];
    if (name != f.name) continue;
    std::ostringstream os;
    if (f.type == nvinfer1::PluginFieldType::kINT32) os << *static_cast<const int32_t*>(f.data);
    if (f.type == nvinfer1::PluginFieldType::kFLOAT32) os << *static_cast<const float*>(f.data);
    return os.str();
  }
  return "<absent>";
}

std::string normalized(const AttrLine& a, const std::string& v) {
  std::ostringstream os;
  if (a.type == "int") os << std::strtoll(v.c_str(), nullptr, 10);
  else os << std::strtof(v.c_str(), nullptr);
  return os.str();
}

void check_op(const OpLine& op, CaptureLogger& log) {
  nvinfer1::IPluginCreatorV3One* c = creator(op.name);
  if (c == nullptr) return fail(__FILE__, __LINE__, "no creator for " + op.name);
  const nvinfer1::PluginFieldCollection* names = c->getFieldNames();
  // The opset's attributes, then optional TensorRT build hints (field_schema.h), which are not opset attributes.
  int32_t hints = 0;
  for (int32_t i = static_cast<int32_t>(op.attrs.size()); i < names->nbFields; ++i) {
    if (std::string(names->fields[i].name) == kBuildHint) ++hints;
  }
  CHECK_EQ(names->nbFields, static_cast<int32_t>(op.attrs.size()) + hints);
  for (int32_t i = 0; i < names->nbFields && i < static_cast<int32_t>(op.attrs.size()); ++i) {
    const AttrLine& a = op.attrs[i];
    CHECK_EQ(std::string(names->fields[i].name), a.name);
    const auto want = a.type == "int" ? nvinfer1::PluginFieldType::kINT32 : nvinfer1::PluginFieldType::kFLOAT32;
    if (names->fields[i].type != want) fail(__FILE__, __LINE__, op.name + "." + a.name + ": wrong field type");
  }
  Fields base = required_fields(op);
  Plugin p = create(op.name, base);
  if (!p) return fail(__FILE__, __LINE__, op.name + ": required attributes alone were refused" + log.dump());
  for (const AttrLine& a : op.attrs) {
    if (a.required) {
      Fields missing = required_fields(op, a.name);
      if (create(op.name, missing)) fail(__FILE__, __LINE__, op.name + ": accepted without '" + a.name + "'");
    } else if (serialized_value(p.get(), a.name) != normalized(a, a.def)) {
      fail(__FILE__, __LINE__, op.name + "." + a.name + ": default " + serialized_value(p.get(), a.name) +
                                   ", the opset says " + a.def);
    }
    Fields ok = required_fields(op, a.name);
    add(ok, a, a.valid);
    if (!create(op.name, ok)) fail(__FILE__, __LINE__, op.name + "." + a.name + "=" + a.valid + " refused" + log.dump());
    for (const std::string& bad : a.invalid) {
      Fields f = required_fields(op, a.name);
      add(f, a, bad);
      log.clear();
      if (create(op.name, f)) fail(__FILE__, __LINE__, op.name + "." + a.name + "=" + bad + " accepted");
      else if (!log.error_has({op.name.c_str(), a.name.c_str()})) {
        fail(__FILE__, __LINE__, op.name + "." + a.name + "=" + bad + ": error does not name the attribute" + log.dump());
      }
    }
  }
}

}  // namespace

int check_spec_file(const char* path, CaptureLogger& log) {
  const int before = failures();
  std::ifstream in(path);
  if (!in) {
    fail(__FILE__, __LINE__, std::string("cannot read ") + path);
    return failures() - before;
  }
  std::vector<OpLine> ops;
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream ls(line);
    std::string kind;
    ls >> kind;
    if (kind == "op") {
      OpLine op;
      ls >> op.name;
      ops.push_back(op);
    } else if (kind == "attr" && !ops.empty()) {
      AttrLine a;
      std::string required, invalid;
      ls >> a.name >> a.type >> required >> a.def >> a.valid >> invalid;
      a.required = required == "1";
      if (invalid != "-") a.invalid = split(invalid, ',');
      ops.back().attrs.push_back(a);
    }
  }
  int32_t n = 0;
  getCreators(n);
  CHECK_EQ(static_cast<int32_t>(ops.size()), n);
  for (const OpLine& op : ops) check_op(op, log);
  return failures() - before;
}
