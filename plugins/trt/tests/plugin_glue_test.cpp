// CPU tests of the TensorRT plugin glue (libtsp3d_trt.so), through the library's only entry points (getCreators,
// setLoggerFinder) and the IPluginV3 interfaces: registration, output shapes and size-tensor bounds (through a fake
// IExprBuilder), format/type support, field serialization round trips, attribute and schema validation, and
// failures that must be reported instead of crashing. No GPU and no libnvinfer are needed.
//
//   tsp3d_trt_glue_test                  run every test
//   tsp3d_trt_glue_test --check-spec F   also check each creator against the op table in F (tests/test_trt_plugins.py
//                                        writes it from export/opset_spec.py; format in spec_check.cpp)
#include <cuda_runtime_api.h>

#include <functional>
#include <map>
#include <set>

#include "fake_expr_builder.h"
#include "test_support.h"

using namespace tsp3d_test;
using nvinfer1::DataType;
using nvinfer1::DimsExprs;
using nvinfer1::PluginFieldType;
using nvinfer1::TensorRTPhase;

int check_spec_file(const char* path, CaptureLogger& log);  // spec_check.cpp

static CaptureFinder g_finder;
CaptureLogger& tsp3d_test::logs() { return g_finder.logger; }

namespace {

const char* const kOps[] = {"Voxelize", "CoordsDown", "CoordsUp", "KernelMap", "SparseConv", "SparseConvInt8",
                            "SparseMaxPool", "Lookup", "Prune", "AppendMissing"};

// Valid attributes for each op.
Fields valid_fields(const std::string& op) {
  Fields f;
  if (op == "Voxelize") f.f32("voxel_size", 0.05f).i32("batch", 0).i32("capacity", 5000);
  if (op == "CoordsDown") f.i32("stride", 2).i32("capacity", 0);
  if (op == "CoordsUp") f.i32("stride", 4).i32("capacity", 0);
  if (op == "KernelMap") f.i32("kernel_size", 3).i32("offset_stride", 2).i32("transposed", 0);
  if (op == "SparseConv" || op == "SparseConvInt8") f.i32("activation", 1);
  if (op == "Prune") f.f32("threshold", 0.5f).i32("mode", 1).i32("min_keep", 1);
  if (op == "AppendMissing") f.i32("capacity", 0);
  return f;
}

}  // namespace

Plugin tsp3d_test::make(const std::string& op) {
  Fields f = valid_fields(op);
  Plugin p = create(op, f);
  if (!p) fail(__FILE__, __LINE__, "could not create " + op + logs().dump());
  return p;
}

namespace {

void test_registry() {
  int32_t n = 0;
  nvinfer1::IPluginCreatorInterface* const* all = getCreators(n);
  CHECK_EQ(n, 10);
  std::set<std::string> names;
  for (int32_t i = 0; i < n; ++i) {
    CHECK_EQ(std::string(all[i]->getInterfaceInfo().kind), std::string("PLUGIN CREATOR_V3ONE"));
    auto* c = static_cast<nvinfer1::IPluginCreatorV3One*>(all[i]);
    names.insert(c->getPluginName());
    CHECK_EQ(std::string(c->getPluginVersion()), std::string("1"));
    CHECK_EQ(std::string(c->getPluginNamespace()), std::string(""));
    CHECK(c->getFieldNames() != nullptr);
  }
  for (const char* op : kOps) CHECK(names.count(op) == 1);
}

void test_capabilities() {
  const std::map<std::string, int32_t> outputs{{"Voxelize", 3}, {"CoordsDown", 2}, {"CoordsUp", 2},
                                               {"KernelMap", 1}, {"SparseConv", 1}, {"SparseConvInt8", 1},
                                               {"SparseMaxPool", 1}, {"Lookup", 1}, {"Prune", 2},
                                               {"AppendMissing", 4}};
  for (const char* op : kOps) {
    Plugin p = make(op);
    if (!p) continue;
    CHECK(core(p.get()) != nullptr && build(p.get()) != nullptr && runtime(p.get()) != nullptr);
    CHECK_EQ(std::string(core(p.get())->getPluginName()), std::string(op));
    CHECK_EQ(std::string(core(p.get())->getPluginVersion()), std::string("1"));
    CHECK_EQ(build(p.get())->getNbOutputs(), outputs.at(op));
    CHECK_EQ(std::string(build(p.get())->getInterfaceInfo().kind), std::string("PLUGIN_V3ONE_BUILD"));
  }
}

// Serialized fields as "name=type:value" strings, in order.
std::vector<std::string> serialized(nvinfer1::IPluginV3* p) {
  std::vector<std::string> out;
  const nvinfer1::PluginFieldCollection* fc = runtime(p)->getFieldsToSerialize();
  if (fc == nullptr) return out;
  for (int32_t i = 0; i < fc->nbFields; ++i) {
    const nvinfer1::PluginField& f = fc->fields[i];
    std::ostringstream os;
    os << f.name << "=";
    if (f.type == PluginFieldType::kINT32) os << "i:" << *static_cast<const int32_t*>(f.data);
    else if (f.type == PluginFieldType::kFLOAT32) os << "f:" << *static_cast<const float*>(f.data);
    else os << "?";
    out.push_back(os.str());
  }
  return out;
}

void test_serialization_round_trip() {
  for (const char* op : kOps) {
    Plugin p = make(op);
    if (!p) continue;
    const std::vector<std::string> first = serialized(p.get());
    CHECK(!first.empty() && first.back() == "schema_version=i:1");
    // Deserialization: TensorRT hands the serialized fields back to the creator in the runtime phase.
    const nvinfer1::PluginFieldCollection* fc = runtime(p.get())->getFieldsToSerialize();
    Plugin q(creator(op)->createPlugin("node_0", fc, TensorRTPhase::kRUNTIME));
    CHECK(q != nullptr);
    if (!q) continue;
    CHECK(serialized(q.get()) == first);
    Plugin c(p->clone());
    CHECK(c != nullptr && serialized(c.get()) == first);
    Plugin a(runtime(p.get())->attachToContext(nullptr));
    CHECK(a != nullptr && serialized(a.get()) == first);
  }
  Plugin vox = make("Voxelize");
  const std::vector<std::string> v = serialized(vox.get());
  CHECK(v.size() == 4 && v[0] == "voxel_size=f:0.05" && v[1] == "batch=i:0" && v[2] == "capacity=i:5000");
}

struct BadAttr {
  const char* op;
  std::function<void(Fields&)> fill;
  std::vector<const char*> fragments;
};

void test_attribute_validation() {
  const std::vector<BadAttr> cases{
      {"Voxelize", [](Fields& f) { f.f32("voxel_size", 0.f); }, {"'voxel_size'", "> 0"}},
      {"Voxelize", [](Fields& f) { f.f32("voxel_size", 0.1f).i32("batch", 40000); }, {"'batch'"}},
      {"Voxelize", [](Fields& f) { f.f32("voxel_size", 0.1f).i32("capacity", -1); }, {"'capacity'"}},
      {"CoordsDown", [](Fields& f) { f.i32("stride", 0); }, {"'stride'"}},
      {"CoordsUp", [](Fields& f) { f.i32("stride", 3); }, {"'stride'", "even"}},
      {"KernelMap", [](Fields& f) { f.i32("kernel_size", 4).i32("offset_stride", 1); }, {"'kernel_size'"}},
      {"KernelMap", [](Fields& f) { f.i32("kernel_size", 3).i32("offset_stride", 0); }, {"'offset_stride'"}},
      {"KernelMap", [](Fields& f) { f.i32("kernel_size", 3).i32("offset_stride", 1).i32("transposed", 2); },
       {"'transposed'"}},
      {"SparseConv", [](Fields& f) { f.i32("activation", 2); }, {"'activation'"}},
      {"SparseConvInt8", [](Fields& f) { f.i32("activation", -1); }, {"'activation'"}},
      {"Prune", [](Fields& f) { f.f32("threshold", 0.f).i32("mode", 2); }, {"'mode'"}},
      {"Prune", [](Fields& f) { f.f32("threshold", 0.f).i32("min_keep", -3); }, {"'min_keep'"}},
      {"AppendMissing", [](Fields& f) { f.i32("capacity", -5); }, {"'capacity'"}},
  };
  for (const BadAttr& c : cases) {
    Fields f;
    c.fill(f);
    logs().clear();
    Plugin p = create(c.op, f, TensorRTPhase::kBUILD, "bad_node");
    CHECK(p == nullptr);
    std::vector<const char*> frags{c.op, "'bad_node'"};
    frags.insert(frags.end(), c.fragments.begin(), c.fragments.end());
    bool found = false;
    for (const std::string& e : logs().errors) {
      bool all = true;
      for (const char* fr : frags) all = all && e.find(fr) != std::string::npos;
      found = found || all;
    }
    if (!found) fail(__FILE__, __LINE__, std::string("no matching error for ") + c.op + logs().dump());
  }
}

void test_schema_errors() {
  struct Case {
    const char* op;
    std::function<void(Fields&)> fill;
    TensorRTPhase phase;
    const char* fragment;  // nullptr: must succeed
  };
  const int32_t two = 2;
  const char text[] = "3";
  const std::vector<Case> cases{
      {"CoordsDown", [](Fields& f) { f.i32("stride", 2).i32("strides", 2); }, TensorRTPhase::kBUILD,
       "unknown field 'strides'"},
      {"CoordsDown", [](Fields& f) { f.i32("stride", 2).i32("stride", 4); }, TensorRTPhase::kBUILD, "given twice"},
      {"CoordsDown", [&](Fields& f) { f.raw("stride", text, PluginFieldType::kCHAR, 1); }, TensorRTPhase::kBUILD,
       "must be int32 or int64, got char"},
      {"CoordsDown", [&](Fields& f) { f.raw("stride", &two, PluginFieldType::kINT32, 2); }, TensorRTPhase::kBUILD,
       "must hold 1 value"},
      {"CoordsDown", [](Fields& f) { f.i32("capacity", 10); }, TensorRTPhase::kBUILD, "required field 'stride'"},
      {"Voxelize", [](Fields& f) { f.i32("voxel_size", 1); }, TensorRTPhase::kBUILD, "must be float32 or float64"},
      {"CoordsDown", [](Fields& f) { f.i32("stride", 2).i32("schema_version", 2); }, TensorRTPhase::kRUNTIME,
       "schema version 2"},
      {"CoordsDown", [](Fields& f) { f.i32("stride", 2).i32("capacity", 0); }, TensorRTPhase::kRUNTIME,
       "lack 'schema_version'"},
      {"CoordsDown", [](Fields& f) { f.i64("stride", int64_t{1} << 40); }, TensorRTPhase::kBUILD, "does not fit"},
      {"CoordsDown", [](Fields& f) { f.i64("stride", 2).i64("capacity", 7); }, TensorRTPhase::kBUILD, nullptr},
      {"Prune", [](Fields& f) { f.f64("threshold", 0.25); }, TensorRTPhase::kBUILD, nullptr},
      {"CoordsDown", [](Fields& f) { f.i32("stride", 2).i32("schema_version", 1); }, TensorRTPhase::kRUNTIME,
       nullptr},
  };
  for (const Case& c : cases) {
    Fields f;
    c.fill(f);
    logs().clear();
    Plugin p = create(c.op, f, c.phase);
    if (c.fragment == nullptr) {
      if (!p) fail(__FILE__, __LINE__, std::string("expected success for ") + c.op + logs().dump());
    } else {
      CHECK(p == nullptr);
      if (!logs().error_has({c.op, c.fragment})) {
        fail(__FILE__, __LINE__, std::string("no error with '") + c.fragment + "'" + logs().dump());
      }
    }
  }
  // Defaults of optional attributes (opset: batch 0, capacity 0, mode 0, min_keep 1, transposed 0, activation 0).
  Fields prune;
  prune.f32("threshold", 0.1f);
  Plugin p = create("Prune", prune);
  CHECK(p != nullptr && serialized(p.get()) ==
                            (std::vector<std::string>{"threshold=f:0.1", "mode=i:0", "min_keep=i:1",
                                                      "capacity=i:0", "schema_version=i:1"}));
}

bool has_cuda_device() {
  int n = 0;
  return cudaGetDeviceCount(&n) == cudaSuccess && n > 0;
}

// Without a GPU every CUDA call fails: the plugin must report it (node named) and return nonzero, not crash.
void test_failures_are_reported() {
  if (has_cuda_device()) {
    std::cout << "  (skipped: a CUDA device is present; the GPU check covers enqueue)" << std::endl;
    return;
  }
  Plugin p = make("Voxelize");
  auto in = desc(DataType::kFLOAT, {100, 3});
  std::vector<nvinfer1::DynamicPluginTensorDesc> outs{desc(DataType::kINT32, {-1, 4}), desc(DataType::kINT32, {-1}),
                                                      desc(DataType::kINT32, {})};
  logs().clear();
  CHECK_EQ(build(p.get())->getWorkspaceSize(&in, 1, outs.data(), 3), size_t{0});
  CHECK(logs().error_has({"Voxelize node 'node_0'", "getWorkspaceSize", "needs a CUDA device"}));

  logs().clear();
  nvinfer1::PluginTensorDesc rt_in = in.desc, rt_out[3] = {outs[0].desc, outs[1].desc, outs[2].desc};
  char fake[512];
  const void* inputs[] = {fake};
  void* outputs[] = {fake, fake, fake};
  CHECK_EQ(runtime(p.get())->enqueue(&rt_in, rt_out, inputs, outputs, fake, nullptr), -1);  // before onShapeChange
  CHECK(logs().error_has({"Voxelize node 'node_0'", "onShapeChange"}));
  CHECK_EQ(runtime(p.get())->onShapeChange(&rt_in, 1, rt_out, 3), 0);
  logs().clear();
  CHECK_EQ(runtime(p.get())->enqueue(&rt_in, rt_out, inputs, outputs, fake, nullptr), -1);
  CHECK(logs().error_has({"Voxelize node 'node_0'"}));
  CHECK_EQ(runtime(p.get())->onShapeChange(&rt_in, 2, rt_out, 3), -1);  // wrong input count
  CHECK(logs().error_has({"expected 1 inputs, got 2"}));

  Plugin conv = make("SparseConv");
  auto f = desc(DataType::kFLOAT, {10, 8}), n = desc(DataType::kINT32, {5, 27}), w = desc(DataType::kFLOAT, {27, 8, 4});
  const nvinfer1::DynamicPluginTensorDesc conv_in[] = {f, n, w};
  auto o = desc(DataType::kFLOAT, {5, 4});
  CHECK_EQ(build(conv.get())->configurePlugin(conv_in, 3, &o, 1), 0);
  CHECK_EQ(build(conv.get())->configurePlugin(conv_in, 2, &o, 1), -1);
}

}  // namespace

int main(int argc, char** argv) {
  setLoggerFinder(&g_finder);
  std::vector<std::pair<const char*, void (*)()>> tests{
      {"registry", test_registry},
      {"capabilities", test_capabilities},
      {"serialization_round_trip", test_serialization_round_trip},
      {"attribute_validation", test_attribute_validation},
      {"schema_errors", test_schema_errors},
      {"failures_are_reported", test_failures_are_reported},
  };
  add_shape_and_format_tests(tests);  // shape_format_test.cpp
  for (const auto& t : tests) {
    current_test() = t.first;
    const int before = failures();
    t.second();
    std::cout << (failures() == before ? "PASS " : "FAIL ") << t.first << std::endl;
  }
  if (argc == 3 && std::string(argv[1]) == "--check-spec") {
    current_test() = "check_spec";
    const int before = failures();
    check_spec_file(argv[2], logs());
    std::cout << (failures() == before ? "PASS " : "FAIL ") << "check_spec" << std::endl;
  }
  std::cout << (failures() == 0 ? "all tests passed" : std::to_string(failures()) + " check(s) failed") << std::endl;
  return failures() == 0 ? 0 : 1;
}
