// The model's own work for one request, on one thread: the vCPU's insert
// and upcall, the routing (the kernel dispatcher's pass, or the direct
// client's claim), the client's serving and completion, and the vCPU taking
// the completion. Nothing sleeps, and no doorbell makes a system call
// (nobody waits on one), so the figure is the path's CPU work alone, in
// cache: the part of a round trip that the raw primitive it is set against
// does not pay. `RoundTrip` in bench/ioreq_benchmark.cc times the same path
// with its threads and wakes. `client:default` serves the request as the
// device model (the default client: ServeDefaultRequests(), whose finish
// takes the clients lock as the kernel's finish ioctl does) instead of an
// in-process client.
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

enum class Serving { kInProcess, kDefault };

void RequestPath(benchmark::State& state, Topology topology, Serving serving) {
  HsmOptions options;
  options.topology = topology;
  options.run_threads = false;  // this thread is every party, in turn
  System system(Strategy::kFutex, options);
  const uint16_t vm = *system.AddVm(/*vcpu_num=*/1);
  const IoHandler handler = [](IoAccess& access) {
    if (access.direction == kDirRead) access.value = 0x60;
    return absl::OkStatus();
  };
  // The port is the in-process client's range; the device model (the
  // default client) takes what no range owns.
  const bool in_process = serving == Serving::kInProcess;
  const ClientId client =
      *system.hsm.CreateClient(vm, in_process ? "uart" : "dm",
                               in_process ? handler : nullptr,
                               /*is_default=*/!in_process);
  if (in_process &&
      !system.hsm.AddRange(client, kTypePortIo, kPort, kPort + 7).ok()) {
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
    const absl::Status served =
        in_process ? system.hsm.ServeClient(client)
                   : system.hsm.ServeDefaultRequests(client, handler);
    if (!served.ok()) {
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

BENCHMARK_CAPTURE(RequestPath, topology:kernel, Topology::kKernel,
                  Serving::kInProcess);
BENCHMARK_CAPTURE(RequestPath, topology:direct, Topology::kDirect,
                  Serving::kInProcess);
BENCHMARK_CAPTURE(RequestPath, topology:kernel/client:default,
                  Topology::kKernel, Serving::kDefault);
BENCHMARK_CAPTURE(RequestPath, topology:direct/client:default,
                  Topology::kDirect, Serving::kDefault);

}  // namespace
}  // namespace ioreq
