// GPU check of the plugin glue: every plugin's enqueue, called directly on device buffers (no TensorRT runtime
// needed), against the C++ CPU kernels (libtsp3d_cpu.so, c_api.h). Checks the I/O slot wiring, the attributes
// reaching the kernels, the size tensors, and that an overflow makes enqueue fail with a message.
// Exit status: 0 pass, 1 mismatch, 77 no CUDA device (skipped).
#include <cuda_fp16.h>
#include <cuda_runtime_api.h>

#include <cmath>
#include <random>

#include "test_support.h"
#include "tsp3d/c_api.h"

extern "C" int32_t tsp3d_trt_take_error(char* message, size_t capacity);

using namespace tsp3d_test;
using nvinfer1::DataType;

namespace {

CaptureFinder g_finder;

struct Tensor {  // host data + its device copy
  DataType type;
  std::vector<int64_t> dims;
  std::vector<char> host;
  void* dev = nullptr;
  size_t bytes() const { return host.size(); }
};

size_t elem(DataType t) { return t == DataType::kHALF ? 2 : t == DataType::kINT8 ? 1 : 4; }

template <typename T>
Tensor make(DataType type, std::vector<int64_t> dims, const std::vector<T>& values) {
  Tensor t{type, std::move(dims), {}, nullptr};
  t.host.resize(values.size() * sizeof(T));
  std::memcpy(t.host.data(), values.data(), t.host.size());
  cudaMalloc(&t.dev, std::max<size_t>(t.bytes(), 1));
  cudaMemcpy(t.dev, t.host.data(), t.bytes(), cudaMemcpyHostToDevice);
  return t;
}

Tensor output(DataType type, std::vector<int64_t> dims) {  // dims: the bound (size tensors: {})
  int64_t n = 1;
  for (int64_t d : dims) n *= d;
  Tensor t{type, std::move(dims), std::vector<char>(static_cast<size_t>(n) * elem(type)), nullptr};
  cudaMalloc(&t.dev, std::max<size_t>(t.bytes(), 1));
  cudaMemset(t.dev, 0xFF, std::max<size_t>(t.bytes(), 1));
  return t;
}

nvinfer1::PluginTensorDesc desc_of(const Tensor& t) {
  nvinfer1::PluginTensorDesc d{};
  d.type = t.type;
  d.format = nvinfer1::TensorFormat::kLINEAR;
  d.dims.nbDims = static_cast<int32_t>(t.dims.size());
  for (size_t i = 0; i < t.dims.size(); ++i) d.dims.d[i] = t.dims[i];
  return d;
}

// Runs one plugin: returns enqueue's status; outputs are copied back to host.
int32_t run(const std::string& op, Fields& fields, std::vector<Tensor>& in, std::vector<Tensor>& out) {
  Plugin p = create(op, fields);
  if (!p) return fail(__FILE__, __LINE__, "cannot create " + op), -99;
  std::vector<nvinfer1::PluginTensorDesc> id, od;
  std::vector<nvinfer1::DynamicPluginTensorDesc> dyn;
  std::vector<const void*> ip;
  std::vector<void*> op_;
  for (Tensor& t : in) {
    id.push_back(desc_of(t));
    nvinfer1::DynamicPluginTensorDesc d{};
    d.desc = id.back();
    d.min = d.max = d.opt = d.desc.dims;
    dyn.push_back(d);
    ip.push_back(t.dev);
  }
  for (Tensor& t : out) {
    od.push_back(desc_of(t));
    op_.push_back(t.dev);
  }
  if (runtime(p.get())->onShapeChange(id.data(), static_cast<int32_t>(in.size()), od.data(),
                                      static_cast<int32_t>(out.size())) != 0) {
    return -98;
  }
  const size_t ws_bytes = build(p.get())->getWorkspaceSize(dyn.data(), static_cast<int32_t>(in.size()), nullptr, 0);
  void* ws = nullptr;
  cudaMalloc(&ws, std::max<size_t>(ws_bytes, 256));
  cudaStream_t stream;
  cudaStreamCreate(&stream);
  int32_t rc = runtime(p.get())->enqueue(id.data(), od.data(), ip.data(), op_.data(), ws, stream);
  cudaStreamSynchronize(stream);
  // Ops without a size tensor record failures on the device; a runtime reads them once per inference.
  char late[256] = {0};
  if (tsp3d_trt_take_error(late, sizeof(late)) != 0) {
    g_finder.logger.errors.push_back(late);
    if (rc == 0) rc = -1;
  }
  cudaStreamDestroy(stream);
  cudaFree(ws);
  for (Tensor& t : out) cudaMemcpy(t.host.data(), t.dev, t.bytes(), cudaMemcpyDeviceToHost);
  return rc;
}

template <typename T>
std::vector<T> values(const Tensor& t, int64_t count = -1) {
  const size_t n = count < 0 ? t.bytes() / sizeof(T) : static_cast<size_t>(count);
  std::vector<T> v(n);
  std::memcpy(v.data(), t.host.data(), n * sizeof(T));
  return v;
}

int32_t size_of(const Tensor& t) { return values<int32_t>(t, 1)[0]; }

void expect_equal(const std::string& what, const std::vector<int32_t>& got, const std::vector<int32_t>& want) {
  if (got != want) fail(__FILE__, __LINE__, what + ": differs from the CPU kernels");
}

void expect_close(const std::string& what, const std::vector<float>& got, const std::vector<float>& want,
                  float rtol, float atol) {
  if (got.size() != want.size()) return fail(__FILE__, __LINE__, what + ": size differs");
  for (size_t i = 0; i < got.size(); ++i) {
    if (!(std::fabs(got[i] - want[i]) <= atol + rtol * std::fabs(want[i]))) {
      return fail(__FILE__, __LINE__, what + ": element " + std::to_string(i) + " " + std::to_string(got[i]) +
                                          " vs " + std::to_string(want[i]));
    }
  }
}

std::vector<float> halfs_to_floats(const std::vector<uint16_t>& h) {
  std::vector<float> f(h.size());
  for (size_t i = 0; i < h.size(); ++i) {
    __half_raw r;
    r.x = h[i];
    f[i] = __half2float(__half(r));
  }
  return f;
}

}  // namespace

int main() {
  int devices = 0;
  if (cudaGetDeviceCount(&devices) != cudaSuccess || devices == 0) {
    std::cout << "skipped: no CUDA device" << std::endl;
    return 77;
  }
  setLoggerFinder(&g_finder);
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> uni(-2.f, 2.f);
  std::normal_distribution<float> normal(0.f, 1.f);

  // Voxelize -> coords used by everything below.
  const int64_t np = 6000;
  std::vector<float> pts(np * 6);
  for (float& v : pts) v = uni(rng);
  std::vector<int32_t> cpu_coords(np * 4), cpu_first(np);
  int64_t m = 0;
  CHECK_EQ(tsp3d_cpu_voxelize(pts.data(), np, 6, 0.1f, 0, np, cpu_coords.data(), cpu_first.data(), &m), 0);
  cpu_coords.resize(m * 4);
  cpu_first.resize(m);
  {
    current_test() = "Voxelize";
    Fields f;
    f.f32("voxel_size", 0.1f).i32("capacity", 0);
    std::vector<Tensor> in{make(DataType::kFLOAT, {np, 6}, pts)};
    std::vector<Tensor> out{output(DataType::kINT32, {np, 4}), output(DataType::kINT32, {np}),
                            output(DataType::kINT32, {})};
    CHECK_EQ(run("Voxelize", f, in, out), 0);
    CHECK_EQ(size_of(out[2]), static_cast<int32_t>(m));
    expect_equal("coords", values<int32_t>(out[0], m * 4), cpu_coords);
    expect_equal("first", values<int32_t>(out[1], m), cpu_first);
  }
  {
    current_test() = "CoordsUp / CoordsDown / overflow";
    std::vector<int32_t> even(cpu_coords);
    for (size_t i = 0; i < even.size(); ++i) even[i] = i % 4 ? even[i] * 2 : even[i];
    std::vector<int32_t> want(27 * m * 4);
    int64_t mu = 0;
    CHECK_EQ(tsp3d_cpu_coords_up(even.data(), m, 2, 27 * m, want.data(), &mu), 0);
    want.resize(mu * 4);
    Fields f;
    f.i32("stride", 2);
    std::vector<Tensor> in{make(DataType::kINT32, {m, 4}, even)};
    std::vector<Tensor> out{output(DataType::kINT32, {27 * m, 4}), output(DataType::kINT32, {})};
    CHECK_EQ(run("CoordsUp", f, in, out), 0);
    CHECK_EQ(size_of(out[1]), static_cast<int32_t>(mu));
    expect_equal("up", values<int32_t>(out[0], mu * 4), want);

    std::vector<int32_t> down(m * 4);
    int64_t md = 0;
    CHECK_EQ(tsp3d_cpu_coords_down(even.data(), m, 2, m, down.data(), &md), 0);
    down.resize(md * 4);
    Fields fd;
    fd.i32("stride", 2).i32("capacity", static_cast<int32_t>(m));
    std::vector<Tensor> out_d{output(DataType::kINT32, {m, 4}), output(DataType::kINT32, {})};
    CHECK_EQ(run("CoordsDown", fd, in, out_d), 0);
    expect_equal("down", values<int32_t>(out_d[0], md * 4), down);

    Fields small;  // 10 rows cannot hold the output: enqueue fails and says why
    small.i32("stride", 2).i32("capacity", 10);
    std::vector<Tensor> out_s{output(DataType::kINT32, {10, 4}), output(DataType::kINT32, {})};
    g_finder.logger.clear();
    CHECK(run("CoordsUp", small, in, out_s) != 0);
    CHECK(g_finder.logger.error_has({"CoordsUp", "capacity=10"}));
    CHECK_EQ(size_of(out_s[1]), 0);
  }
  // Kernel map and the rulebook ops.
  const int64_t k = 27;
  std::vector<int32_t> nbr(m * k);
  CHECK_EQ(tsp3d_cpu_kernel_map(cpu_coords.data(), m, cpu_coords.data(), m, 3, 1, 0, nbr.data()), 0);
  {
    current_test() = "KernelMap";
    Fields f;
    f.i32("kernel_size", 3).i32("offset_stride", 1);
    std::vector<Tensor> in{make(DataType::kINT32, {m, 4}, cpu_coords), make(DataType::kINT32, {m, 4}, cpu_coords)};
    std::vector<Tensor> out{output(DataType::kINT32, {m, k})};
    CHECK_EQ(run("KernelMap", f, in, out), 0);
    expect_equal("nbr", values<int32_t>(out[0]), nbr);
  }
  const int64_t cin = 24, cout = 40;
  std::vector<float> feats(m * cin), weight(k * cin * cout), bias(cout);
  for (float& v : feats) v = normal(rng);
  for (float& v : weight) v = normal(rng) * 0.1f;
  for (float& v : bias) v = normal(rng);
  {
    current_test() = "SparseConv f32";
    std::vector<float> want(m * cout);
    CHECK_EQ(tsp3d_cpu_sparse_conv_f32(feats.data(), m, cin, nbr.data(), m, k, weight.data(), cout, bias.data(), 1,
                                       want.data()), 0);
    Fields f;
    f.i32("activation", 1);
    std::vector<Tensor> in{make(DataType::kFLOAT, {m, cin}, feats), make(DataType::kINT32, {m, k}, nbr),
                           make(DataType::kFLOAT, {k, cin, cout}, weight), make(DataType::kFLOAT, {cout}, bias)};
    std::vector<Tensor> out{output(DataType::kFLOAT, {m, cout})};
    CHECK_EQ(run("SparseConv", f, in, out), 0);
    expect_close("out", values<float>(out[0]), want, 1e-3f, 1e-5f);
  }
  {
    current_test() = "SparseConv f16";
    auto to_half = [](const std::vector<float>& v) {
      std::vector<uint16_t> h(v.size());
      for (size_t i = 0; i < v.size(); ++i) h[i] = static_cast<__half_raw>(__float2half_rn(v[i])).x;
      return h;
    };
    const auto hf = to_half(feats), hw = to_half(weight);
    std::vector<uint16_t> want(m * cout);
    CHECK_EQ(tsp3d_cpu_sparse_conv_f16(hf.data(), m, cin, nbr.data(), m, k, hw.data(), cout, nullptr, 0, want.data()),
             0);
    Fields f;
    std::vector<Tensor> in{make(DataType::kHALF, {m, cin}, hf), make(DataType::kINT32, {m, k}, nbr),
                           make(DataType::kHALF, {k, cin, cout}, hw)};
    std::vector<Tensor> out{output(DataType::kHALF, {m, cout})};
    CHECK_EQ(run("SparseConv", f, in, out), 0);
    expect_close("out", halfs_to_floats(values<uint16_t>(out[0])), halfs_to_floats(want), 2e-3f, 2e-3f);
  }
  {
    current_test() = "SparseConvInt8";
    std::vector<int8_t> qf(m * cin), qw(k * cin * cout);
    std::uniform_int_distribution<int> q(-127, 127);
    for (int8_t& v : qf) v = static_cast<int8_t>(q(rng));
    for (int8_t& v : qw) v = static_cast<int8_t>(q(rng));
    std::vector<float> ws(cout), want(m * cout);
    for (float& v : ws) v = 0.001f + 0.01f * std::fabs(normal(rng));
    CHECK_EQ(tsp3d_cpu_sparse_conv_i8(qf.data(), 0.05f, m, cin, nbr.data(), m, k, qw.data(), ws.data(), cout,
                                      bias.data(), 1, want.data()), 0);
    Fields f;
    f.i32("activation", 1);
    std::vector<Tensor> in{make(DataType::kINT8, {m, cin}, qf), make(DataType::kFLOAT, {}, std::vector<float>{0.05f}),
                           make(DataType::kINT32, {m, k}, nbr), make(DataType::kINT8, {k, cin, cout}, qw),
                           make(DataType::kFLOAT, {cout}, ws), make(DataType::kFLOAT, {cout}, bias)};
    std::vector<Tensor> out{output(DataType::kFLOAT, {m, cout})};
    CHECK_EQ(run("SparseConvInt8", f, in, out), 0);
    expect_close("out", values<float>(out[0]), want, 1e-6f, 1e-6f);
  }
  {
    current_test() = "SparseMaxPool / Lookup / Prune / AppendMissing";
    std::vector<float> want(m * cin);
    CHECK_EQ(tsp3d_cpu_sparse_max_pool_f32(feats.data(), m, cin, nbr.data(), m, k, want.data()), 0);
    Fields none;
    std::vector<Tensor> in{make(DataType::kFLOAT, {m, cin}, feats), make(DataType::kINT32, {m, k}, nbr)};
    std::vector<Tensor> out{output(DataType::kFLOAT, {m, cin})};
    CHECK_EQ(run("SparseMaxPool", none, in, out), 0);
    expect_close("max", values<float>(out[0]), want, 0.f, 0.f);

    std::vector<int32_t> query(cpu_coords);
    for (size_t i = 1; i < query.size(); i += 8) query[i] += 1;  // every other row moves off the table
    std::vector<int32_t> idx(m);
    CHECK_EQ(tsp3d_cpu_lookup(query.data(), m, cpu_coords.data(), m, idx.data()), 0);
    std::vector<Tensor> lin{make(DataType::kINT32, {m, 4}, query), make(DataType::kINT32, {m, 4}, cpu_coords)};
    std::vector<Tensor> lout{output(DataType::kINT32, {m})};
    CHECK_EQ(run("Lookup", none, lin, lout), 0);
    expect_equal("idx", values<int32_t>(lout[0]), idx);

    std::vector<float> scores(m);
    for (float& v : scores) v = std::round(normal(rng) * 4.f) / 4.f;  // ties
    for (const auto& c : {std::make_pair(0.5f, 1), std::make_pair(50.f, 300)}) {  // normal, then the fallback
      std::vector<int32_t> keep(m);
      int64_t mk = 0;
      CHECK_EQ(tsp3d_cpu_prune_f32(scores.data(), m, c.first, 1, c.second, m, keep.data(), &mk), 0);
      keep.resize(mk);
      Fields f;
      f.f32("threshold", c.first).i32("mode", 1).i32("min_keep", c.second);
      std::vector<Tensor> pin{make(DataType::kFLOAT, {m}, scores)};
      std::vector<Tensor> pout{output(DataType::kINT32, {m}), output(DataType::kINT32, {})};
      CHECK_EQ(run("Prune", f, pin, pout), 0);
      CHECK_EQ(size_of(pout[1]), static_cast<int32_t>(mk));
      expect_equal("kept", values<int32_t>(pout[0], mk), keep);
    }

    const int64_t na = m / 2;
    std::vector<int32_t> a(cpu_coords.begin(), cpu_coords.begin() + na * 4), coords(2 * m * 4), idx_b(m);
    std::vector<int32_t> b(cpu_coords);  // shifted by one voxel in x: unique, partly overlapping a
    for (size_t i = 1; i < b.size(); i += 4) b[i] += 1;
    int64_t total = 0;
    CHECK_EQ(tsp3d_cpu_append_missing(a.data(), na, b.data(), m, na + m, coords.data(), idx_b.data(), &total), 0);
    Fields f;
    std::vector<Tensor> ain{make(DataType::kINT32, {na, 4}, a), make(DataType::kINT32, {m, 4}, b)};
    std::vector<Tensor> aout{output(DataType::kINT32, {na + m, 4}), output(DataType::kINT32, {m}),
                             output(DataType::kINT32, {}), output(DataType::kINT32, {})};
    CHECK_EQ(run("AppendMissing", f, ain, aout), 0);
    CHECK_EQ(size_of(aout[2]), static_cast<int32_t>(total));
    CHECK_EQ(size_of(aout[3]), static_cast<int32_t>(total - na));
    coords.resize(total * 4);
    idx_b.resize(total - na);
    expect_equal("coords", values<int32_t>(aout[0], total * 4), coords);
    expect_equal("idx_b", values<int32_t>(aout[1], total - na), idx_b);
  }
  std::cout << (failures() == 0 ? "enqueue check: all plugins match the CPU kernels"
                                : "enqueue check: " + std::to_string(failures()) + " check(s) failed")
            << std::endl;
  return failures() == 0 ? 0 : 1;
}
