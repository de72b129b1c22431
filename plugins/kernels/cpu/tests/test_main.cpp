#include <cstring>

#include "test_runner.h"

namespace tsp3d_test {

std::vector<Case>& registry() {
  static std::vector<Case> cases;
  return cases;
}

static int g_failures = 0;

void record_failure(const char* file, int line, const std::string& what) {
  ++g_failures;
  std::fprintf(stderr, "  FAILED %s:%d: %s\n", file, line, what.c_str());
}

}  // namespace tsp3d_test

int main(int argc, char** argv) {
  const char* group = argc > 1 ? argv[1] : nullptr;
  int ran = 0, failed = 0;
  for (const auto& c : tsp3d_test::registry()) {
    if (group && std::strcmp(group, c.group) != 0) continue;
    const int before = tsp3d_test::g_failures;
    c.fn();
    ++ran;
    const bool ok = tsp3d_test::g_failures == before;
    failed += !ok;
    std::printf("%s %s.%s\n", ok ? "ok  " : "FAIL", c.group, c.name);
  }
  if (ran == 0) {
    std::fprintf(stderr, "no test in group '%s'\n", group ? group : "");
    return 2;
  }
  std::printf("%d tests, %d failed\n", ran, failed);
  return failed ? 1 : 0;
}
