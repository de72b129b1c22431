// The only entry point of libtsp3d_ort.so: RegisterCustomOps adds the tsp3d domain (opset version 1) with every
// op listed below (adding an op = one line here). Ops with a float/float16 type parameter register once per type.
//
// Versions: every op is registered for version 1 only (OrtCustomOp start/end version). ORT itself still runs a
// graph that imports tsp3d version 2 (it keys custom kernels on the schema's since-version, not on the import);
// tsp3d.runtime.ort_session.make_session refuses such graphs with a message.
//
// Threads: the session config entry "tsp3d.num_threads" (SessionOptions.add_session_config_entry, set by
// tsp3d.runtime.ort_session.make_session from its `threads`) sets the kernels' thread count for sessions created
// with these options; without it the kernels use TSP3D_NUM_THREADS, else all hardware threads.
#include <cstdlib>
#include <mutex>
#include <string>

#include "op_glue.h"
#include "ops.h"

namespace {

using tsp3d::ort::OpConfig;
using tsp3d::ort::OpList;

void add_all_ops(OpList* ops, const OpConfig& config) {
  tsp3d::ort::add_voxelize(ops, config);
  tsp3d::ort::add_coords_down(ops, config);
  tsp3d::ort::add_coords_up(ops, config);
  tsp3d::ort::add_kernel_map(ops, config);
  tsp3d::ort::add_sparse_conv(ops, config);
  tsp3d::ort::add_sparse_conv_int8(ops, config);
  tsp3d::ort::add_sparse_max_pool(ops, config);
  tsp3d::ort::add_lookup(ops, config);
  tsp3d::ort::add_prune(ops, config);
  tsp3d::ort::add_append_missing(ops, config);
}

// Domains and ops of every registration live until the process ends (ORT needs them for the sessions' lifetime
// and the library cannot tell when the last session is gone).
struct Registration {
  Ort::CustomOpDomain domain{tsp3d::ort::kDomain};
  OpList ops;
};
std::mutex g_mutex;
std::vector<Registration*> g_registrations;

int32_t threads_from(const OrtSessionOptions* options) {
  const OrtApi& api = Ort::GetApi();
  int has = 0;
  OrtStatus* st = api.HasSessionConfigEntry(options, "tsp3d.num_threads", &has);
  if (st) api.ReleaseStatus(st);
  if (st || !has) return 0;
  char buf[32];
  size_t size = sizeof(buf);
  st = api.GetSessionConfigEntry(options, "tsp3d.num_threads", buf, &size);
  if (st) {
    api.ReleaseStatus(st);
    return 0;
  }
  const long v = std::strtol(buf, nullptr, 10);
  return v > 0 && v <= 1024 ? static_cast<int32_t>(v) : 0;
}

}  // namespace

extern "C" __attribute__((visibility("default"))) OrtStatus* ORT_API_CALL
RegisterCustomOps(OrtSessionOptions* options, const OrtApiBase* api_base) {
  const OrtApi* api = api_base->GetApi(ORT_API_VERSION);
  if (api == nullptr) {  // an ORT older than our headers: report it through the oldest API
    const OrtApi* v1 = api_base->GetApi(1);
    const std::string msg = std::string("tsp3d: libtsp3d_ort.so needs ONNX Runtime C API ") +
                            std::to_string(ORT_API_VERSION) + " or newer; this runtime is " +
                            api_base->GetVersionString();
    return v1 ? v1->CreateStatus(ORT_FAIL, msg.c_str()) : nullptr;
  }
  Ort::InitApi(api);
  try {
    auto* reg = new Registration();
    OpConfig config;
    config.threads = threads_from(options);
    add_all_ops(&reg->ops, config);
    for (auto& op : reg->ops) reg->domain.Add(op.get());
    Ort::UnownedSessionOptions(options).Add(reg->domain);
    std::lock_guard<std::mutex> lock(g_mutex);
    g_registrations.push_back(reg);
    return nullptr;
  } catch (const Ort::Exception& e) {
    return api->CreateStatus(e.GetOrtErrorCode(), (std::string("tsp3d: RegisterCustomOps: ") + e.what()).c_str());
  } catch (const std::exception& e) {
    return api->CreateStatus(ORT_FAIL, (std::string("tsp3d: RegisterCustomOps: ") + e.what()).c_str());
  }
}
