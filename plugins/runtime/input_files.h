// Inputs of the robot runtime: point clouds (.bin float32 rows, .ply) and text features (.npy float32, or raw
// float32 rows). Every reader checks sizes and formats and throws RuntimeError naming the file and the problem.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace tsp3d {
namespace runtime {

// A row-major float32 matrix.
struct Matrix {
  std::vector<float> data;
  int64_t rows = 0;
  int64_t cols = 0;
};

// .bin: float32 rows of `bin_cols` values (x, y, z first). .ply (ascii or binary_little_endian): the vertex
// element's x, y, z and, when present, red, green, blue scaled to [0, 1] (integer colours are divided by 255),
// giving 3 or 6 columns - the toolkit's scene convention (x, y, z in metres, r, g, b in [0, 1]).
Matrix read_points(const std::string& path, int64_t bin_cols);

// .npy: a C-ordered little-endian float32 array of rank 1 ([C] -> one row) or 2 ([L, C]). Any other file: raw
// float32 rows of `raw_cols` values.
Matrix read_features(const std::string& path, int64_t raw_cols);

}  // namespace runtime
}  // namespace tsp3d
