// Which int8 micro-kernel runs: by CPU features at run time (cpuid through __builtin_cpu_supports, which also checks
// that the OS saves the vector registers), unless a path is forced by set_int8_path or TSP3D_INT8_PATH.
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>

#include "tsp3d/cpu/kernels.h"

namespace tsp3d {
namespace cpu {
namespace {

constexpr Int8Path kPaths[] = {Int8Path::kAuto, Int8Path::kPortable, Int8Path::kAvx2, Int8Path::kAvx512Vnni};

bool cpu_supports(Int8Path path) {
  switch (path) {
    case Int8Path::kAuto:
    case Int8Path::kPortable:
      return true;
#if defined(TSP3D_INT8_X86)
    case Int8Path::kAvx2:
      __builtin_cpu_init();
      return __builtin_cpu_supports("avx2");
#if defined(TSP3D_INT8_VNNI)
    case Int8Path::kAvx512Vnni:
      __builtin_cpu_init();
      return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
             __builtin_cpu_supports("avx512vnni");
#endif
#endif
    default:
      return false;
  }
}

Int8Path best_path() {
  for (Int8Path p : {Int8Path::kAvx512Vnni, Int8Path::kAvx2})
    if (cpu_supports(p)) return p;
  return Int8Path::kPortable;
}

std::atomic<int32_t> g_forced{static_cast<int32_t>(Int8Path::kAuto)};

struct EnvChoice {
  Int8Path path = Int8Path::kAuto;
  std::string problem;  // empty when the variable is absent or valid
};

const EnvChoice& env_choice() {
  static EnvChoice choice;
  static std::once_flag once;
  std::call_once(once, [] {
    const char* s = std::getenv("TSP3D_INT8_PATH");
    if (s == nullptr || *s == '\0') return;
    Int8Path p;
    if (!parse_int8_path(s, &p)) {
      choice.problem = std::string("TSP3D_INT8_PATH='") + s + "' is not one of auto, portable, avx2, avx512vnni";
    } else if (!int8_path_available(p)) {
      choice.problem = std::string("TSP3D_INT8_PATH='") + s + "': this CPU (or build) lacks it; the best here is " +
                       int8_path_name(best_path());
    } else {
      choice.path = p;
    }
  });
  return choice;
}

}  // namespace

const char* int8_path_name(Int8Path path) {
  switch (path) {
    case Int8Path::kAuto: return "auto";
    case Int8Path::kPortable: return "portable";
    case Int8Path::kAvx2: return "avx2";
    case Int8Path::kAvx512Vnni: return "avx512vnni";
  }
  return "unknown";
}

bool parse_int8_path(const char* name, Int8Path* path) {
  if (name == nullptr) return false;
  for (Int8Path p : kPaths) {
    if (std::strcmp(name, int8_path_name(p)) == 0) {
      *path = p;
      return true;
    }
  }
  return false;
}

bool int8_path_available(Int8Path path) { return cpu_supports(path); }

Status set_int8_path(Int8Path path) {
  if (!int8_path_available(path)) return Status::kInvalidArgument;
  g_forced.store(static_cast<int32_t>(path));
  return Status::kOk;
}

Int8Path int8_path(const char** problem) {
  if (problem) *problem = nullptr;
  const auto forced = static_cast<Int8Path>(g_forced.load());
  if (forced != Int8Path::kAuto) return forced;
  const EnvChoice& env = env_choice();
  if (!env.problem.empty()) {
    if (problem) *problem = env.problem.c_str();
    return Int8Path::kPortable;
  }
  return env.path != Int8Path::kAuto ? env.path : best_path();
}

}  // namespace cpu
}  // namespace tsp3d
