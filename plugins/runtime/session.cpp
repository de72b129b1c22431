#include "session.h"

#include <cuda_fp16.h>

#include <chrono>
#include <cstring>

namespace tsp3d {
namespace runtime {
namespace {

void cuda_check(cudaError_t e, const char* what) {
  if (e != cudaSuccess) throw RuntimeError(std::string(what) + ": " + cudaGetErrorString(e));
}

size_t element_size(nvinfer1::DataType t) {
  switch (t) {
    case nvinfer1::DataType::kFLOAT:
    case nvinfer1::DataType::kINT32: return 4;
    case nvinfer1::DataType::kHALF: return 2;
    case nvinfer1::DataType::kINT8:
    case nvinfer1::DataType::kBOOL:
    case nvinfer1::DataType::kUINT8: return 1;
    case nvinfer1::DataType::kINT64: return 8;
    default: throw RuntimeError("unsupported tensor type " + std::to_string(static_cast<int>(t)));
  }
}

double element_value(const char* p, nvinfer1::DataType t) {
  switch (t) {
    case nvinfer1::DataType::kFLOAT: { float v; std::memcpy(&v, p, 4); return v; }
    case nvinfer1::DataType::kHALF: { __half v; std::memcpy(&v, p, 2); return __half2float(v); }
    case nvinfer1::DataType::kINT32: { int32_t v; std::memcpy(&v, p, 4); return v; }
    case nvinfer1::DataType::kINT64: { int64_t v; std::memcpy(&v, p, 8); return static_cast<double>(v); }
    case nvinfer1::DataType::kINT8: return static_cast<int8_t>(*p);
    default: return static_cast<uint8_t>(*p);
  }
}

}  // namespace

// Device memory for every output, grown on demand; records the shape TensorRT reports after the run.
class Session::Outputs final : public nvinfer1::IOutputAllocator {
 public:
  ~Outputs() override {
    for (auto& kv : buffers) cudaFree(kv.second.ptr);
  }
  void* reallocateOutputAsync(const char* name, void*, uint64_t size, uint64_t, cudaStream_t) noexcept override {
    Buffer& b = buffers[name];
    if (size > b.bytes || b.ptr == nullptr) {
      cudaFree(b.ptr);
      b.ptr = nullptr;
      b.bytes = 0;
      if (cudaMalloc(&b.ptr, size > 0 ? size : 1) != cudaSuccess) return nullptr;
      b.bytes = size;
    }
    return b.ptr;
  }
#if NV_TENSORRT_MAJOR < 11
  // TensorRT 10 may still call the synchronous variant.
  void* reallocateOutput(const char* name, void* current, uint64_t size, uint64_t alignment) noexcept override {
    return reallocateOutputAsync(name, current, size, alignment, nullptr);
  }
#endif
  void notifyShape(const char* name, const nvinfer1::Dims& dims) noexcept override { buffers[name].dims = dims; }

  struct Buffer {
    void* ptr = nullptr;
    uint64_t bytes = 0;
    nvinfer1::Dims dims{};
  };
  std::map<std::string, Buffer> buffers;
};

Session::Session(Engine engine, TakeError take_error)
    : engine_(std::move(engine)), outputs_(new Outputs), take_error_(take_error) {
  context_ = engine_->createExecutionContext();
  if (context_ == nullptr) throw RuntimeError("TensorRT could not create an execution context (out of GPU memory?)");
  cuda_check(cudaStreamCreate(&stream_), "cudaStreamCreate");
}

Session::~Session() {
  delete context_;
  for (auto& kv : input_buffers_) cudaFree(kv.second.first);
  delete outputs_;
  if (stream_ != nullptr) cudaStreamDestroy(stream_);
}

std::vector<std::string> Session::input_names() const {
  std::vector<std::string> names;
  for (int32_t i = 0; i < engine_->getNbIOTensors(); ++i) {
    const char* n = engine_->getIOTensorName(i);
    if (engine_->getTensorIOMode(n) == nvinfer1::TensorIOMode::kINPUT) names.push_back(n);
  }
  return names;
}

std::vector<Tensor> Session::infer(const std::map<std::string, Matrix>& inputs, int runs,
                                   std::vector<double>* latency_ms) {
  for (const std::string& name : input_names()) {
    const auto it = inputs.find(name);
    if (it == inputs.end()) throw RuntimeError("no data for the engine input '" + name + "'");
    const Matrix& m = it->second;
    const nvinfer1::DataType type = engine_->getTensorDataType(name.c_str());
    const nvinfer1::Dims declared = engine_->getTensorShape(name.c_str());
    nvinfer1::Dims dims{};
    dims.nbDims = declared.nbDims;
    if (declared.nbDims == 2) {
      dims.d[0] = m.rows;
      dims.d[1] = m.cols;
    } else if (declared.nbDims == 3 && (declared.d[0] == 1 || declared.d[0] == -1)) {
      dims.d[0] = 1;
      dims.d[1] = m.rows;
      dims.d[2] = m.cols;
    } else {
      throw RuntimeError("engine input '" + name + "' has rank " + std::to_string(declared.nbDims) +
                         "; tsp3d_infer feeds [rows, cols] or [1, rows, cols]");
    }
    if (!context_->setInputShape(name.c_str(), dims)) {
      throw RuntimeError("input '" + name + "' of shape [" + std::to_string(m.rows) + ", " + std::to_string(m.cols) +
                         "] is outside the engine's profile (rebuild the engine with a larger --max-rows)");
    }
    std::vector<char> host(static_cast<size_t>(m.rows * m.cols) * element_size(type));
    if (type == nvinfer1::DataType::kFLOAT) {
      std::memcpy(host.data(), m.data.data(), host.size());
    } else if (type == nvinfer1::DataType::kHALF) {
      auto* h = reinterpret_cast<__half*>(host.data());
      for (size_t i = 0; i < m.data.size(); ++i) h[i] = __float2half_rn(m.data[i]);
    } else {
      throw RuntimeError("engine input '" + name + "' is neither float32 nor float16");
    }
    auto& buf = input_buffers_[name];
    if (buf.second < host.size()) {
      cudaFree(buf.first);
      buf = {nullptr, 0};
      cuda_check(cudaMalloc(&buf.first, host.size()), "cudaMalloc");
      buf.second = host.size();
    }
    cuda_check(cudaMemcpyAsync(buf.first, host.data(), host.size(), cudaMemcpyHostToDevice, stream_), "copy input");
    context_->setTensorAddress(name.c_str(), buf.first);
  }
  std::vector<std::string> output_names;
  for (int32_t i = 0; i < engine_->getNbIOTensors(); ++i) {
    const char* n = engine_->getIOTensorName(i);
    if (engine_->getTensorIOMode(n) != nvinfer1::TensorIOMode::kOUTPUT) continue;
    output_names.push_back(n);
    context_->setOutputAllocator(n, outputs_);
  }
  for (int r = 0; r < (runs > 0 ? runs : 1); ++r) {
    const auto t0 = std::chrono::steady_clock::now();
    if (!context_->enqueueV3(stream_)) throw RuntimeError("inference failed (see the TensorRT / tsp3d log above)");
    cuda_check(cudaStreamSynchronize(stream_), "inference");
    char late[512] = {0};  // a plugin failure after the last size-tensor op: reported once per inference
    if (take_error_ != nullptr && take_error_(late, sizeof(late)) != 0) throw RuntimeError(std::string(late));
    const auto t1 = std::chrono::steady_clock::now();
    if (latency_ms != nullptr) latency_ms->push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
  }
  std::vector<Tensor> result;
  for (const std::string& name : output_names) {
    const Outputs::Buffer& b = outputs_->buffers[name];
    const nvinfer1::DataType type = engine_->getTensorDataType(name.c_str());
    Tensor t;
    t.name = name;
    int64_t count = 1;
    for (int32_t k = 0; k < b.dims.nbDims; ++k) {
      t.shape.push_back(b.dims.d[k]);
      count *= b.dims.d[k];
    }
    std::vector<char> host(static_cast<size_t>(count) * element_size(type));
    if (!host.empty()) cuda_check(cudaMemcpy(host.data(), b.ptr, host.size(), cudaMemcpyDeviceToHost), "copy output");
    for (int64_t i = 0; i < count; ++i) t.values.push_back(element_value(host.data() + i * element_size(type), type));
    result.push_back(std::move(t));
  }
  return result;
}

}  // namespace runtime
}  // namespace tsp3d
