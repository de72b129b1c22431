// Engines for the robot: deserialize a cached engine, or build one from the ONNX on first run (as robots do:
// the engine is tied to the GPU and the TensorRT version) and cache it next to the ONNX, written atomically.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "NvInferRuntime.h"
#include "trt_loader.h"

namespace tsp3d {
namespace runtime {

struct EngineOptions {
  std::string engine_path;  // the cache: loaded when present
  std::string onnx_path;    // built from when the engine is missing (or rebuild is set)
  bool rebuild = false;     // rebuild even when the engine exists (replaces it)
  size_t workspace_bytes = size_t{1} << 30;
  // Optimization profile of dynamic inputs: dimension 0 runs from 1 to max_rows (per input name, else the
  // default); the opt shape is the shape of the first run's input.
  std::map<std::string, int64_t> max_rows;
  int64_t default_max_rows = 200000;
};

struct EngineDeleter {
  void operator()(nvinfer1::ICudaEngine* e) const { delete e; }
};
using Engine = std::unique_ptr<nvinfer1::ICudaEngine, EngineDeleter>;

// `first_shapes`: the shapes of the inputs at hand, by input name (the opt point of a new profile).
Engine load_or_build_engine(TensorRT& trt, const EngineOptions& options,
                            const std::map<std::string, std::vector<int64_t>>& first_shapes);

// True when this build can parse ONNX (compiled with NvOnnxParser.h).
bool can_build_from_onnx();

}  // namespace runtime
}  // namespace tsp3d
