#include "lookup_plugin.h"

#include "op_helpers.h"
#include "tsp3d/c_api_cuda.h"

namespace tsp3d {
namespace trt {

const Schema& LookupPlugin::schema() {
  static const Schema s{};
  return s;
}

void LookupPlugin::output_types(DataType* out, int32_t, const DataType* in, int32_t) const {
  TSP3D_VALIDATE(in[kQuery] == DataType::kINT32 && in[kTable] == DataType::kINT32, "query and table must be int32");
  out[kIdxOut] = DataType::kINT32;
}

void LookupPlugin::output_shapes(const DimsExprs* in, int32_t, DimsExprs* out, int32_t, IExprBuilder&) const {
  expect_rank(in[kQuery], 2, "query [Q, 4]");
  expect_extent(in[kQuery], 1, 4, "query [Q, 4]");
  expect_rank(in[kTable], 2, "table [N, 4]");
  expect_extent(in[kTable], 1, 4, "table [N, 4]");
  out[kIdxOut].nbDims = 1;
  out[kIdxOut].d[0] = in[kQuery].d[0];
}

bool LookupPlugin::supports(int32_t pos, const DynamicPluginTensorDesc* io, int32_t, int32_t) const {
  return io[pos].desc.type == DataType::kINT32;
}

size_t LookupPlugin::kernel_workspace_bytes(const DynamicPluginTensorDesc* in, int32_t) const {
  size_t bytes = 0;
  return workspace_or_throw(tsp3d_cuda_lookup_workspace_size(extent(max_dims(in[kQuery]), 0),
                                                             extent(max_dims(in[kTable]), 0), &bytes),
                            bytes, kName);
}

bool LookupPlugin::run(const PluginTensorDesc* in, const PluginTensorDesc*, const void* const* inputs,
                       void* const* outputs, void* ws, cudaStream_t stream) {
  const int64_t q = extent(in[kQuery].dims, 0), n = extent(in[kTable].dims, 0);
  size_t bytes = 0;
  if (!launched("workspace query", tsp3d_cuda_lookup_workspace_size(q, n, &bytes))) return false;
  const int32_t s = tsp3d_cuda_lookup(static_cast<const int32_t*>(inputs[kQuery]), q,
                                      static_cast<const int32_t*>(inputs[kTable]), n,
                                      static_cast<int32_t*>(outputs[kIdxOut]), status_slot(ws), kernel_workspace(ws),
                                      bytes, stream);
  if (!launched("launch", s)) return false;
  return recorded(ws, stream);  // read at the next size-tensor op or by tsp3d_trt_take_error
}

}  // namespace trt
}  // namespace tsp3d
