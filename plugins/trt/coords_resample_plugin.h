// Shared glue of CoordsDown and CoordsUp: coords [N, 4] int32 at tensor stride `stride` -> out_coords [M, 4] int32
// and the size tensor M (output 1), bounded by `capacity` or the natural bound (N, or 27 N for CoordsUp).
#pragma once

#include "plugin_base.h"

namespace tsp3d {
namespace trt {

class CoordsResamplePlugin : public PluginBase {
 public:
  CoordsResamplePlugin(const char* op, std::string node, Attributes attrs);

 protected:
  int32_t min_inputs() const override { return 1; }
  int32_t nb_outputs() const override { return 2; }
  void output_types(DataType* out, int32_t nb_out, const DataType* in, int32_t nb_in) const override;
  void output_shapes(const DimsExprs* in, int32_t nb_in, DimsExprs* out, int32_t nb_out,
                     IExprBuilder& builder) const override;
  bool supports(int32_t pos, const DynamicPluginTensorDesc* io, int32_t nb_in, int32_t nb_out) const override;
  size_t kernel_workspace_bytes(const DynamicPluginTensorDesc* in, int32_t nb_in) const override;
  bool run(const PluginTensorDesc* in, const PluginTensorDesc* out, const void* const* inputs, void* const* outputs,
           void* ws, cudaStream_t stream) override;

  // What differs between the two ops.
  virtual int64_t natural_factor() const = 0;  // natural bound = factor * N
  virtual int32_t workspace_size(int64_t n, size_t* bytes) const = 0;
  virtual int32_t launch(const int32_t* coords, int64_t n, int32_t* coords_out, void* ws, size_t bytes,
                         cudaStream_t stream) const = 0;

  enum Slot : int32_t { kCoords = 0, kCoordsOut = 0, kSizeOut = 1 };
  int32_t stride_;
  int32_t capacity_;
};

}  // namespace trt
}  // namespace tsp3d
