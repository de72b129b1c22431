// One function per tsp3d op, adding its custom op(s) to a registration (ops with a float/float16 type parameter
// add one per type). register_ops.cpp calls them.
#pragma once

#include "op_glue.h"

namespace tsp3d {
namespace ort {

void add_voxelize(OpList* ops, const OpConfig& config);
void add_coords_down(OpList* ops, const OpConfig& config);
void add_coords_up(OpList* ops, const OpConfig& config);
void add_kernel_map(OpList* ops, const OpConfig& config);
void add_sparse_conv(OpList* ops, const OpConfig& config);
void add_sparse_conv_int8(OpList* ops, const OpConfig& config);
void add_sparse_max_pool(OpList* ops, const OpConfig& config);
void add_lookup(OpList* ops, const OpConfig& config);
void add_prune(OpList* ops, const OpConfig& config);
void add_append_missing(OpList* ops, const OpConfig& config);

}  // namespace ort
}  // namespace tsp3d
