// CoordsDown: coords [N, 4] int32 -> out_coords [M, 4] int32 and the size tensor M (docs/opset.md, CoordsDown).
#pragma once

#include "coords_resample_plugin.h"

namespace tsp3d {
namespace trt {

class CoordsDownPlugin final : public CoordsResamplePlugin {
 public:
  static constexpr const char* kName = "CoordsDown";
  static const Schema& schema();
  CoordsDownPlugin(std::string node, Attributes attrs);

 protected:
  int64_t natural_factor() const override { return 1; }
  int32_t workspace_size(int64_t n, size_t* bytes) const override;
  int32_t launch(const int32_t* coords, int64_t n, int32_t* coords_out, void* ws, size_t bytes,
                 cudaStream_t stream) const override;
  PluginBase* copy() const override { return new CoordsDownPlugin(*this); }
};

}  // namespace trt
}  // namespace tsp3d
