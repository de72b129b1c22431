// Host waits and deferred error reports of the plugins' enqueue paths, on the CPU: the plugin library runs against
// the fake device of fake_device.cpp (no GPU, no CUDA driver). Checks that only the size-tensor ops wait for the
// device (once per call), that a failure of an op without a size tensor is reported - naming its node - at the
// next size-tensor op of the same execution context or by tsp3d_trt_take_error, and that contexts do not see each
// other's failures. Prints "waits_per_call {json}" (tests/test_trt_plugins.py turns it into waits per forward).
#include <cuda_runtime_api.h>

#include <functional>
#include <vector>

#include "fake_device.h"
#include "test_support.h"
#include "tsp3d/common.h"

using namespace tsp3d_test;
using nvinfer1::DataType;

extern "C" int32_t tsp3d_trt_take_error(char* message, size_t capacity);

namespace {

CaptureFinder g_finder;

struct Io {
  std::vector<nvinfer1::PluginTensorDesc> in, out;
  void add(std::vector<nvinfer1::PluginTensorDesc>& v, DataType t, std::initializer_list<int64_t> dims) {
    nvinfer1::PluginTensorDesc d{};
    d.type = t;
    d.format = nvinfer1::TensorFormat::kLINEAR;
    d.dims.nbDims = static_cast<int32_t>(dims.size());
    int32_t i = 0;
    for (int64_t x : dims) d.dims.d[i++] = x;
    v.push_back(d);
  }
  Io& i(DataType t, std::initializer_list<int64_t> dims) { return add(in, t, dims), *this; }
  Io& o(DataType t, std::initializer_list<int64_t> dims) { return add(out, t, dims), *this; }
};

const DataType F = DataType::kFLOAT, I = DataType::kINT32, B = DataType::kINT8;

// Shapes of one call of each op (10 rows, 8 -> 4 channels).
Io io_of(const std::string& op) {
  Io io;
  if (op == "Voxelize") io.i(F, {10, 6}).o(I, {10, 4}).o(I, {10}).o(I, {});
  if (op == "CoordsDown" || op == "CoordsUp") io.i(I, {10, 4}).o(I, {10, 4}).o(I, {});
  if (op == "KernelMap") io.i(I, {10, 4}).i(I, {10, 4}).o(I, {10, 27});
  if (op == "SparseConv") io.i(F, {10, 8}).i(I, {10, 27}).i(F, {27, 8, 4}).i(F, {4}).o(F, {10, 4});
  if (op == "SparseConvInt8") {
    io.i(B, {10, 8}).i(F, {}).i(I, {10, 27}).i(B, {27, 8, 4}).i(F, {4}).i(F, {4}).o(F, {10, 4});
  }
  if (op == "SparseMaxPool") io.i(F, {10, 8}).i(I, {10, 8}).o(F, {10, 8});
  if (op == "Lookup") io.i(I, {10, 4}).i(I, {10, 4}).o(I, {10});
  if (op == "Prune") io.i(F, {10}).o(I, {10}).o(I, {});
  if (op == "AppendMissing") io.i(I, {10, 4}).i(I, {10, 4}).o(I, {20, 4}).o(I, {10}).o(I, {}).o(I, {});
  return io;
}

Fields fields_of(const std::string& op) {
  Fields f;
  if (op == "Voxelize") f.f32("voxel_size", 0.05f);
  if (op == "CoordsDown") f.i32("stride", 2);
  if (op == "CoordsUp") f.i32("stride", 4);
  if (op == "KernelMap") f.i32("kernel_size", 3).i32("offset_stride", 2);
  if (op == "Prune") f.f32("threshold", 0.5f);
  return f;
}

// A plugin of `op` named `node`, attached to the execution context `context` (any distinct pointer).
Plugin attached(const std::string& op, const char* node, const void* context) {
  Fields f = fields_of(op);
  Plugin built = create(op, f, nvinfer1::TensorRTPhase::kBUILD, node);
  if (!built) return nullptr;
  auto* ctx = const_cast<nvinfer1::IPluginResourceContext*>(static_cast<const nvinfer1::IPluginResourceContext*>(context));
  return Plugin(runtime(built.get())->attachToContext(ctx));
}

// onShapeChange + one enqueue on host buffers of the shapes `io`; returns enqueue's result.
int32_t run_io(nvinfer1::IPluginV3* p, Io io) {
  static std::vector<char> memory(1 << 16);
  std::vector<const void*> ins(io.in.size(), memory.data());
  std::vector<void*> outs(io.out.size(), memory.data());
  std::vector<char> workspace(4096);
  nvinfer1::IPluginV3OneRuntime* rt = runtime(p);
  if (rt->onShapeChange(io.in.data(), static_cast<int32_t>(io.in.size()), io.out.data(),
                        static_cast<int32_t>(io.out.size())) != 0) {
    return -2;
  }
  return rt->enqueue(io.in.data(), io.out.data(), ins.data(), outs.data(), workspace.data(), nullptr);
}

int32_t run_once(nvinfer1::IPluginV3* p, const std::string& op) { return run_io(p, io_of(op)); }

const char* const kOps[] = {"Voxelize", "CoordsDown", "CoordsUp", "KernelMap", "SparseConv", "SparseConvInt8",
                            "SparseMaxPool", "Lookup", "Prune", "AppendMissing"};
const int kContextA = 1, kContextB = 2;

void test_waits_per_call() {
  std::string json;
  for (const char* op : kOps) {
    Plugin p = attached(op, "n", &kContextA);
    CHECK(p != nullptr);
    if (!p) continue;
    const int64_t before = fake().host_waits;
    CHECK_EQ(run_once(p.get(), op), 0);
    const int64_t waits = fake().host_waits - before;
    const bool sizes = std::string(op) == "Voxelize" || std::string(op).rfind("Coords", 0) == 0 ||
                       std::string(op) == "Prune" || std::string(op) == "AppendMissing";
    CHECK_EQ(waits, sizes ? 1 : 0);
    json += std::string(json.empty() ? "{" : ", ") + "\"" + op + "\": " + std::to_string(waits);
  }
  std::cout << "waits_per_call " << json << "}" << std::endl;
}

void test_deferred_error_reported_at_next_size_op() {
  fake().fail = {{"KernelMap", static_cast<int32_t>(tsp3d::Status::kDuplicateCoord)}};
  Plugin km = attached("KernelMap", "km_3", &kContextA);
  Plugin prune = attached("Prune", "tgp_1", &kContextA);
  g_finder.logger.clear();
  const int64_t before = fake().host_waits;
  CHECK_EQ(run_once(km.get(), "KernelMap"), 0);  // no wait: the failure is recorded on the device
  CHECK_EQ(fake().host_waits, before);
  fake().fail.clear();
  CHECK_EQ(run_once(prune.get(), "Prune"), -1);
  CHECK(g_finder.logger.error_has({"KernelMap node 'km_3'", "duplicate coordinate", "reported at Prune node 'tgp_1'"}));
  g_finder.logger.clear();
  CHECK_EQ(run_once(prune.get(), "Prune"), 0);  // reported once, then cleared
  CHECK_EQ(tsp3d_trt_take_error(nullptr, 0), 0);
}

void test_own_failure_keeps_its_detail() {
  fake().fail = {{"Prune", static_cast<int32_t>(tsp3d::Status::kCapacityExceeded)}};
  Plugin prune = attached("Prune", "cba", &kContextA);
  g_finder.logger.clear();
  CHECK_EQ(run_once(prune.get(), "Prune"), -1);
  CHECK(g_finder.logger.error_has({"Prune node 'cba'", "capacity exceeded", "rows kept, over the attribute capacity",
                                   tsp3d::status_hint(tsp3d::Status::kCapacityExceeded)}));
  fake().fail.clear();
}

void test_take_error_reads_failures_after_the_last_size_op() {
  fake().fail = {{"SparseConv", static_cast<int32_t>(tsp3d::Status::kIndexOutOfRange)}};
  Plugin conv = attached("SparseConv", "cls_conv", &kContextA);
  CHECK_EQ(run_once(conv.get(), "SparseConv"), 0);
  fake().fail.clear();
  char message[256] = {0};
  CHECK_EQ(tsp3d_trt_take_error(message, sizeof(message)), static_cast<int32_t>(tsp3d::Status::kIndexOutOfRange));
  CHECK_EQ(std::string(message), std::string("SparseConv node 'cls_conv': kernel map index out of range; ") +
                                     tsp3d::status_hint(tsp3d::Status::kIndexOutOfRange));
  CHECK_EQ(tsp3d_trt_take_error(message, sizeof(message)), 0);
}

// SparseConvInt8 with K * Cin over 131071 (tsp3d/int8_math.h): enqueue refuses before any launch, with the status
// name of the shared table and the bound; at the bound it launches.
void test_int8_reduction_refused_before_launch() {
  Plugin conv = attached("SparseConvInt8", "q_conv", &kContextA);
  auto enqueue_with = [&](int64_t k, int64_t cin) {
    Io io;
    io.i(B, {10, cin}).i(F, {}).i(I, {10, k}).i(B, {k, cin, 4}).i(F, {4}).i(F, {4}).o(F, {10, 4});
    return run_io(conv.get(), io);
  };
  g_finder.logger.clear();
  const int64_t before = fake().launches;
  CHECK_EQ(enqueue_with(8, 16384), -1);  // 131072
  CHECK_EQ(fake().launches, before);
  CHECK(g_finder.logger.error_has({"SparseConvInt8 node 'q_conv'", "enqueue", "invalid argument",
                                   "K * Cin = 131072 is over 131071: the int32 accumulation could overflow"}));
  CHECK_EQ(enqueue_with(1, 131071), 0);
  CHECK_EQ(fake().launches, before + 1);
}

void test_contexts_keep_their_own_record() {
  fake().fail = {{"Lookup", static_cast<int32_t>(tsp3d::Status::kDuplicateCoord)}};
  Plugin lookup_a = attached("Lookup", "lookup_a", &kContextA);
  CHECK_EQ(run_once(lookup_a.get(), "Lookup"), 0);
  fake().fail.clear();
  Plugin prune_b = attached("Prune", "prune_b", &kContextB);
  CHECK_EQ(run_once(prune_b.get(), "Prune"), 0);  // context B saw no failure
  Plugin prune_a = attached("Prune", "prune_a", &kContextA);
  g_finder.logger.clear();
  CHECK_EQ(run_once(prune_a.get(), "Prune"), -1);
  CHECK(g_finder.logger.error_has({"Lookup node 'lookup_a'"}));
}

}  // namespace

int main() {
  setLoggerFinder(&g_finder);
  const std::vector<std::pair<const char*, void (*)()>> tests{
      {"waits_per_call", test_waits_per_call},
      {"deferred_error_reported_at_next_size_op", test_deferred_error_reported_at_next_size_op},
      {"own_failure_keeps_its_detail", test_own_failure_keeps_its_detail},
      {"take_error_reads_failures_after_the_last_size_op", test_take_error_reads_failures_after_the_last_size_op},
      {"contexts_keep_their_own_record", test_contexts_keep_their_own_record},
      {"int8_reduction_refused_before_launch", test_int8_reduction_refused_before_launch},
  };
  for (const auto& t : tests) {
    current_test() = t.first;
    const int before = failures();
    t.second();
    std::cout << (failures() == before ? "PASS " : "FAIL ") << t.first << std::endl;
  }
  std::cout << (failures() == 0 ? "all tests passed" : std::to_string(failures()) + " check(s) failed") << std::endl;
  return failures() == 0 ? 0 : 1;
}
