// Script and counters of the fake device (fake_device.cpp): which op's kernels report which status, how many
// kernel launches ran and how many times the host waited for the device.
#pragma once

#include <cstdint>
#include <map>
#include <string>

namespace tsp3d_test {

struct FakeDevice {
  std::map<std::string, int32_t> fail;  // op name -> status its kernels write (absent: 0)
  int64_t launches = 0;
  int64_t host_waits = 0;  // cudaStreamSynchronize + synchronous cudaMemcpy
};

FakeDevice& fake();

}  // namespace tsp3d_test
