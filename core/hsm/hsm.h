// core/hsm/hsm.h: the Hypervisor Service Module: clients, ranges, dispatcher.
//
// This is the Service VM side of the I/O request path, modelled on the
// kernel's drivers/virt/acrn/ioreq.c. The hypervisor marks a slot PENDING and
// fires an upcall; the HSM's dispatcher scans every VM's slots, routes each
// PENDING request to the client that owns its address [find-client] (after
// folding 0xCF8/0xCFC accesses into PCICFG requests [cf8cfc]), marks it
// PROCESSING and wakes the client; the client emulates it and the HSM marks
// it COMPLETE and notifies the hypervisor [complete].
//
// Every rule of SPEC.md has a function here named after it:
//   Dispatch(), DispatchVm()      [dispatch]
//   CompleteRequest()             [complete]
//   FindClient()                  [find-client]
//   WaitForRequests()             [client-wait]
//   NotifyRequestFinish()         [notify-finish]
//   ClearRequests()               [clear]
//   Pause(), Resume()             [pause]
//   DestroyClient()               [destroy]
//   Ioeventfd()                   [ioeventfd]
// Where the kernel has a hazard (SPEC section 7) the model does better; each
// fix is described at the function that makes it and in README. One more
// is not in SPEC: a lost upcall hangs the kernel's vCPU, while the model's
// waiters scan again after HsmOptions::rescan_interval [rescan].
//
// Threads. With HsmOptions::run_threads (the default), one dispatcher thread
// serves every VM and each in-process client runs its own thread, as the
// kernel's workqueue and kthreads do. The default client is user space: its
// owner calls WaitForRequests() and ServeDefaultRequests() from a thread of
// its own (see core/harness/device_model.h). Without run_threads nothing runs by
// itself: the caller drives Dispatch() and ServeClient(), which makes the
// model deterministic for unit tests and fuzzers.
//
// Example:
//   ioreq::Hypervisor hv;
//   ioreq::Hsm hsm(&hv);
//   uint16_t vm = *hv.CreateVm(2);
//   hsm.CreateVm(vm, 2);
//   hsm.SetIoreqBuffer(vm, hv.shared_page(vm));
//   hv.SetUpcallHandler([&] { hsm.Upcall(); });
//   uint64_t uart = *hsm.CreateClient(vm, "uart", UartHandler, false);
//   hsm.AddRange(uart, ioreq::kTypePortIo, 0x3f8, 0x3ff);
#ifndef IOREQ_CORE_HSM_HSM_H_
#define IOREQ_CORE_HSM_HSM_H_

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "core/abi/abi.h"
#include "core/notify/strategy.h"
#include "core/hsm/hypercalls.h"
#include "core/hsm/ioeventfd.h"
#include "core/hsm/range_index.h"

namespace ioreq {

// A client's emulation of one request: reads the request from `req`, writes
// a read's value into it. A non-OK status is a handler error.
using IoHandler = std::function<absl::Status(IoRequest& req)>;

// Identifies a client within one Hsm; a larger id is a newer client.
using ClientId = uint64_t;

inline constexpr size_t kClientNameMax = 15;

// Who routes requests to clients.
enum class Topology {
  // The kernel's: hypervisor -> dispatcher thread -> client (three hops).
  kKernel,
  // Each client scans the shared page itself and claims, with a
  // compare-exchange to PROCESSING, the PENDING requests its ranges own; the
  // default client takes what no range owns and does the 0xCF8/0xCFC
  // folding. Two hops, no dispatcher.
  kDirect,
};
const char* TopologyName(Topology topology);  // "kernel", "direct"
absl::StatusOr<Topology> ParseTopology(absl::string_view name);

struct HsmOptions {
  Topology topology = Topology::kKernel;
  // Run the dispatcher and the in-process clients on threads of their own.
  bool run_threads = true;
  // How long ClearRequests() lets in-process clients drain (the kernel:
  // 10 tries of 10 ms).
  absl::Duration clear_drain_timeout = absl::Milliseconds(100);
  // A request whose handler fails this many times in a row is completed
  // with an all-ones value instead of blocking its vCPU for ever.
  int handler_max_attempts = 3;
  // Compare every RangeIndex answer with the kernel's linear scan and abort
  // on a difference (tests and fuzzers turn this on).
  bool check_range_index = false;
  // [rescan] Not in the kernel: a waiter that scans the shared page (the
  // dispatcher; in the direct topology every client) also wakes after this
  // long without a ring and scans anyway, so a lost upcall costs one
  // interval instead of a vCPU hung for ever. InfiniteDuration() turns it
  // off (the kernel's behaviour).
  absl::Duration rescan_interval = absl::Milliseconds(20);
};

// Counters of what the HSM did; every one is a relaxed snapshot.
struct HsmStats {
  uint64_t dispatch_passes = 0;
  uint64_t dispatched = 0;              // PENDING -> PROCESSING
  uint64_t completed = 0;               // -> COMPLETE, all paths
  uint64_t cf8cfc_in_place = 0;         // 0xCF8 / disabled 0xCFC, in place
  uint64_t cf8cfc_converted = 0;        // 0xCFC rewritten as PCICFG
  uint64_t completed_while_clearing = 0;
  uint64_t forced_by_clear = 0;         // default client's, force-completed
  uint64_t rejected_invalid = 0;        // failed CheckRequest(), answered ~0
  uint64_t no_client = 0;               // left PENDING: no client at all
  uint64_t spurious_completions = 0;    // refused: not being processed
  uint64_t handed_over_on_destroy = 0;  // to the default client
  uint64_t completed_on_destroy = 0;    // no one left: answered ~0
  uint64_t handler_errors = 0;
  uint64_t handler_gave_up = 0;         // answered ~0 after max attempts
  uint64_t ownership_lost = 0;          // state changed under the HSM
  uint64_t hypercall_errors = 0;
  uint64_t rescans = 0;                 // scans after rescan_interval, unrung
  uint64_t rescued_by_rescan = 0;       // requests such a scan found PENDING
  uint64_t rerouted = 0;                // direct: claimed a reused slot, gave it back
};

template <typename Bell>
class BasicHsm {
 public:
  explicit BasicHsm(HypervisorCalls* hypervisor, HsmOptions options = {});
  ~BasicHsm();  // destroys every VM (and so every client), stops the dispatcher
  BasicHsm(const BasicHsm&) = delete;
  BasicHsm& operator=(const BasicHsm&) = delete;

  // --- VMs -----------------------------------------------------------------
  // ACRN_IOCTL_CREATE_VM: vcpu_num must be 1..16 (the kernel takes it from
  // the hypervisor unchecked). Creates the VM's ioeventfd client.
  absl::Status CreateVm(uint16_t vmid, uint32_t vcpu_num);
  // ACRN_IOCTL_SET_IOREQ_BUFFER: the page must be 4 KiB aligned.
  absl::Status SetIoreqBuffer(uint16_t vmid, SharedPage* page);
  // ACRN_IOCTL_DESTROY_VM: destroys every client of the VM first.
  absl::Status DestroyVm(uint16_t vmid);

  // --- Clients [clients] ---------------------------------------------------
  // acrn_ioreq_client_create(). A non-default client needs a handler and
  // gets a thread; at most one default client per VM (AlreadyExists), and
  // the check and the creation are one atomic step. Names: 1..15 chars.
  absl::StatusOr<ClientId> CreateClient(uint16_t vmid, absl::string_view name,
                                        IoHandler handler, bool is_default);
  // [destroy] acrn_ioreq_client_destroy(), without its hazard: requests the
  // client still holds are handed to the default client, or, for the default
  // client itself or when there is none, completed with an all-ones value.
  absl::Status DestroyClient(ClientId client);
  // acrn_ioreq_range_add(): end is inclusive, end < start is an error.
  absl::Status AddRange(ClientId client, uint32_t type, uint64_t start,
                        uint64_t end);
  // acrn_ioreq_range_del(): removes the first exact match (NotFound if none).
  absl::Status DelRange(ClientId client, uint32_t type, uint64_t start,
                        uint64_t end);

  // --- The default client's user-space side --------------------------------
  // [client-wait] ACRN_IOCTL_ATTACH_IOREQ_CLIENT: blocks until a request is
  // pending for the client (returns the bitmap of vCPUs) or the client is
  // being destroyed (Cancelled, the kernel's -ENODEV).
  absl::StatusOr<uint32_t> WaitForRequests(ClientId client);
  // Wakes a WaitForRequests() with Cancelled, before DestroyClient().
  absl::Status InterruptWait(ClientId client);
  // Serves every request now pending for the default client: copies the
  // slot under the clients lock, runs `handler` on the copy, writes the
  // value back and completes it, unless ClearRequests() or DestroyClient()
  // completed it meanwhile. A handler error answers all-ones.
  absl::Status ServeDefaultRequests(ClientId client, const IoHandler& handler);
  // [notify-finish] ACRN_IOCTL_NOTIFY_REQUEST_FINISH: completes vCPU
  // `vcpu`'s request held by the default client. The vCPU id is checked
  // against vcpu_num as a full u32 (the kernel truncates it to u16), and a
  // vCPU whose request the default client does not hold is refused
  // (FailedPrecondition) instead of turning a FREE slot COMPLETE.
  absl::Status NotifyRequestFinish(uint16_t vmid, uint32_t vcpu);

  // --- Dispatch [dispatch] [pause] [clear] ---------------------------------
  // The hypervisor's upcall (ioreq_intr_handler()): schedules a dispatch.
  // `vmid` and `vcpu` name the request that was inserted. The kernel
  // topology ignores them (it rings the dispatcher); the direct topology
  // rings only the client the request routes to, or, when `vcpu` is out of
  // range (kAnyVcpu), every client of the VM.
  static constexpr uint32_t kAnyVcpu = ~uint32_t{0};
  void Upcall(uint16_t vmid = 0, uint32_t vcpu = kAnyVcpu);
  // One ioreq_dispatcher() pass over every VM, now, on this thread. Does
  // nothing while paused.
  void Dispatch();
  // ioreq_pause(): no dispatch runs after this returns. Nests.
  void Pause();
  // ioreq_resume(): re-arms the upcall and dispatches once, to catch an
  // upcall that came meanwhile.
  void Resume();
  // acrn_ioreq_request_clear(): while the VM is marked clearing, PENDING
  // requests complete without emulation; in-process clients get up to
  // clear_drain_timeout to drain; then every request the default client
  // still holds is completed as it is.
  absl::Status ClearRequests(uint16_t vmid);
  // What the device model does to reset a VM: pause its vCPUs, clear its
  // requests, reset it (all slots FREE), resume.
  absl::Status ResetVm(uint16_t vmid);

  // --- In-process clients without threads -----------------------------------
  // One pass of ioreq_task()'s inner loop: handles the client's pending
  // requests, lowest vCPU first. Returns the first handler error.
  absl::Status ServeClient(ClientId client);

  // --- ioeventfd [ioeventfd] ------------------------------------------------
  // ACRN_IOCTL_IOEVENTFD: assign, or deassign with the DEASSIGN flag.
  absl::Status Ioeventfd(uint16_t vmid, const IoeventfdArgs& args);
  // The VM's ioeventfd table (for statistics); null for an unknown VM.
  const IoeventfdTable* ioeventfds(uint16_t vmid) const;

  // --- Inspection -------------------------------------------------------------
  HsmStats stats() const;
  // System calls made by the HSM's doorbells (dispatcher and live clients).
  uint64_t syscalls() const;
  // The vCPU bitmap a client holds (set by dispatch, cleared by completion).
  absl::StatusOr<uint32_t> PendingBitmap(ClientId client) const;
  // The name of the client that holds vCPU `vcpu`'s request ("" if none):
  // for reports of a request that does not complete.
  absl::StatusOr<std::string> HolderOf(uint16_t vmid, uint32_t vcpu) const;
  // How many times the HSM published COMPLETE into each of the VM's slots
  // (index = vCPU), every path counted: an oracle compares it with the
  // completions each vCPU took, to prove every request completed once.
  absl::StatusOr<std::array<uint64_t, kIoRequestMax>> SlotCompletions(
      uint16_t vmid) const;

 private:
  struct Vm;
  struct Client;

  absl::StatusOr<std::shared_ptr<Vm>> FindVm(uint16_t vmid) const;
  absl::StatusOr<std::shared_ptr<Client>> FindClientById(ClientId id) const;

  void DispatcherLoop();
  void ClientLoop(Client* client);
  absl::Status ServeClientRequests(Client& client);
  // Routes the VM's PENDING requests; the clients to wake are appended to
  // `wakes`, rung together by the caller after the pass.
  void DispatchVm(Vm& vm, std::vector<Bell*>& wakes);
  // The direct topology: claims the VM's PENDING requests that route to
  // `claimer`; a request whose fields changed under the routing snapshot is
  // given back PENDING and its real owner's bell appended to `wakes`.
  int ClaimVm(Vm& vm, Client& claimer, std::vector<Bell*>& wakes);
  // Returns how many requests the claimer took for itself.
  int ClaimAndRing(Client& claimer);
  // Rings every client of the VM (the direct topology's broadcast).
  void RingClients(Vm& vm);
  void RingClientsLocked(Vm& vm);  // clients_mu held
  // The client a PENDING request routes to in the direct topology (the
  // default client for the special cases); null if none. clients_mu held.
  Client* DirectOwner(Vm& vm, const IoRequest& snapshot, Client* claimer);
  bool direct() const { return options_.topology == Topology::kDirect; }
  Client* FindClient(Vm& vm, const IoRequest& req);
  // ioreq_complete_request(): reads completion_polling, then moves the slot
  // from `expected` to COMPLETE with a release, then notifies unless the
  // hypervisor polls.
  void CompleteSlot(Vm& vm, uint32_t vcpu, uint32_t expected);
  // acrn_ioreq_complete_request(): the client must hold the vCPU's bit.
  absl::Status CompleteRequest(Vm& vm, Client& client, uint32_t vcpu);
  void DestroyClientLocked(Vm& vm, const std::shared_ptr<Client>& client);
  bool paused() const;

  HypervisorCalls* const hypervisor_;
  const HsmOptions options_;

  // Held by the dispatcher for a whole pass (exclusive), or by a direct
  // client for a claim scan (shared); Pause() takes it to drain.
  std::shared_mutex dispatch_mu_;
  std::atomic<int> pause_depth_{0};

  // acrn_vm_list_lock.
  mutable std::shared_mutex vms_mu_;
  std::map<uint16_t, std::shared_ptr<Vm>> vms_;  // guarded by vms_mu_

  mutable std::mutex clients_mu_;  // guards the two fields below
  std::map<ClientId, std::shared_ptr<Client>> clients_;
  ClientId next_client_id_ = 1;

  Bell upcall_;
  std::atomic<bool> stopping_{false};
  std::thread dispatcher_;

  struct Counters;
  std::unique_ptr<Counters> counters_;
};

extern template class BasicHsm<SpinDoorbell>;
extern template class BasicHsm<EventfdDoorbell>;
extern template class BasicHsm<UringDoorbell>;
extern template class BasicHsm<UringEventfdDoorbell>;
extern template class BasicHsm<FutexDoorbell>;
extern template class BasicHsm<AdaptiveDoorbell>;

// The HSM with eventfd wake-ups, for code that does not choose.
using Hsm = BasicHsm<EventfdDoorbell>;

}  // namespace ioreq

#endif  // IOREQ_CORE_HSM_HSM_H_
