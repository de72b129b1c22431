#include "op_helpers.h"

#include <algorithm>


namespace tsp3d {
namespace trt {

const char* type_name(DataType t) {
  switch (t) {
    case DataType::kFLOAT: return "float32";
    case DataType::kHALF: return "float16";
    case DataType::kINT8: return "int8";
    case DataType::kINT32: return "int32";
    case DataType::kBOOL: return "bool";
    default: return "another type";
  }
}

void expect_rank(const DimsExprs& d, int32_t rank, const char* what) {
  TSP3D_VALIDATE(d.nbDims == rank, what << " must have rank " << rank << ", got rank " << d.nbDims);
}

void expect_extent(const DimsExprs& d, int32_t axis, int64_t value, const char* what) {
  const IDimensionExpr* e = d.d[axis];
  TSP3D_VALIDATE(e != nullptr, what << ": missing extent " << axis);
  if (e->isConstant()) {
    TSP3D_VALIDATE(e->getConstantValue() == value,
                   what << ": dimension " << axis << " must be " << value << ", got " << e->getConstantValue());
  }
}

void expect_coords(const DimsExprs& d, const char* what) {
  expect_rank(d, 2, what);
  expect_extent(d, 1, 4, what);
}

namespace {

// min(capacity, natural), folded when both are constants.
const IDimensionExpr* capped(IExprBuilder& b, int32_t capacity, const IDimensionExpr* natural) {
  if (capacity <= 0) return natural;
  if (natural->isConstant()) return b.constant(std::min<int64_t>(capacity, natural->getConstantValue()));
  return b.operation(nvinfer1::DimensionOperation::kMIN, *b.constant(capacity), *natural);
}

bool any_size_tensor(std::initializer_list<const IDimensionExpr*> inputs) {
  for (const IDimensionExpr* in : inputs) {
    if (in->isSizeTensor()) return true;
  }
  return false;
}

}  // namespace

const IDimensionExpr* declare_rows(IExprBuilder& b, int32_t size_index, int32_t capacity, int32_t opt_rows,
                                   const IDimensionExpr* natural, std::initializer_list<const IDimensionExpr*> inputs,
                                   const std::string& where_prefix) {
  TSP3D_VALIDATE(opt_rows >= 0, where_prefix << ": field 'opt_rows' must be >= 0, got " << opt_rows);
  const IDimensionExpr* upper = capped(b, capacity, natural);
  const IDimensionExpr* opt = nullptr;
  if (opt_rows > 0) {
    opt = b.constant(capacity > 0 ? std::min(opt_rows, capacity) : opt_rows);
  } else if (capacity > 0) {
    opt = natural->isConstant() ? upper : b.constant(capacity);
  } else if (natural->isConstant() || !any_size_tensor(inputs)) {
    opt = natural;
  } else {
    log(nvinfer1::ILogger::Severity::kWARNING,
        where_prefix + ": its input rows are data-dependent and it has no positive 'capacity'; TensorRT tunes "
                       "the layers after it for 1 row");
    opt = b.constant(1);
  }
  TSP3D_VALIDATE(upper != nullptr && opt != nullptr, "could not build the row bound");
  const IDimensionExpr* rows = b.declareSizeTensor(size_index, *opt, *upper);
  TSP3D_VALIDATE(rows != nullptr, "declareSizeTensor failed");
  return rows;
}

void set_dims(DimsExprs& d, std::initializer_list<const IDimensionExpr*> extents) {
  d.nbDims = static_cast<int32_t>(extents.size());
  int32_t i = 0;
  for (const IDimensionExpr* e : extents) d.d[i++] = e;
}

int64_t extent(const nvinfer1::Dims& d, int32_t axis) {
  TSP3D_VALIDATE(axis < d.nbDims, "tensor of rank " << d.nbDims << " has no dimension " << axis);
  return d.d[axis];
}

int64_t volume(const nvinfer1::Dims& d) {
  int64_t v = 1;
  for (int32_t i = 0; i < d.nbDims; ++i) v *= d.d[i];
  return v;
}

size_t workspace_or_throw(int32_t status, size_t bytes, const char* what) {
  TSP3D_VALIDATE(status == 0, what << " workspace query failed (" << status_name(static_cast<Status>(status))
                                   << "; it needs a CUDA device)");
  return bytes;
}

}  // namespace trt
}  // namespace tsp3d
