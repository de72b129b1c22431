// The library's only entry points (see exports.map): TensorRT calls getCreators when it loads the library
// (IPluginRegistry::loadLibrary, trtexec --dynamicPlugins, Polygraphy --plugins) and setLoggerFinder to hand over
// its logger; a runtime calls tsp3d_trt_take_error once per inference (error_record.h). Nothing registers itself at
// load time. Adding an op = its .cpp (an OpPlugin, plugin_base.h), its creator in op_creators.h and one entry in
// the list below.
#include <algorithm>
#include <cstring>
#include <string>

#include "error_record.h"
#include "op_creators.h"
#include "plugin_utils.h"

using namespace tsp3d::trt;

extern "C" __attribute__((visibility("default"))) void setLoggerFinder(nvinfer1::ILoggerFinder* finder) {
  set_logger_finder(finder);
}

extern "C" __attribute__((visibility("default"))) nvinfer1::IPluginCreatorInterface* const* getCreators(
    int32_t& nb_creators) {
  static nvinfer1::IPluginCreatorInterface* const creators[] = {
      voxelize_creator(),        coords_down_creator(),     coords_up_creator(), kernel_map_creator(),
      sparse_conv_creator(),     sparse_conv_int8_creator(), sparse_max_pool_creator(),
      lookup_creator(),          prune_creator(),           append_missing_creator(),
  };
  nb_creators = static_cast<int32_t>(sizeof(creators) / sizeof(creators[0]));
  return creators;
}

// The first plugin failure not yet reported (one that happened after the last size-tensor op of an inference):
// returns its tsp3d status (0: none) and writes "<Op> node '<name>': <status_message>" (plugin_utils.h;
// NUL-terminated, truncated to `capacity` bytes) to `message` when it is not null. Synchronous; call it after the
// inference's stream is done.
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
