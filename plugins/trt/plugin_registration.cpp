// The library's only entry points (see exports.map): TensorRT calls getCreators when it loads the library
// (IPluginRegistry::loadLibrary, trtexec --dynamicPlugins, Polygraphy --plugins) and setLoggerFinder to hand over
// its logger. Nothing registers itself at load time. Adding an op = one line in the list below.
#include "append_missing_plugin.h"
#include "coords_down_plugin.h"
#include "coords_up_plugin.h"
#include "kernel_map_plugin.h"
#include "lookup_plugin.h"
#include "plugin_creator.h"
#include "prune_plugin.h"
#include "sparse_conv_int8_plugin.h"
#include "sparse_conv_plugin.h"
#include "sparse_max_pool_plugin.h"
#include "voxelize_plugin.h"

using namespace tsp3d::trt;

extern "C" __attribute__((visibility("default"))) void setLoggerFinder(nvinfer1::ILoggerFinder* finder) {
  set_logger_finder(finder);
}

extern "C" __attribute__((visibility("default"))) nvinfer1::IPluginCreatorInterface* const* getCreators(
    int32_t& nb_creators) {
  static PluginCreator<VoxelizePlugin> voxelize;
  static PluginCreator<CoordsDownPlugin> coords_down;
  static PluginCreator<CoordsUpPlugin> coords_up;
  static PluginCreator<KernelMapPlugin> kernel_map;
  static PluginCreator<SparseConvPlugin> sparse_conv;
  static PluginCreator<SparseConvInt8Plugin> sparse_conv_int8;
  static PluginCreator<SparseMaxPoolPlugin> sparse_max_pool;
  static PluginCreator<LookupPlugin> lookup;
  static PluginCreator<PrunePlugin> prune;
  static PluginCreator<AppendMissingPlugin> append_missing;
  static nvinfer1::IPluginCreatorInterface* const creators[] = {
      &voxelize, &coords_down, &coords_up, &kernel_map, &sparse_conv, &sparse_conv_int8,
      &sparse_max_pool, &lookup, &prune, &append_missing,
  };
  nb_creators = static_cast<int32_t>(sizeof(creators) / sizeof(creators[0]));
  return creators;
}
