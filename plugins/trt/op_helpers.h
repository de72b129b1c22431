// Shape and type helpers shared by the op plugins: rank/extent checks on symbolic and concrete shapes, and the
// size-tensor declaration of data-dependent row counts.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>

#include "NvInferRuntime.h"
#include "plugin_utils.h"
#include "tsp3d/common.h"

namespace tsp3d {
namespace trt {

using nvinfer1::DataType;
using nvinfer1::DimsExprs;
using nvinfer1::DynamicPluginTensorDesc;
using nvinfer1::IDimensionExpr;
using nvinfer1::IExprBuilder;
using nvinfer1::PluginTensorDesc;

const char* type_name(DataType t);
inline bool is_float(DataType t) { return t == DataType::kFLOAT || t == DataType::kHALF; }

constexpr int32_t code(Status s) { return static_cast<int32_t>(s); }

// Symbolic checks (getOutputShapes): the rank, and an extent when it is a build-time constant.
void expect_rank(const DimsExprs& d, int32_t rank, const char* what);
void expect_extent(const DimsExprs& d, int32_t axis, int64_t value, const char* what);
void expect_coords(const DimsExprs& d, const char* what);  // [N, 4]

// A data-dependent row count: declares output `size_index` (a 0-D int32 size tensor) with the upper bound
// min(capacity, natural) when `capacity` is positive, else the op's natural bound (an expression of the input rows
// `inputs`). The auto-tuning value (which must not depend on a size tensor) is `opt_rows` (the bundle's typical
// count, a build hint) capped by the capacity when given; else the capacity; else the natural bound when no input
// row count is a size tensor; else 1 (with a warning: chained data-dependent ops should have capacities).
// Returns the row-count expression.
const IDimensionExpr* declare_rows(IExprBuilder& b, int32_t size_index, int32_t capacity, int32_t opt_rows,
                                   const IDimensionExpr* natural, std::initializer_list<const IDimensionExpr*> inputs,
                                   const std::string& where_prefix);
// d = the shape of `extents` ({} for a 0-D size tensor).
void set_dims(DimsExprs& d, std::initializer_list<const IDimensionExpr*> extents);

// Concrete extents (enqueue, getWorkspaceSize).
int64_t extent(const nvinfer1::Dims& d, int32_t axis);
int64_t volume(const nvinfer1::Dims& d);
// The largest shape TensorRT may run (getWorkspaceSize sees the profile's max).
inline const nvinfer1::Dims& max_dims(const DynamicPluginTensorDesc& d) { return d.max; }

// Host status of a size query; throws on failure (getWorkspaceSize turns it into a logged error).
size_t workspace_or_throw(int32_t status, size_t bytes, const char* what);

}  // namespace trt
}  // namespace tsp3d
