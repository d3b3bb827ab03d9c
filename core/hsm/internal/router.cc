#include "core/hsm/internal/router.h"

#include <cstdio>
#include <cstdlib>
#include <optional>

#include "core/abi/slot_decode.h"
#include "core/hsm/cf8cfc.h"

namespace ioreq {
namespace hsm_internal {

ClientState* FindClient(VmState& vm, const IoRequest& req, bool check_index) {
  // PCICFG never matches a range: the default client emulates PCI.
  if (req.type == kTypePciCfg) return vm.default_client.get();
  const IoAccess a = DecodeAccess(req);
  const std::optional<ClientId> owner =
      vm.range_index.Find(a.type, a.address, a.size);
  if (check_index) {
    const std::optional<ClientId> reference =
        vm.reference_ranges.Find(a.type, a.address, a.size);
    if (reference != owner) {
      std::fprintf(stderr,
                   "ioreq: range index and linear scan disagree on type %u "
                   "addr 0x%llx size %llu\n",
                   a.type, static_cast<unsigned long long>(a.address),
                   static_cast<unsigned long long>(a.size));
      std::abort();
    }
  }
  if (owner) {
    auto it = vm.by_id.find(*owner);
    if (it != vm.by_id.end()) return it->second;
  }
  return vm.default_client.get();
}

RouteDecision RouteRequest(VmState& vm, IoRequest& req, uint32_t* latch,
                           bool check_index) {
  RouteDecision d;
  if (vm.clearing.load(std::memory_order_acquire)) {
    d.route = Route::kCompleteUnemulated;
    return d;
  }
  // Not in the kernel: a request the model cannot route safely is answered
  // at once, as a read of nothing.
  if (CheckRequest(req) != SlotCheck::kValid) {
    d.route = Route::kAnswerAllOnes;
    return d;
  }
  if (IsConfigAddressAccess(req) || IsConfigDataAccess(req)) {
    if (latch == nullptr) {
      // Only the default client folds: it takes the access as it is.
      d.client = vm.default_client.get();
      d.route = d.client != nullptr ? Route::kDeliver : Route::kNoClient;
      return d;
    }
    switch (HandleCf8Cfc(*latch, req)) {
      case Cf8CfcOutcome::kCompletedInPlace:
        d.route = Route::kCompletedInPlace;
        return d;
      case Cf8CfcOutcome::kConvertedToPciCfg:
        d.folded = true;
        if (CheckRequest(req) != SlotCheck::kValid) {  // e.g. reg 0xFFF, size 4
          d.route = Route::kAnswerAllOnes;
          return d;
        }
        break;
      case Cf8CfcOutcome::kNotConfigPort:
        break;
    }
  }
  d.client = FindClient(vm, req, check_index);
  d.route = d.client != nullptr ? Route::kDeliver : Route::kNoClient;
  return d;
}

}  // namespace hsm_internal
}  // namespace ioreq
