// One engine ready to run: an execution context, device buffers for the inputs, and an output allocator so that
// outputs with data-dependent shapes work too (enqueueV3 + IOutputAllocator).
#pragma once

#include <cuda_runtime_api.h>

#include <map>
#include <string>
#include <vector>

#include "engine_store.h"
#include "input_files.h"

namespace tsp3d {
namespace runtime {

struct Tensor {
  std::string name;
  std::vector<int64_t> shape;
  std::vector<double> values;  // converted from the tensor's type for printing
};

class Session {
 public:
  // `take_error`: the plugin library's tsp3d_trt_take_error (TensorRT::take_error), read after each inference.
  using TakeError = int32_t (*)(char* message, size_t capacity);
  explicit Session(Engine engine, TakeError take_error = nullptr);
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  std::vector<std::string> input_names() const;
  // Runs the engine on `inputs` (by input name; float32 data converted to the input's type). Outputs in engine
  // order. `runs` > 1 repeats the inference (latency statistics); the outputs are those of the last run.
  std::vector<Tensor> infer(const std::map<std::string, Matrix>& inputs, int runs, std::vector<double>* latency_ms);

 private:
  class Outputs;
  Engine engine_;
  nvinfer1::IExecutionContext* context_ = nullptr;
  cudaStream_t stream_ = nullptr;
  std::map<std::string, std::pair<void*, size_t>> input_buffers_;
  Outputs* outputs_ = nullptr;
  TakeError take_error_ = nullptr;
};

}  // namespace runtime
}  // namespace tsp3d
