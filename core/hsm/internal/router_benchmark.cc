// The router's whole decision for one request (RouteRequest(): the VM's
// state, the check, the 0xCF8 test, [find-client]) at 1 to 4096 ranges, an
// access repeated (the route memo answers) against accesses spread over
// every range (the memo misses: the index and the client map answer).
//
//   bazel run -c opt //core/hsm:router_benchmark
//
// RangeLookup in bench/ioreq_benchmark.cc measures the index alone.
#include <memory>
#include <random>
#include <vector>

#include "benchmark/benchmark.h"
#include "core/abi/slot_decode.h"
#include "core/hsm/internal/registry.h"
#include "core/hsm/internal/router.h"
#include "core/hsm/internal/vm_state.h"

namespace ioreq {
namespace hsm_internal {
namespace {

void Route(benchmark::State& state, bool repeated) {
  const int ranges = static_cast<int>(state.range(0));
  Registry registry;
  auto vm = std::make_shared<VmState>();
  vm->vcpu_num = 1;
  auto dm = std::make_shared<ClientState>();
  dm->is_default = true;
  if (!registry.Attach(*vm, dm).ok()) state.SkipWithError("attach");
  // One client per 4 KiB range, as devices have them: the client map holds
  // every one.
  std::vector<std::shared_ptr<ClientState>> clients;
  for (int i = 0; i < ranges; ++i) {
    clients.push_back(std::make_shared<ClientState>());
    const ClientId id = *registry.Attach(*vm, clients.back());
    const IoRange r{kTypeMmio, 0x100000ull * i, 0x100000ull * i + 0xFFF};
    vm->reference_ranges.Add(id, r);
    vm->range_index.Add(id, r);
  }
  std::mt19937_64 rng(1);
  std::vector<IoRequest> requests(4096);
  for (IoRequest& req : requests) {
    const uint64_t addr =
        repeated ? 0x100000ull * (ranges / 2) + 0x10
                 : 0x100000ull * (rng() % ranges) + (rng() % 0x1000 & ~7ull);
    EncodeAccess(MmioRead(addr, 4), req);
  }
  size_t i = 0;
  for (auto _ : state) {
    IoRequest& req = requests[i++ & 4095];
    const RouteDecision d =
        RouteRequest(*vm, req, &vm->pci_config_address, /*check_index=*/false);
    benchmark::DoNotOptimize(d.client);
  }
  const double routed = static_cast<double>(vm->route_memo.hits() +
                                            vm->route_memo.misses());
  state.counters["memo_hit_ratio"] =
      routed > 0 ? static_cast<double>(vm->route_memo.hits()) / routed : 0;
  for (const auto& c : clients) registry.DetachLocked(*vm, *c);
  registry.DetachLocked(*vm, *dm);
}

BENCHMARK_CAPTURE(Route, access:repeated, true)->RangeMultiplier(16)->Range(1, 4096);
BENCHMARK_CAPTURE(Route, access:spread, false)->RangeMultiplier(16)->Range(1, 4096);

}  // namespace
}  // namespace hsm_internal
}  // namespace ioreq
