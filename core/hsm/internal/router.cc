#include "core/hsm/internal/router.h"

#include <cstdio>
#include <cstdlib>
#include <optional>

#include "core/abi/slot_decode.h"
#include "core/hsm/cf8cfc.h"

namespace ioreq {
namespace hsm_internal {

namespace {

[[noreturn]] void Disagree(const char* what, const IoAccess& a) {
  std::fprintf(stderr,
               "ioreq: %s disagree on type %u addr 0x%llx size %llu\n", what,
               a.type, static_cast<unsigned long long>(a.address),
               static_cast<unsigned long long>(a.size));
  std::abort();
}

// The owner by lookup: the index, then the client map; null for the
// default client. With `check_index`, the index against the linear scan.
ClientState* LookUpOwner(VmState& vm, const IoAccess& a, bool check_index) {
  const std::optional<ClientId> owner =
      vm.range_index.Find(a.type, a.address, a.size);
  if (check_index &&
      vm.reference_ranges.Find(a.type, a.address, a.size) != owner) {
    Disagree("range index and linear scan", a);
  }
  if (!owner) return nullptr;
  auto it = vm.by_id.find(*owner);
  return it != vm.by_id.end() ? it->second : nullptr;
}

}  // namespace

ClientState* FindClient(VmState& vm, const IoRequest& req, bool check_index) {
  // PCICFG never matches a range: the default client emulates PCI.
  if (req.type == kTypePciCfg) return vm.default_client.get();
  const IoAccess a = DecodeAccess(req);
  // Steady state: the memo answers (route_memo.h). With `check_index` the
  // lookup runs anyway and the memo's answer is checked against it.
  const uint64_t generation = vm.range_index.generation();
  ClientState* owner = nullptr;
  const bool memoized =
      vm.route_memo.Find(generation, a.type, a.address, a.size, &owner);
  if (!memoized || check_index) {
    ClientState* looked_up = LookUpOwner(vm, a, check_index);
    if (memoized && looked_up != owner) Disagree("route memo and lookup", a);
    owner = looked_up;
    if (!memoized) {
      vm.route_memo.Remember(generation, a.type, a.address, a.size, owner);
    }
  }
  return owner != nullptr ? owner : vm.default_client.get();
}

namespace {

// RouteRequest()'s steps, with step 4 asked of `find_owner(req, &client)`,
// which returns false when it cannot answer (RouteSnapshotWithoutLock() on
// a memo miss): then so does RouteWith().
template <typename FindOwner>
bool RouteWith(VmState& vm, IoRequest& req, uint32_t* latch,
               FindOwner&& find_owner, RouteDecision* decision) {
  RouteDecision& d = *decision;
  d = RouteDecision();
  if (vm.clearing.load(std::memory_order_acquire)) {
    d.route = Route::kCompleteUnemulated;
    return true;
  }
  // Not in the kernel: a request the model cannot route safely is answered
  // at once, as a read of nothing.
  if (CheckRequest(req) != SlotCheck::kValid) {
    d.route = Route::kAnswerAllOnes;
    return true;
  }
  if (IsConfigAddressAccess(req) || IsConfigDataAccess(req)) {
    if (latch == nullptr) {
      // Only the default client folds: it takes the access as it is.
      if (!find_owner.Default(&d.client)) return false;
      d.route = d.client != nullptr ? Route::kDeliver : Route::kNoClient;
      return true;
    }
    switch (HandleCf8Cfc(*latch, req)) {
      case Cf8CfcOutcome::kCompletedInPlace:
        d.route = Route::kCompletedInPlace;
        return true;
      case Cf8CfcOutcome::kConvertedToPciCfg:
        d.folded = true;
        if (CheckRequest(req) != SlotCheck::kValid) {  // e.g. reg 0xFFF, size 4
          d.route = Route::kAnswerAllOnes;
          return true;
        }
        break;
      case Cf8CfcOutcome::kNotConfigPort:
        break;
    }
  }
  if (!find_owner.Owner(req, &d.client)) return false;
  d.route = d.client != nullptr ? Route::kDeliver : Route::kNoClient;
  return true;
}

// Step 4 under clients_mu: the memo, else the lookup.
struct LockedOwner {
  VmState& vm;
  bool check_index;
  bool Default(ClientState** client) const {
    *client = vm.default_client.get();
    return true;
  }
  bool Owner(const IoRequest& req, ClientState** client) const {
    *client = FindClient(vm, req, check_index);
    return true;
  }
};

// Step 4 in a shared pass, without clients_mu: the memo only.
struct MemoOwner {
  VmState& vm;
  bool Default(ClientState** client) const {
    // Pairs with the release stores in Registry::Attach() and DetachLocked().
    *client = vm.default_client_in_pass.load(std::memory_order_acquire);
    return true;
  }
  bool Owner(const IoRequest& req, ClientState** client) const {
    if (req.type == kTypePciCfg) return Default(client);
    const IoAccess a = DecodeAccess(req);
    ClientState* owner = nullptr;
    if (!vm.route_memo.FindUncounted(vm.range_index.generation(), a.type,
                                     a.address, a.size, &owner)) {
      return false;
    }
    if (owner == nullptr) return Default(client);
    *client = owner;
    return true;
  }
};

}  // namespace

RouteDecision RouteRequest(VmState& vm, IoRequest& req, uint32_t* latch,
                           bool check_index) {
  RouteDecision d;
  RouteWith(vm, req, latch, LockedOwner{vm, check_index}, &d);
  return d;
}

bool RouteSnapshotWithoutLock(VmState& vm, IoRequest& snapshot,
                              RouteDecision* d) {
  return RouteWith(vm, snapshot, /*latch=*/nullptr, MemoOwner{vm}, d);
}

}  // namespace hsm_internal
}  // namespace ioreq
