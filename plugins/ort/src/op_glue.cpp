#include "op_glue.h"

#include <cmath>
#include <cstdio>
#include <limits>
#include <sstream>

#include "tsp3d/coord_key.h"
#include "tsp3d/cpu/parallel.h"

namespace tsp3d {
namespace ort {

void fail(OrtErrorCode code, std::string message) { throw OpError{code, std::move(message)}; }

std::string prefix(const char* op, const std::string& node) {
  return std::string("tsp3d::") + op + " node '" + node + "': ";
}

OrtStatusPtr make_status(OrtErrorCode code, const std::string& message) {
  return Ort::GetApi().CreateStatus(code, message.c_str());
}

namespace {

// The kernels' parallel loops on ONNX Runtime's intra-op pool of the running kernel (KernelContext_ParallelFor,
// C API 17+): two sessions in one process each use their own pool, and a session of one thread runs every chunk
// on the calling thread. Should the call fail (an ORT built without the kernel-context API), the chunks run
// serially here.
struct OrtChunk {
  void (*fn)(void*, int64_t);
  void* data;
};

void ort_chunk(void* p, size_t i) {
  const auto* c = static_cast<const OrtChunk*>(p);
  c->fn(c->data, static_cast<int64_t>(i));
}

void ort_parallel_for(void* context, void (*fn)(void*, int64_t), int64_t n, void* data) {
  OrtChunk chunk{fn, data};
  OrtStatus* st = Ort::GetApi().KernelContext_ParallelFor(static_cast<const OrtKernelContext*>(context), ort_chunk,
                                                          static_cast<size_t>(n), 0, &chunk);
  if (st == nullptr) return;
  Ort::GetApi().ReleaseStatus(st);
  for (int64_t i = 0; i < n; ++i) fn(data, i);
}

}  // namespace

OrtStatusPtr KernelBase::ComputeV2(OrtKernelContext* ctx) {
  return guard(op_, node_, [&] {
    cpu::ThreadOverride threads(threads_);  // sizes the work split only
    cpu::ExternalPoolScope pool(cpu::ExternalPool{ort_parallel_for, ctx});
    compute(ctx);
  });
}

// ------------------------------------------------------------------------------------------- attributes

int64_t attr_int(const KernelSetup& s, const char* name, const int64_t* dflt, int64_t lo, int64_t hi) {
  int64_t v = 0;
  OrtStatus* st = Ort::GetApi().KernelInfoGetAttribute_int64(s.info, name, &v);
  if (st != nullptr) {
    Ort::GetApi().ReleaseStatus(st);
    float f;
    OrtStatus* fs = Ort::GetApi().KernelInfoGetAttribute_float(s.info, name, &f);
    const bool is_float = fs == nullptr;
    if (fs) Ort::GetApi().ReleaseStatus(fs);
    if (is_float) fail(ORT_INVALID_GRAPH, std::string("attribute '") + name + "' must be an int, got a float");
    if (dflt == nullptr) fail(ORT_INVALID_GRAPH, std::string("required int attribute '") + name + "' is missing");
    v = *dflt;
  }
  if (v < lo || v > hi) {
    std::ostringstream m;
    m << "attribute '" << name << "' is " << v << ", allowed range [" << lo << ", " << hi << "]";
    fail(ORT_INVALID_GRAPH, m.str());
  }
  return v;
}

float attr_float(const KernelSetup& s, const char* name, const float* dflt) {
  float v = 0.f;
  OrtStatus* st = Ort::GetApi().KernelInfoGetAttribute_float(s.info, name, &v);
  if (st != nullptr) {
    Ort::GetApi().ReleaseStatus(st);
    if (dflt == nullptr) fail(ORT_INVALID_GRAPH, std::string("required float attribute '") + name + "' is missing");
    v = *dflt;
  }
  return v;
}

// ------------------------------------------------------------------------------------------- tensors

std::string shape_string(const std::vector<int64_t>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

Tensor input(OrtKernelContext* ctx, size_t index) {
  Tensor t;
  size_t count = 0;
  Ort::ThrowOnError(Ort::GetApi().KernelContext_GetInputCount(ctx, &count));
  if (index >= count) return t;  // a trailing optional input left out of the node
  const OrtValue* v = nullptr;
  Ort::ThrowOnError(Ort::GetApi().KernelContext_GetInput(ctx, index, &v));
  if (v == nullptr) return t;
  Ort::ConstValue value(v);
  auto info = value.GetTensorTypeAndShapeInfo();
  t.shape = info.GetShape();
  t.type = info.GetElementType();
  t.data = value.GetTensorRawData();
  return t;
}

Tensor input_rank(OrtKernelContext* ctx, size_t index, const char* name, size_t rank) {
  Tensor t = input(ctx, index);
  if (t.shape.size() != rank) {
    fail(ORT_INVALID_ARGUMENT, std::string("input '") + name + "' must have rank " + std::to_string(rank) +
                                   ", got shape " + shape_string(t.shape));
  }
  return t;
}

Tensor input_coords(OrtKernelContext* ctx, size_t index, const char* name) {
  Tensor t = input(ctx, index);
  if (t.shape.size() != 2 || t.shape[1] != 4) {
    fail(ORT_INVALID_ARGUMENT, std::string("input '") + name + "' must be int32 [N, 4] rows (batch, x, y, z), got " +
                                   shape_string(t.shape));
  }
  return t;
}

void* output(OrtKernelContext* ctx, size_t index, const std::vector<int64_t>& shape) {
  OrtValue* v = nullptr;
  Ort::ThrowOnError(Ort::GetApi().KernelContext_GetOutput(ctx, index, shape.data(), shape.size(), &v));
  void* data = nullptr;
  Ort::ThrowOnError(Ort::GetApi().GetTensorMutableData(v, &data));
  return data;
}

// ------------------------------------------------------------------------------------------- statuses

namespace {

std::string row_string(const int32_t* rows, int64_t r) {
  const int32_t* p = rows + 4 * r;
  return "(" + std::to_string(p[0]) + ", " + std::to_string(p[1]) + ", " + std::to_string(p[2]) + ", " +
         std::to_string(p[3]) + ")";
}

std::string name_of(const StatusContext& c, int32_t input) {
  return input >= 0 && static_cast<size_t>(input) < c.inputs.size() ? c.inputs[input] : "?";
}

const int32_t* rows_of(const StatusContext& c, int32_t input) {
  return input >= 0 && static_cast<size_t>(input) < c.coords.size() ? c.coords[input] : nullptr;
}

std::string point_string(const StatusContext& c, int64_t row) {
  const float* p = c.points + row * c.points_dim;
  char buf[128];
  std::snprintf(buf, sizeof(buf), "(%g, %g, %g)", p[0], p[1], p[2]);
  return buf;
}

}  // namespace

void check(Status st, const cpu::Diag& d, const StatusContext& c) {
  if (st == Status::kOk) return;
  const std::string in = "input '" + name_of(c, d.input) + "'";
  const int32_t* rows = rows_of(c, d.input);
  std::ostringstream m;
  switch (st) {
    case Status::kCapacityExceeded:
      m << "produced " << d.count << " rows, over its capacity of " << c.capacity << "; " << status_hint(st);
      fail(ORT_INVALID_ARGUMENT, m.str());
    case Status::kCoordOutOfRange:
      if (c.points) {
        m << "input 'points' row " << d.row << " " << point_string(c, d.row) << " quantizes outside [" << kCoordMin
          << ", " << kCoordMax << "] at voxel_size " << c.voxel_size << "; " << status_hint(st);
      } else if (rows && d.row >= 0) {
        const int32_t* r = rows + 4 * d.row;
        m << in << " row " << d.row << " " << row_string(rows, d.row);
        if (row_in_range(r[0], r[1], r[2], r[3])) {
          m << " creates a site outside the coordinate range x/y/z [" << kCoordMin << ", " << kCoordMax
            << "]; the scene is too large for the voxel size";
        } else {
          m << " is outside the coordinate range (batch [0, " << kBatchMax << "], x/y/z [" << kCoordMin << ", "
            << kCoordMax << "])";
        }
      } else {
        m << "coordinate out of range";
      }
      fail(ORT_INVALID_ARGUMENT, m.str());
    case Status::kNotOnStride:
      m << in << " row " << d.row << " " << (rows ? row_string(rows, d.row) : "") << " is not a multiple of the tensor"
        << " stride " << c.stride << " (attribute 'stride')";
      fail(ORT_INVALID_ARGUMENT, m.str());
    case Status::kDuplicateCoord:
      m << in << " has duplicate coordinates: rows " << d.row2 << " and " << d.row << " are both "
        << (rows ? row_string(rows, d.row) : "") << " (" << status_hint(st) << ")";
      fail(ORT_INVALID_ARGUMENT, m.str());
    case Status::kNonFinitePoint:
      m << "input 'points' row " << d.row << " has a non-finite x/y/z " << point_string(c, d.row);
      fail(ORT_INVALID_ARGUMENT, m.str());
    case Status::kIndexOutOfRange:
      m << "input 'nbr' [" << d.row << ", " << d.row2 << "] = " << d.value << " is not a row of 'feats' ("
        << c.feats_rows << " rows)";
      fail(ORT_INVALID_ARGUMENT, m.str());
    case Status::kOutOfMemory:
      fail(ORT_FAIL, status_name(st));
    default:
      fail(ORT_INVALID_ARGUMENT, status_name(st));
  }
}

}  // namespace ort
}  // namespace tsp3d
