// The C ABI of c_api.h over the C++ kernels. Capacity here is the room in the caller's buffers: a count above it
// returns kCapacityExceeded with the needed count in *count_out and writes no rows (capacity 0 queries the size).
#include "tsp3d/c_api.h"

#include <algorithm>
#include <cstring>
#include <new>
#include <vector>

#include "tsp3d/cpu/kernels.h"
#include "tsp3d/cpu/parallel.h"

namespace {

using tsp3d::Status;
namespace cpu = tsp3d::cpu;

int32_t code(Status s) { return static_cast<int32_t>(s); }

// Run f, turning any escaping exception into a status: nothing may unwind through the C ABI.
template <typename F>
int32_t guarded(F&& f) {
  try {
    return code(f());
  } catch (const std::bad_alloc&) {
    return code(Status::kOutOfMemory);
  } catch (...) {
    return code(Status::kInvalidArgument);
  }
}

// Publish a created coordinate set of `keys.size()` rows into a caller buffer of `capacity` rows.
Status emit_rows(const std::vector<int64_t>& keys, int64_t capacity, int32_t* rows_out, int64_t* count_out) {
  const int64_t m = static_cast<int64_t>(keys.size());
  if (count_out) *count_out = m;
  if (capacity < 0) return Status::kInvalidArgument;
  if (m > capacity) return Status::kCapacityExceeded;
  cpu::unpack_rows(keys.data(), m, rows_out);
  return Status::kOk;
}

}  // namespace

extern "C" {

int32_t tsp3d_cpu_voxelize(const float* points, int64_t n, int64_t dim, float voxel_size, int32_t batch,
                           int64_t capacity, int32_t* coords_out, int32_t* first_out, int64_t* count_out) {
  return guarded([&] {
    std::vector<int64_t> keys;
    std::vector<int32_t> first;
    Status st = cpu::voxelize(points, n, dim, voxel_size, batch, &keys, &first, nullptr);
    if (st != Status::kOk) return st;
    st = emit_rows(keys, capacity, coords_out, count_out);
    if (st == Status::kOk) std::copy(first.begin(), first.end(), first_out);
    return st;
  });
}

int32_t tsp3d_cpu_coords_down(const int32_t* coords, int64_t n, int32_t stride, int64_t capacity,
                              int32_t* coords_out, int64_t* count_out) {
  return guarded([&] {
    std::vector<int64_t> keys;
    Status st = cpu::coords_down(coords, n, stride, &keys, nullptr);
    return st != Status::kOk ? st : emit_rows(keys, capacity, coords_out, count_out);
  });
}

int32_t tsp3d_cpu_coords_up(const int32_t* coords, int64_t n, int32_t stride, int64_t capacity, int32_t* coords_out,
                            int64_t* count_out) {
  return guarded([&] {
    std::vector<int64_t> keys;
    Status st = cpu::coords_up(coords, n, stride, &keys, nullptr);
    return st != Status::kOk ? st : emit_rows(keys, capacity, coords_out, count_out);
  });
}

int32_t tsp3d_cpu_kernel_map(const int32_t* in_coords, int64_t n_in, const int32_t* out_coords, int64_t n_out,
                             int32_t kernel_size, int32_t offset_stride, int32_t transposed, int32_t* nbr_out) {
  return guarded([&] {
    if (transposed != 0 && transposed != 1) return Status::kInvalidArgument;
    return cpu::kernel_map(in_coords, n_in, out_coords, n_out, kernel_size, offset_stride, transposed == 1, nbr_out,
                           nullptr);
  });
}

int32_t tsp3d_cpu_sparse_conv_f32(const float* feats, int64_t n_in, int64_t cin, const int32_t* nbr, int64_t n_out,
                                  int64_t k, const float* weight, int64_t cout, const float* bias, int32_t activation,
                                  float* out) {
  return guarded([&] {
    return cpu::sparse_conv_f32(feats, n_in, cin, nbr, n_out, k, weight, cout, bias, activation, out, nullptr);
  });
}

int32_t tsp3d_cpu_sparse_conv_f16(const uint16_t* feats, int64_t n_in, int64_t cin, const int32_t* nbr,
                                  int64_t n_out, int64_t k, const uint16_t* weight, int64_t cout,
                                  const uint16_t* bias, int32_t activation, uint16_t* out) {
  return guarded([&] {
    return cpu::sparse_conv_f16(feats, n_in, cin, nbr, n_out, k, weight, cout, bias, activation, out, nullptr);
  });
}

int32_t tsp3d_cpu_sparse_conv_i8(const int8_t* feats, float feats_scale, int64_t n_in, int64_t cin,
                                 const int32_t* nbr, int64_t n_out, int64_t k, const int8_t* weight,
                                 const float* weight_scale, int64_t cout, const float* bias, int32_t activation,
                                 float* out) {
  return guarded([&] {
    return cpu::sparse_conv_i8(feats, feats_scale, n_in, cin, nbr, n_out, k, weight, weight_scale, cout, bias,
                               activation, out, nullptr);
  });
}

int32_t tsp3d_cpu_sparse_conv_i8_acc(const int8_t* feats, int64_t n_in, int64_t cin, const int32_t* nbr,
                                     int64_t n_out, int64_t k, const int8_t* weight, int64_t cout, int32_t* acc_out) {
  return guarded(
      [&] { return cpu::sparse_conv_i8_acc(feats, n_in, cin, nbr, n_out, k, weight, cout, acc_out, nullptr); });
}

int32_t tsp3d_cpu_set_int8_path(const char* name) {
  cpu::Int8Path path;
  if (!cpu::parse_int8_path(name, &path)) return code(Status::kInvalidArgument);
  return code(cpu::set_int8_path(path));
}

int32_t tsp3d_cpu_int8_path_available(const char* name) {
  cpu::Int8Path path;
  return cpu::parse_int8_path(name, &path) && cpu::int8_path_available(path) ? 1 : 0;
}

const char* tsp3d_cpu_int8_path(void) { return cpu::int8_path_name(cpu::int8_path()); }

const char* tsp3d_cpu_int8_path_problem(void) {
  const char* problem = nullptr;
  cpu::int8_path(&problem);
  return problem;
}

int32_t tsp3d_cpu_sparse_max_pool_f32(const float* feats, int64_t n_in, int64_t c, const int32_t* nbr, int64_t n_out,
                                      int64_t k, float* out) {
  return guarded([&] { return cpu::sparse_max_pool_f32(feats, n_in, c, nbr, n_out, k, out, nullptr); });
}

int32_t tsp3d_cpu_lookup(const int32_t* query, int64_t q, const int32_t* table, int64_t n, int32_t* idx_out) {
  return guarded([&] { return cpu::lookup(query, q, table, n, idx_out, nullptr); });
}

int32_t tsp3d_cpu_prune_f32(const float* scores, int64_t n, float threshold, int32_t mode, int64_t min_keep,
                            int64_t capacity, int32_t* idx_out, int64_t* count_out) {
  return guarded([&] {
    std::vector<int32_t> idx;
    Status st = cpu::prune_f32(scores, n, threshold, mode, min_keep, &idx, nullptr);
    if (st != Status::kOk) return st;
    const int64_t m = static_cast<int64_t>(idx.size());
    if (count_out) *count_out = m;
    if (capacity < 0) return Status::kInvalidArgument;
    if (m > capacity) return Status::kCapacityExceeded;
    std::copy(idx.begin(), idx.end(), idx_out);
    return Status::kOk;
  });
}

int32_t tsp3d_cpu_append_missing(const int32_t* coords_a, int64_t na, const int32_t* coords_b, int64_t nb,
                                 int64_t capacity, int32_t* coords_out, int32_t* idx_b_out, int64_t* count_out) {
  return guarded([&] {
    std::vector<int32_t> idx;
    Status st = cpu::append_missing(coords_a, na, coords_b, nb, &idx, nullptr);
    if (st != Status::kOk) return st;
    const int64_t m = na + static_cast<int64_t>(idx.size());
    if (count_out) *count_out = m;
    if (capacity < 0) return Status::kInvalidArgument;
    if (m > capacity) return Status::kCapacityExceeded;
    if (na) std::memcpy(coords_out, coords_a, sizeof(int32_t) * 4 * static_cast<size_t>(na));
    for (size_t j = 0; j < idx.size(); ++j) std::memcpy(coords_out + 4 * (na + j), coords_b + 4 * idx[j], 16);
    std::copy(idx.begin(), idx.end(), idx_b_out);
    return Status::kOk;
  });
}

int32_t tsp3d_cpu_set_num_threads(int32_t n) { return cpu::set_num_threads(n); }

const char* tsp3d_status_string(int32_t status) { return tsp3d::status_name(static_cast<Status>(status)); }

const char* tsp3d_status_hint(int32_t status) { return tsp3d::status_hint(static_cast<Status>(status)); }

}  // extern "C"
