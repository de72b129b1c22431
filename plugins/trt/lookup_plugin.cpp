// Lookup: query [Q, 4], table [N, 4] (int32) -> idx [Q] int32 (row of table, or -1).
#include "op_creators.h"
#include "op_helpers.h"
#include "plugin_base.h"
#include "plugin_creator.h"
#include "tsp3d/c_api_cuda.h"

namespace tsp3d {
namespace trt {
namespace {

class LookupPlugin final : public OpPlugin<LookupPlugin> {
  // Positions of the inputs and outputs.
  enum Slot : int32_t { kQuery = 0, kTable = 1, kIdxOut = 0 };

 public:
  static inline const Signature kSignature{"Lookup", {{"query", Elem::kI32}, {"table", Elem::kI32}}, 0, {Elem::kI32}};
  using OpPlugin::OpPlugin;  // no attributes

 protected:
  void output_shapes(const DimsExprs* in, int32_t, DimsExprs* out, int32_t, IExprBuilder&) const override {
    expect_coords(in[kQuery], "query [Q, 4]");
    expect_coords(in[kTable], "table [N, 4]");
    set_dims(out[kIdxOut], {in[kQuery].d[0]});
  }

  int32_t workspace_size(const Dims* in, size_t* bytes) const override {
    return tsp3d_cuda_lookup_workspace_size(extent(in[kQuery], 0), extent(in[kTable], 0), bytes);
  }

  bool run(const PluginTensorDesc* in, const PluginTensorDesc*, const void* const* inputs, void* const* outputs,
           const Workspace& ws, cudaStream_t stream) override {
    const int32_t s = tsp3d_cuda_lookup(static_cast<const int32_t*>(inputs[kQuery]), extent(in[kQuery].dims, 0),
                                        static_cast<const int32_t*>(inputs[kTable]), extent(in[kTable].dims, 0),
                                        static_cast<int32_t*>(outputs[kIdxOut]), ws.status, ws.kernel, ws.bytes,
                                        stream);
    return launched("launch", s) && recorded(ws, stream);  // read at the next size-tensor op or by take_error
  }
};

}  // namespace

nvinfer1::IPluginCreatorInterface* lookup_creator() { return creator_of<LookupPlugin>(); }

}  // namespace trt
}  // namespace tsp3d
