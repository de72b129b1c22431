// A minimal test runner (no external framework): TSP3D_TEST(group, name) registers a test; CHECK* record a
// failure and return from the test. `tsp3d_cpu_kernel_tests <group>` runs one group (ctest runs each group).
#pragma once

#include <cstdint>
#include <cstdio>
#include <sstream>
#include <string>
#include <vector>

namespace tsp3d_test {

struct Case {
  const char* group;
  const char* name;
  void (*fn)();
};

std::vector<Case>& registry();
void record_failure(const char* file, int line, const std::string& what);

struct Register {
  Register(const char* group, const char* name, void (*fn)()) { registry().push_back({group, name, fn}); }
};

// A small deterministic generator (64-bit LCG) for the tests' random data.
struct Rng {
  uint64_t s;
  uint32_t next() {
    s = s * 6364136223846793005ull + 1442695040888963407ull;
    return static_cast<uint32_t>(s >> 33);
  }
  float uniform() { return (next() & 0xFFFFFF) / 16777216.f * 2.f - 1.f; }  // [-1, 1)
  int8_t byte(int lo, int hi) { return static_cast<int8_t>(lo + static_cast<int>(next() % (hi - lo + 1))); }
};

template <typename A, typename B>
std::string describe(const char* ea, const char* eb, const A& a, const B& b) {
  std::ostringstream s;
  s << ea << " == " << eb << " (" << +a << " vs " << +b << ")";
  return s.str();
}

}  // namespace tsp3d_test

#define TSP3D_TEST(group, name)                                                              \
  static void group##__##name();                                                             \
  static tsp3d_test::Register group##__##name##_reg(#group, #name, group##__##name);         \
  static void group##__##name()

#define CHECK(cond)                                                \
  do {                                                             \
    if (!(cond)) {                                                 \
      tsp3d_test::record_failure(__FILE__, __LINE__, #cond);       \
      return;                                                      \
    }                                                              \
  } while (0)

#define CHECK_EQ(a, b)                                                                          \
  do {                                                                                          \
    const auto va_ = (a);                                                                       \
    const auto vb_ = (b);                                                                       \
    if (!(va_ == vb_)) {                                                                        \
      tsp3d_test::record_failure(__FILE__, __LINE__, tsp3d_test::describe(#a, #b, va_, vb_));   \
      return;                                                                                   \
    }                                                                                           \
  } while (0)

#define CHECK_OK(expr) CHECK_EQ(static_cast<int>(expr), static_cast<int>(tsp3d::Status::kOk))
#define CHECK_STATUS(expr, st) CHECK_EQ(static_cast<int>(expr), static_cast<int>(st))
