// The model's own work for one request, on one thread: the vCPU's insert
// and upcall, the routing (the kernel dispatcher's pass, or the direct
// client's claim), the client's serving and completion, and the vCPU taking
// the completion. Nothing sleeps, and no doorbell makes a system call
// (nobody waits on one), so the figure is the path's CPU work alone, in
// cache: the part of a round trip that the raw primitive it is set against
// does not pay. `RoundTrip` in bench/ioreq_benchmark.cc times the same path
// with its threads and wakes.
//
//   bazel run -c opt //core/harness:request_path_benchmark
#include <cstdint>

#include "absl/time/time.h"
#include "benchmark/benchmark.h"
#include "core/abi/slot_decode.h"
#include "core/harness/system.h"
#include "core/hsm/hsm.h"

namespace ioreq {
namespace {

constexpr uint64_t kPort = 0x3F8;

void RequestPath(benchmark::State& state, Topology topology) {
  HsmOptions options;
  options.topology = topology;
  options.run_threads = false;  // this thread is every party, in turn
  System system(Strategy::kFutex, options);
  const uint16_t vm = *system.AddVm(/*vcpu_num=*/1);
  const ClientId uart = *system.hsm.CreateClient(
      vm, "uart",
      [](IoAccess& access) {
        if (access.direction == kDirRead) access.value = 0x60;
        return absl::OkStatus();
      },
      /*is_default=*/false);
  if (!system.hsm.AddRange(uart, kTypePortIo, kPort, kPort + 7).ok()) {
    state.SkipWithError("AddRange");
    return;
  }
  for (auto _ : state) {
    // Polled completion: the vCPU finds COMPLETE without a wake.
    if (!system.hv.InsertRequest(vm, 0, PortRead(kPort, 1), true).ok()) {
      state.SkipWithError("InsertRequest");
      break;
    }
    if (topology == Topology::kKernel) system.hsm.Dispatch();
    if (!system.hsm.ServeClient(uart).ok()) {
      state.SkipWithError("ServeClient");
      break;
    }
    absl::StatusOr<uint64_t> value =
        system.hv.WaitForCompletion(vm, 0, absl::Seconds(1));
    if (!value.ok() || *value != 0x60) {
      state.SkipWithError("WaitForCompletion");
      break;
    }
  }
  state.SetItemsProcessed(state.iterations());
}

BENCHMARK_CAPTURE(RequestPath, topology:kernel, Topology::kKernel);
BENCHMARK_CAPTURE(RequestPath, topology:direct, Topology::kDirect);

}  // namespace
}  // namespace ioreq
