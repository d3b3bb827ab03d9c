// core/hsm/hsm.h: the Hypervisor Service Module: clients, ranges, routing.
//
// This is the Service VM side of the I/O request path, modelled on the
// kernel's drivers/virt/acrn/ioreq.c. The hypervisor marks a slot PENDING and
// fires an upcall; the HSM routes each PENDING request to the client that
// owns its address [find-client] (after folding 0xCF8/0xCFC accesses into
// PCICFG requests [cf8cfc]), marks it PROCESSING and wakes the client; the
// client emulates it and the HSM marks it COMPLETE and notifies the
// hypervisor [complete]. docs/spec.md states every rule; docs/design.md
// draws the parts.
//
// Hsm is a thin facade over parts with one job each (core/hsm/internal/):
//   registry.h          VMs, clients and ranges; the lock order (vm_state.h)
//   router.h            where a request goes, one function for both engines
//   kernel_dispatcher.h the kernel's engine: a dispatcher thread [dispatch]
//   direct_claimer.h    the direct engine: clients claim for themselves
//   completer.h         every way a request leaves the HSM [complete]
//   client_service.h    serving clients [client-wait] [notify-finish]
//                       [destroy]
// The doorbell strategy is chosen once, at construction; only the engine
// and the clients are templated on it.
//
// Each rule has a function here named after it:
//   Dispatch(), Upcall()          [dispatch]
//   NotifyRequestFinish()         [notify-finish]
//   CreateClient(), AddRange()    [clients]
//   WaitForRequests()             [client-wait]
//   ClearRequests()               [clear]
//   Pause(), Resume()             [pause]
//   DestroyClient()               [destroy]
//   Ioeventfd()                   [ioeventfd]
//   AssignPosted(), DrainPosted() [posted]
//   ResetVm()                     [hv-reset]
// Where the kernel has a hazard the model does better; each fix is described
// at the function that makes it and in docs/fidelity.md. One more is not in
// the kernel: a lost upcall hangs the kernel's vCPU, while the model's
// waiters scan again after HsmOptions::rescan_interval [rescan].
//
// Threads. With HsmOptions::run_threads (the default), the kernel topology
// has one dispatcher thread for every VM, and each in-process client runs
// its own thread, as the kernel's workqueue and kthreads do; they are named
// "hsm-dispatcher" and "hsm-client" (top -H, perf, and tests that find
// them through /proc, core/notify/testing/asleep.h). The default
// client is user space: its owner calls WaitForRequests() and
// ServeDefaultRequests() from a thread of its own (core/harness/
// device_model.h). Without run_threads nothing runs by itself: the caller
// drives Dispatch() and ServeClient(), which makes the model deterministic
// for unit tests and fuzzers.
//
// Example:
//   ioreq::EmulatedHypervisor hv;
//   ioreq::Hsm hsm(&hv, ioreq::HsmOptions{}, ioreq::Strategy::kFutex);
//   uint16_t vm = *hv.CreateVm(2);
//   hsm.CreateVm(vm, 2);
//   hsm.SetIoreqBuffer(vm, hv.shared_page(vm));
//   hv.SetUpcallHandler([&](uint16_t vm, uint32_t vcpu) { hsm.Upcall(vm, vcpu); });
//   uint64_t uart = *hsm.CreateClient(vm, "uart", UartHandler, false);
//   hsm.AddRange(uart, ioreq::kTypePortIo, 0x3f8, 0x3ff);
#ifndef IOREQ_CORE_HSM_HSM_H_
#define IOREQ_CORE_HSM_HSM_H_

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "core/abi/abi.h"
#include "core/hsm/client.h"
#include "core/hsm/hsm_options.h"
#include "core/hsm/hsm_stats.h"
#include "core/hsm/hypercalls.h"
#include "core/hsm/ioeventfd.h"
#include "core/hsm/posted_writes.h"
#include "core/notify/strategy.h"

namespace ioreq {

namespace hsm_internal {
struct HsmContext;
class RoutingEngine;
class ClientService;
struct VmState;
struct ClientState;
}  // namespace hsm_internal

// A client resolved once (Hsm::Resolve()). Its owner keeps it to wait and
// serve without a look-up per request. Once the client is destroyed the
// calls that take the handle answer NotFound, as those that take the id.
class ClientHandle {
 public:
  ClientHandle() = default;
  // The client's id; 0, which no client has (ids count from 1), for an
  // empty handle.
  ClientId id() const;
  bool valid() const { return state_ != nullptr; }

 private:
  friend class Hsm;
  explicit ClientHandle(std::shared_ptr<hsm_internal::ClientState> state)
      : state_(std::move(state)) {}
  std::shared_ptr<hsm_internal::ClientState> state_;
};

class Hsm {
 public:
  explicit Hsm(HypervisorCalls* hypervisor, HsmOptions options = {},
               Strategy strategy = Strategy::kEventfd);
  ~Hsm();  // destroys every VM (and so every client), stops the dispatcher
  Hsm(const Hsm&) = delete;
  Hsm& operator=(const Hsm&) = delete;

  Strategy strategy() const { return strategy_; }
  Topology topology() const;

  // --- VMs -----------------------------------------------------------------
  // ACRN_IOCTL_CREATE_VM: vcpu_num must be 1..16 (the kernel takes it from
  // the hypervisor unchecked). Creates the VM's ioeventfd client.
  absl::Status CreateVm(uint16_t vmid, uint32_t vcpu_num);
  // [buffer] acrn_ioreq_init(), which the kernel runs for
  // ACRN_IOCTL_CREATE_VM's ioreq_buf: a VM's first page is kept; a second is
  // AlreadyExists (-EEXIST). The page must be 4 KiB aligned (the kernel pins
  // the page that holds a misaligned address; the model refuses it).
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
  absl::StatusOr<uint32_t> WaitForRequests(const ClientHandle& client);
  // Wakes a WaitForRequests() with Cancelled, before DestroyClient().
  absl::Status InterruptWait(ClientId client);
  // Serves every request now pending for the default client: copies the
  // slot under the clients lock, runs `handler` on the copy, writes the
  // value back and completes it, unless ClearRequests() or DestroyClient()
  // completed it meanwhile. A handler error answers all-ones.
  absl::Status ServeDefaultRequests(ClientId client, const IoHandler& handler);
  absl::Status ServeDefaultRequests(const ClientHandle& client,
                                    const IoHandler& handler);
  // The client `id`, resolved once for the calls above (NotFound if none).
  absl::StatusOr<ClientHandle> Resolve(ClientId id) const;
  // [notify-finish] ACRN_IOCTL_NOTIFY_REQUEST_FINISH: completes vCPU
  // `vcpu`'s request held by the default client. The vCPU id is checked
  // against vcpu_num as a full u32 (the kernel truncates it to u16), and a
  // vCPU whose request the default client does not hold is refused
  // (FailedPrecondition) instead of turning a FREE slot COMPLETE.
  absl::Status NotifyRequestFinish(uint16_t vmid, uint32_t vcpu);
  // The same through the default client's handle, as the ioctl goes
  // through the device model's file: the VM is the client's, with no
  // look-up (a device model's finish, once a request). Refused for a
  // client that is not the default one (InvalidArgument) or has left its
  // VM (NotFound).
  absl::Status NotifyRequestFinish(const ClientHandle& client, uint32_t vcpu);

  // --- Dispatch [dispatch] [pause] [clear] ---------------------------------
  // The hypervisor's upcall (ioreq_intr_handler()): schedules routing.
  // `vmid` and `vcpu` name the request that was inserted. The kernel
  // topology ignores them (it rings the dispatcher); the direct topology
  // rings only the client the request routes to, or, when `vcpu` is out of
  // range (kAnyVcpu), every client of the VM.
  static constexpr uint32_t kAnyVcpu = ~uint32_t{0};
  void Upcall(uint16_t vmid = 0, uint32_t vcpu = kAnyVcpu);
  // One routing pass over every VM, now, on this thread: the kernel
  // topology's ioreq_dispatcher(); in the direct topology every client
  // claims in turn (what its thread would do). Does nothing while paused.
  void Dispatch();
  // ioreq_pause(): no routing runs after this returns. Nests.
  void Pause();
  // ioreq_resume(): re-arms the upcall and routes once, to catch an upcall
  // that came meanwhile.
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
  // requests (claiming them first in the direct topology), lowest vCPU
  // first. Returns the first handler error.
  absl::Status ServeClient(ClientId client);

  // --- ioeventfd [ioeventfd] ------------------------------------------------
  // ACRN_IOCTL_IOEVENTFD: assign, or deassign with the DEASSIGN flag.
  absl::Status Ioeventfd(uint16_t vmid, const IoeventfdArgs& args);
  // The VM's ioeventfd table (for statistics); null for an unknown VM.
  const IoeventfdTable* ioeventfds(uint16_t vmid) const;

  // --- Posted writes [posted] ------------------------------------------------
  // The VM's posted ring (core/abi/posted_ring.h), as the hypervisor set it
  // up; null detaches it.
  absl::Status SetPostedRing(uint16_t vmid, PostedRing* ring);
  // ACRN's asyncio assign: records the descriptor (PostedWrites::Assign())
  // and has the hypervisor post matching writes from now on. Returns the
  // descriptor's cookie.
  absl::StatusOr<uint64_t> AssignPosted(uint16_t vmid, const PostedArgs& args);
  absl::Status DeassignPosted(uint16_t vmid, uint64_t cookie);
  // Drains the VM's ring now. The kernel topology's dispatcher drains before
  // each pass, the direct topology's upcall and every claim scan do.
  absl::Status DrainPosted(uint16_t vmid);

  // --- Inspection -------------------------------------------------------------
  HsmStats stats() const;
  // System calls made by the HSM's doorbells (dispatcher and live clients).
  uint64_t syscalls() const;
  // The vCPU bitmap a client holds (set by routing, cleared by completion).
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
  friend class HsmTestPeer;  // core/hsm/hsm_test_peer.h

  // A valid handle of a client still attached to its VM.
  static absl::Status CheckAttached(const ClientHandle& client);
  // The VM, and the vCPU checked against its vcpu_num as a full u32.
  absl::StatusOr<std::shared_ptr<hsm_internal::VmState>> FindVcpu(
      uint16_t vmid, uint32_t vcpu) const;
  // [notify-finish] once the VM is found: the vCPU id checked, and
  // `client`, where not null, still the VM's default client.
  absl::Status FinishDefault(hsm_internal::VmState& vm,
                             const hsm_internal::ClientState* client,
                             uint32_t vcpu);
  // [kernel-handled] In the direct topology, marks every slot that is not
  // PROCESSING the kernel's (1), where no claim can take one: a page not
  // yet published, or a VM paused and just reset.
  void MarkSlotsTheKernels(SharedPage& page);

  const Strategy strategy_;
  std::unique_ptr<hsm_internal::HsmContext> ctx_;
  std::unique_ptr<hsm_internal::RoutingEngine> engine_;
  std::unique_ptr<hsm_internal::ClientService> service_;
};

}  // namespace ioreq

#endif  // IOREQ_CORE_HSM_HSM_H_
