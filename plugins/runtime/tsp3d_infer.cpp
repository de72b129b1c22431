// tsp3d_infer: the robot-side sample. Loads the tsp3d plugin library and an engine (building it from the ONNX and
// caching it on first run), reads a point cloud and text features, runs once (or --runs N times) and prints the
// result as JSON on stdout. Exit codes: 0 ok, 1 inference failed, 2 bad arguments or input files, 3 TensorRT or
// the plugin library is missing.
//
//   tsp3d_infer --engine model.engine [--onnx model.onnx] [--plugins libtsp3d_trt.so]
//               --points scene.ply|scene.bin [--point-dims 6] --text text.npy|text.bin [--text-dims 384]
//   tsp3d_infer --inspect --points ... --text ...      (reads and describes the inputs; no TensorRT needed)
#include <dlfcn.h>

#include <algorithm>
#include <cstdlib>
#include <iostream>
#include <map>
#include <string>
#include <vector>

#include "engine_store.h"
#include "input_files.h"
#include "json_writer.h"
#include "session.h"
#include "trt_loader.h"

using namespace tsp3d::runtime;

namespace {

constexpr int kExitFailed = 1, kExitUsage = 2, kExitMissing = 3;
constexpr size_t kMaxPrintedValues = 64;

struct Args {
  std::string engine, onnx, plugins, points, text, points_input, text_input;
  int64_t point_dims = 6, text_dims = 0;
  int runs = 1;
  bool rebuild = false, inspect = false, verbose = false;
  size_t workspace_mb = 1024;
  std::map<std::string, int64_t> max_rows;
};

const char* kUsage =
    "usage: tsp3d_infer --engine FILE [--onnx FILE] [--rebuild] [--plugins libtsp3d_trt.so]\n"
    "                   --points FILE(.ply|.bin) [--point-dims 6] --text FILE(.npy|raw) [--text-dims C]\n"
    "                   [--points-input NAME] [--text-input NAME] [--max-rows NAME=N]... [--workspace-mb 1024]\n"
    "                   [--runs 1] [--verbose]\n"
    "       tsp3d_infer --inspect --points FILE --text FILE   (describe the inputs only)\n";

[[noreturn]] void usage_error(const std::string& msg) {
  std::cerr << "error: " << msg << "\n" << kUsage;
  std::exit(kExitUsage);
}

int64_t to_int(const std::string& flag, const std::string& v) {
  try {
    size_t used = 0;
    const long long x = std::stoll(v, &used);
    if (used != v.size()) throw std::invalid_argument(v);
    return x;
  } catch (const std::exception&) {
    usage_error(flag + " needs an integer, got '" + v + "'");
  }
}

Args parse(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    const std::string f = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) usage_error(f + " needs a value");
      return argv[++i];
    };
    if (f == "--engine") a.engine = value();
    else if (f == "--onnx") a.onnx = value();
    else if (f == "--plugins") a.plugins = value();
    else if (f == "--points") a.points = value();
    else if (f == "--text") a.text = value();
    else if (f == "--points-input") a.points_input = value();
    else if (f == "--text-input") a.text_input = value();
    else if (f == "--point-dims") a.point_dims = to_int(f, value());
    else if (f == "--text-dims") a.text_dims = to_int(f, value());
    else if (f == "--runs") a.runs = static_cast<int>(to_int(f, value()));
    else if (f == "--workspace-mb") a.workspace_mb = static_cast<size_t>(to_int(f, value()));
    else if (f == "--rebuild") a.rebuild = true;
    else if (f == "--inspect") a.inspect = true;
    else if (f == "--verbose") a.verbose = true;
    else if (f == "--max-rows") {
      const std::string v = value();
      const size_t eq = v.find('=');
      if (eq == std::string::npos) usage_error("--max-rows needs NAME=N, got '" + v + "'");
      a.max_rows[v.substr(0, eq)] = to_int(f, v.substr(eq + 1));
    } else if (f == "-h" || f == "--help") {
      std::cout << kUsage;
      std::exit(0);
    } else {
      usage_error("unknown argument '" + f + "'");
    }
  }
  if (a.points.empty() || a.text.empty()) usage_error("--points and --text are required");
  if (!a.inspect && a.engine.empty()) usage_error("--engine is required (the cache path when building from --onnx)");
  if (a.runs < 1) usage_error("--runs must be >= 1");
  return a;
}

// Default plugin library: $TSP3D_PLUGIN_DIR/libtsp3d_trt.so, else ../lib/libtsp3d_trt.so next to this program.
std::string default_plugins(const char* argv0) {
  if (const char* dir = std::getenv("TSP3D_PLUGIN_DIR")) return std::string(dir) + "/libtsp3d_trt.so";
  std::string exe = argv0;
  const size_t slash = exe.rfind('/');
  const std::string dir = slash == std::string::npos ? "." : exe.substr(0, slash);
  return dir + "/../lib/libtsp3d_trt.so";
}

std::string pick_input(const std::vector<std::string>& names, const std::string& given, const std::string& hint,
                       size_t fallback) {
  if (!given.empty()) {
    if (std::find(names.begin(), names.end(), given) == names.end()) {
      throw RuntimeError("the engine has no input '" + given + "'");
    }
    return given;
  }
  for (const std::string& n : names) {
    if (n.find(hint) != std::string::npos) return n;
  }
  if (fallback < names.size()) return names[fallback];
  throw RuntimeError("cannot tell which engine input takes the " + hint + " (use --" + hint + "-input)");
}

std::string shape_json(const Matrix& m) { return json_array(std::vector<int64_t>{m.rows, m.cols}); }

}  // namespace

int main(int argc, char** argv) {
  const Args a = parse(argc, argv);
  Matrix points, text;
  try {
    points = read_points(a.points, a.point_dims);
    text = read_features(a.text, a.text_dims);
  } catch (const RuntimeError& e) {
    std::cerr << "error: " << e.what() << std::endl;
    return kExitUsage;
  }
  if (a.inspect) {
    std::cout << "{\"points\": " << shape_json(points) << ", \"text\": " << shape_json(text)
              << ", \"points_head\": " << json_array(std::vector<float>(points.data.begin(),
                                                                        points.data.begin() + points.cols))
              << ", \"can_build_from_onnx\": " << (can_build_from_onnx() ? "true" : "false") << "}" << std::endl;
    return 0;
  }
  StderrLogger logger(a.verbose ? nvinfer1::ILogger::Severity::kINFO : nvinfer1::ILogger::Severity::kWARNING);
  std::unique_ptr<TensorRT> trt;
  try {
    trt = std::make_unique<TensorRT>(logger);
    trt->load_plugins(a.plugins.empty() ? default_plugins(argv[0]) : a.plugins);
  } catch (const RuntimeError& e) {
    std::cerr << "error: " << e.what() << std::endl;
    return kExitMissing;
  }
  try {
    // Input names are only known from the engine; a first build uses the ONNX's names, matched the same way.
    EngineOptions o;
    o.engine_path = a.engine;
    o.onnx_path = a.onnx;
    o.rebuild = a.rebuild;
    o.workspace_bytes = a.workspace_mb << 20;
    o.max_rows = a.max_rows;
    const std::string pname = a.points_input.empty() ? "points" : a.points_input;
    const std::string tname = a.text_input.empty() ? "text_feats" : a.text_input;
    std::map<std::string, std::vector<int64_t>> first{{pname, {points.rows, points.cols}},
                                                      {tname, {text.rows, text.cols}}};
    Session session(load_or_build_engine(*trt, o, first), trt->take_error());
    const std::vector<std::string> inputs = session.input_names();
    const std::string p_in = pick_input(inputs, a.points_input, "point", 0);
    const std::string t_in = pick_input(inputs, a.text_input, "text", 1);
    std::vector<double> latency;
    const std::vector<Tensor> outs = session.infer({{p_in, points}, {t_in, text}}, a.runs, &latency);

    std::cout << "{\n  \"engine\": " << json_string(a.engine) << ",\n  \"tensorrt\": " << json_string(trt->version())
              << ",\n  \"inputs\": {" << json_string(p_in) << ": " << shape_json(points) << ", " << json_string(t_in)
              << ": " << shape_json(text) << "},\n";
    for (const Tensor& t : outs) {
      if (t.name.find("box") != std::string::npos) {
        std::cout << "  \"box\": " << json_array(t.values) << ",\n";
        break;
      }
    }
    std::cout << "  \"outputs\": {";
    for (size_t i = 0; i < outs.size(); ++i) {
      const Tensor& t = outs[i];
      std::cout << (i ? ", " : "") << "\n    " << json_string(t.name) << ": {\"shape\": " << json_array(t.shape);
      if (t.values.size() <= kMaxPrintedValues) std::cout << ", \"values\": " << json_array(t.values);
      std::cout << "}";
    }
    double sum = 0, best = latency.empty() ? 0 : latency[0];
    for (double v : latency) {
      sum += v;
      best = std::min(best, v);
    }
    std::cout << "\n  },\n  \"latency_ms\": {\"runs\": " << latency.size()
              << ", \"mean\": " << json_number(latency.empty() ? 0 : sum / latency.size())
              << ", \"min\": " << json_number(best) << "}\n}" << std::endl;
    return 0;
  } catch (const RuntimeError& e) {
    std::cerr << "error: " << e.what() << std::endl;
    return kExitFailed;
  }
}
