// The library's only entry points (see exports.map): TensorRT calls getCreators when it loads the library
// (IPluginRegistry::loadLibrary, trtexec --dynamicPlugins, Polygraphy --plugins) and setLoggerFinder to hand over
// its logger; a runtime calls tsp3d_trt_take_error once per inference (error_record.h). Nothing registers itself at
// load time. Adding an op = one line in the list below.
#include <algorithm>
#include <cstring>
#include <string>

#include "append_missing_plugin.h"
#include "coords_down_plugin.h"
#include "coords_up_plugin.h"
#include "kernel_map_plugin.h"
#include "lookup_plugin.h"
#include "error_record.h"
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

// The first plugin failure not yet reported (one that happened after the last size-tensor op of an inference):
// returns its tsp3d status (0: none) and writes "<Op> node '<name>': <status>" (NUL-terminated, truncated to
// `capacity` bytes) to `message` when it is not null. Synchronous; call it after the inference's stream is done.
extern "C" __attribute__((visibility("default"))) int32_t tsp3d_trt_take_error(char* message, size_t capacity) {
  try {
    std::string text;
    const int32_t status = take_first_error(&text);
    if (message != nullptr && capacity > 0) {
      const size_t n = std::min(text.size(), capacity - 1);
      std::memcpy(message, text.data(), n);
      message[n] = '\0';
    }
    return status;
  } catch (const std::exception&) {
    return -1;
  }
}
