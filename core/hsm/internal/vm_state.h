// core/hsm/internal/vm_state.h: what the HSM keeps per VM and per client,
// and the order of the HSM's locks.
//
// Lock order, written once. A thread that holds a lock of this list takes
// only locks below it:
//   1. the PassGate (pass_gate.h)       a kernel dispatch pass or Pause()'s
//                                       drain (exclusive), a direct claim
//                                       scan or upcall (shared; passes do
//                                       not nest)
//   2. Registry's VM map lock           (registry.h; acrn_vm_list_lock)
//   3. VmState::clients_mu              the VM's clients and ranges
//                                       (ioreq_clients_lock)
//   4. Registry's client map lock       (registry.h)
//   5. the VM's IoeventfdTable lock     a leaf (ioeventfds_lock)
// With 3 held the HSM may ring a client's doorbell (a client is not freed
// while its bell is rung) and call the hypervisor (NotifyRequestFinish); a
// hypervisor must not call back into the HSM on that thread. On a request's
// own path it never rings under 3 (DirectClaimer::Upcall()): the woken
// thread would otherwise preempt the ringer and block on it at once. The
// direct upcall in steady state takes only 1 (shared): it finds the VM
// without 2 (Registry::VmInPass()) and reads route_memo and
// default_client_in_pass without 3; so does a client's claim, the default
// client's included (DirectClaimer::ClaimWithoutLock()). In the direct
// topology the marks of kernel_handled keep to the rules in
// direct_claimer.h, which need no lock in steady state.
//
// Example (inside the HSM):
//   std::lock_guard<std::mutex> lock(vm.clients_mu);
//   for (const auto& c : vm.clients) ...;
#ifndef IOREQ_CORE_HSM_INTERNAL_VM_STATE_H_
#define IOREQ_CORE_HSM_INTERNAL_VM_STATE_H_

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "core/abi/abi.h"
#include "core/hsm/client.h"
#include "core/hsm/ioeventfd.h"
#include "core/hsm/posted_writes.h"
#include "core/hsm/kernel_range_list.h"
#include "core/hsm/range_index.h"
#include "core/hsm/internal/route_memo.h"

namespace ioreq {
namespace hsm_internal {

struct VmState;

inline uint32_t Bit(uint32_t vcpu) { return uint32_t{1} << vcpu; }
inline uint32_t LowestBit(uint32_t bits) {
  return static_cast<uint32_t>(__builtin_ctz(bits));
}
inline constexpr uint64_t kAllOnes = ~uint64_t{0};

// One client (struct acrn_ioreq_client). The doorbell it waits on is added
// by ClientOf<Bell> (below): everything else is the same for every strategy.
struct ClientState {
  virtual ~ClientState() = default;

  ClientId id = 0;
  std::string name;
  bool is_default = false;
  IoHandler handler;
  // The client keeps its VM alive; the VM holds the client until
  // Registry::DetachLocked(), which every destroy path runs and which breaks
  // the cycle.
  std::shared_ptr<VmState> vm;
  // The vCPUs whose requests this client holds (the kernel's ioreqs_map).
  std::atomic<uint32_t> pending{0};
  // ACRN_IOREQ_CLIENT_DESTROYING / kthread_should_stop().
  std::atomic<bool> destroying{false};
  // Cleared under the VM's clients_mu when the client leaves the VM; read
  // without it by the calls that take a ClientHandle.
  std::atomic<bool> attached{true};
  std::thread thread;                        // in-process clients only
  int failed_attempts[kIoRequestMax] = {};   // serving thread only

  // Checked once: the copy of the slot an in-process client's own
  // lock-free claim (DirectClaimer::ClaimWithoutLock(), on the thread that
  // then serves) took after its compare-exchange and routed, which checked
  // it; ClientService::ServeHeld() decodes the handler's access from it
  // without copying and checking the slot again. Valid for vCPU v while bit
  // v of `own_claims` is set and `foreign_deliveries` still reads
  // `claimed_at[v]`: every other thread that gives this client a request
  // counts there before it sets the pending bit, so a bit another thread
  // set is never served from a copy of the client's own. Serving thread
  // only, but `foreign_deliveries`.
  uint32_t own_claims = 0;
  std::array<uint64_t, kIoRequestMax> claimed_at = {};
  std::atomic<uint64_t> foreign_deliveries{0};
  std::array<IoRequest, kIoRequestMax> claimed_copy;
};

// A client with the wait queue of strategy `Bell`.
template <typename Bell>
struct ClientOf : ClientState {
  Bell bell;
};

// The client's doorbell; every client of one HSM has the same Bell.
template <typename Bell>
Bell& BellOf(ClientState& client) {
  return static_cast<ClientOf<Bell>&>(client).bell;
}

// One VM (struct acrn_vm, as far as I/O requests go).
struct VmState {
  uint16_t vmid = 0;
  uint32_t vcpu_num = 0;
  std::atomic<SharedPage*> page{nullptr};
  // ACRN_VM_FLAG_CLEARING_IOREQ.
  std::atomic<bool> clearing{false};
  // The latched 0xCF8 value. Touched only by a routing pass that may fold
  // (the kernel dispatcher, exclusive under the PassGate; in the direct
  // topology the default client's claim scan, the only one that folds).
  uint32_t pci_config_address = 0;

  // ioreq_clients_lock: guards everything down to route_memo (route_memo
  // and default_client_in_pass may also be read in a shared pass). On a
  // line of its own: the kernel dispatcher takes it on every pass, and the
  // client serving on another CPU reads `page` and `vcpu_num` above on
  // every request.
  alignas(64) std::mutex clients_mu;
  std::vector<std::shared_ptr<ClientState>> clients;  // non-default, newest first
  absl::flat_hash_map<ClientId, ClientState*> by_id;
  std::shared_ptr<ClientState> default_client;
  // default_client.get(), for the routing that reads without clients_mu
  // (RouteSnapshotWithoutLock()). Stored under clients_mu with every change
  // of default_client; a shared pass of the PassGate keeps what it names
  // alive (detaching pauses first).
  std::atomic<ClientState*> default_client_in_pass{nullptr};
  KernelRangeList reference_ranges;  // the kernel's structure
  RangeIndex range_index;            // what lookups use
  RouteMemo route_memo;              // range_index's last answers

  IoeventfdTable ioeventfds;  // has its own lock (ioeventfds_lock)
  PostedWrites posted;        // [posted]; has its own locks
  ClientId ioeventfd_client = 0;

  // COMPLETE published per slot (SlotCompletions()); one line each, as the
  // slots are, so that vCPUs completing at once do not share one.
  struct alignas(64) PaddedCount {
    std::atomic<uint64_t> value{0};
  };
  std::array<PaddedCount, kIoRequestMax> slot_completions;
};

}  // namespace hsm_internal
}  // namespace ioreq

#endif  // IOREQ_CORE_HSM_INTERNAL_VM_STATE_H_
