// The creator of every op, for getCreators (plugin_registration.cpp). Each is defined in its op's .cpp, where the
// op's plugin class lives and nothing else sees it.
#pragma once

#include "NvInferRuntime.h"

namespace tsp3d {
namespace trt {

nvinfer1::IPluginCreatorInterface* voxelize_creator();
nvinfer1::IPluginCreatorInterface* coords_down_creator();  // coords_resample_plugin.cpp
nvinfer1::IPluginCreatorInterface* coords_up_creator();    // coords_resample_plugin.cpp
nvinfer1::IPluginCreatorInterface* kernel_map_creator();
nvinfer1::IPluginCreatorInterface* sparse_conv_creator();
nvinfer1::IPluginCreatorInterface* sparse_conv_int8_creator();
nvinfer1::IPluginCreatorInterface* sparse_max_pool_creator();
nvinfer1::IPluginCreatorInterface* lookup_creator();
nvinfer1::IPluginCreatorInterface* prune_creator();
nvinfer1::IPluginCreatorInterface* append_missing_creator();

}  // namespace trt
}  // namespace tsp3d
