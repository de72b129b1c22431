#include "sparse_max_pool_plugin.h"

#include "op_helpers.h"
#include "tsp3d/c_api_cuda.h"

namespace tsp3d {
namespace trt {

const Schema& SparseMaxPoolPlugin::schema() {
  static const Schema s{};
  return s;
}

void SparseMaxPoolPlugin::output_types(DataType* out, int32_t, const DataType* in, int32_t) const {
  TSP3D_VALIDATE(in[kFeats] == DataType::kFLOAT || in[kFeats] == DataType::kHALF,
                 "feats must be float32 or float16, got " << type_name(in[kFeats]));
  TSP3D_VALIDATE(in[kNbr] == DataType::kINT32, "nbr must be int32, got " << type_name(in[kNbr]));
  out[kOut] = in[kFeats];
}

void SparseMaxPoolPlugin::output_shapes(const DimsExprs* in, int32_t, DimsExprs* out, int32_t, IExprBuilder&) const {
  expect_rank(in[kFeats], 2, "feats [N, C]");
  expect_rank(in[kNbr], 2, "nbr [M, K]");
  out[kOut].nbDims = 2;
  out[kOut].d[0] = in[kNbr].d[0];
  out[kOut].d[1] = in[kFeats].d[1];
}

bool SparseMaxPoolPlugin::supports(int32_t pos, const DynamicPluginTensorDesc* io, int32_t, int32_t) const {
  const DataType t = io[pos].desc.type;
  if (pos == kFeats) return t == DataType::kFLOAT || t == DataType::kHALF;
  if (pos == kNbr) return t == DataType::kINT32;
  return t == io[kFeats].desc.type;
}

size_t SparseMaxPoolPlugin::kernel_workspace_bytes(const DynamicPluginTensorDesc* in, int32_t) const {
  size_t bytes = 0;
  return workspace_or_throw(tsp3d_cuda_sparse_max_pool_workspace_size(extent(max_dims(in[kNbr]), 0), &bytes), bytes,
                            kName);
}

bool SparseMaxPoolPlugin::run(const PluginTensorDesc* in, const PluginTensorDesc*, const void* const* inputs,
                              void* const* outputs, void* ws, cudaStream_t stream) {
  TSP3D_VALIDATE(in[kFeats].dims.nbDims == 2 && in[kNbr].dims.nbDims == 2, "feats [N, C] and nbr [M, K] must be 2-D");
  const int64_t n_in = in[kFeats].dims.d[0], c = in[kFeats].dims.d[1];
  const int64_t n_out = in[kNbr].dims.d[0], k = in[kNbr].dims.d[1];
  size_t bytes = 0;
  if (!launched("workspace query", tsp3d_cuda_sparse_max_pool_workspace_size(n_out, &bytes))) return false;
  const auto* nbr = static_cast<const int32_t*>(inputs[kNbr]);
  const int32_t s =
      in[kFeats].type == DataType::kFLOAT
          ? tsp3d_cuda_sparse_max_pool_f32(static_cast<const float*>(inputs[kFeats]), n_in, c, nbr, n_out, k,
                                           static_cast<float*>(outputs[kOut]), status_slot(ws), kernel_workspace(ws),
                                           bytes, stream)
          : tsp3d_cuda_sparse_max_pool_f16(static_cast<const uint16_t*>(inputs[kFeats]), n_in, c, nbr, n_out, k,
                                           static_cast<uint16_t*>(outputs[kOut]), status_slot(ws),
                                           kernel_workspace(ws), bytes, stream);
  if (!launched("launch", s)) return false;
  return recorded(ws, stream);  // read at the next size-tensor op or by tsp3d_trt_take_error
}

}  // namespace trt
}  // namespace tsp3d
