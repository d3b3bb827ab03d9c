// core/harness/emulated_hypervisor.h: a hypervisor whose vCPUs are threads.
//
// It plays the hypervisor's half of the protocol [hv-insert] for vCPUs that
// are threads of the harness: a thread that "traps" an access calls
// InsertRequest(), which fills its FREE slot, marks it PENDING with a
// release store and fires the upcall; WaitForCompletion() then waits for
// COMPLETE, by polling the state word (completion_polling = 1) or by
// sleeping on the vCPU's completion doorbell until NotifyRequestFinish(),
// copies a read's value back, masked to the access size, and frees the slot.
// One vCPU has at most one request in flight.
//
// Two profiles (core/profile/profile.h). `hardened`, the default, is the
// model's own hypervisor: every access goes to the HSM, completion polling
// is chosen per request, and a notified vCPU re-checks its slot after every
// wake and rescans [rescan]. `acrn` is ACRN's (hypervisor/dm/io_req.c):
// its vPCI (acrn_vpci.h) completes some 0xCF8/0xCFC accesses before the HSM
// sees them [acrn-vpci]; the insert leaves kernel_handled and the reserved
// fields as they were; polling is the VM's, chosen when it is created, and
// a polling VM's notifications signal nothing [acrn-polling]; an insert
// into a slot that is not FREE injects #GP [acrn-gp]; and a notified vCPU
// waits once on its sticky event (the doorbell) and takes the completion
// only if the slot is COMPLETE, else the guest resumes without a value and
// the slot stays as it is [acrn-wake]. Each of these is counted in stats().
//
// Resolved without a lock: a VM is found by its id in a fixed table
// (kMaxVms entries; ids are handed out in order, as ACRN's are bounded by
// its build-time CONFIG_MAX_VM_NUM), so the per-request path takes no mutex.
// The doorbell strategy of the completion waits is chosen at construction.
//
// Example:
//   ioreq::EmulatedHypervisor hv(ioreq::Strategy::kFutex);
//   uint16_t vm = *hv.CreateVm(/*vcpu_num=*/4);
//   hv.SetUpcallHandler([&](uint16_t vm, uint32_t vcpu) { hsm.Upcall(vm, vcpu); });
//   // on vCPU 2's thread:
//   absl::StatusOr<uint64_t> value =
//       hv.EmulateAccess(vm, 2, ioreq::PortRead(0x3fd, 1), /*polling=*/false);
#ifndef IOREQ_CORE_HARNESS_EMULATED_HYPERVISOR_H_
#define IOREQ_CORE_HARNESS_EMULATED_HYPERVISOR_H_

#include <array>
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "core/abi/abi.h"
#include "core/abi/slot_decode.h"
#include "core/harness/acrn_vpci.h"
#include "core/harness/hypervisor.h"
#include "core/notify/any_doorbell.h"
#include "core/notify/strategy.h"
#include "core/profile/profile.h"

namespace ioreq {

class EmulatedHypervisor : public Hypervisor {
 public:
  // How many VMs one hypervisor holds.
  static constexpr size_t kMaxVms = 1024;

  // [rescan] A notified vCPU that waits longer than `completion_rescan`
  // without a notification looks at its slot anyway, so a lost
  // NotifyRequestFinish() costs one interval instead of a vCPU hung for
  // ever (InfiniteDuration(): never, the kernel's contract).
  // Under `acrn` there is no rescan: `completion_rescan` is ignored.
  explicit EmulatedHypervisor(
      Strategy strategy = Strategy::kEventfd,
      absl::Duration completion_rescan = absl::Milliseconds(20),
      Profile profile = Profile::kHardened);
  ~EmulatedHypervisor() override;
  EmulatedHypervisor(const EmulatedHypervisor&) = delete;
  EmulatedHypervisor& operator=(const EmulatedHypervisor&) = delete;

  Strategy strategy() const { return strategy_; }
  Profile profile() const { return profile_; }

  // EmulateAccess() holds its upcall's wake and sends it with the vCPU's
  // sleep for the completion (core/notify/wake_batch.h, kOtherCpusOnly):
  // with `uring`, one io_uring_enter. The HSM's half is
  // HsmOptions::carry_wakes. Set before any vCPU runs; off by default.
  void set_carry_wakes(bool on) { carry_wakes_ = on; }
  bool carry_wakes() const { return carry_wakes_; }

  // Hypervisor. CreateVm() fails with ResourceExhausted past kMaxVms.
  absl::StatusOr<uint16_t> CreateVm(uint32_t vcpu_num) override;
  // [acrn-polling] Under `acrn`, `polling_vm` decides how every request of
  // the VM completes (InsertRequest()'s `polling` is ignored); under
  // `hardened` it is ignored and each request chooses.
  absl::StatusOr<uint16_t> CreateVm(uint32_t vcpu_num, bool polling_vm);
  // The VM's vPCI under `acrn` (null under `hardened` or for no such VM).
  AcrnVpci* vpci(uint16_t vmid) const;
  // [posted] The VM's posted ring, set up empty at CreateVm().
  PostedRing* posted_ring(uint16_t vmid) const override;
  // [posted] A write matching a descriptor (under `acrn` any access: ACRN
  // does not look at the direction) is put into the ring as the
  // descriptor's cookie, the upcall fires, and the vCPU goes on:
  // WaitForCompletion() returns at once (0 for a read). While the ring is
  // full the vCPU waits, as ACRN's spins. A ring whose header is not sane is
  // counted and the access takes a slot instead.
  absl::Status AssignPosted(uint16_t vmid,
                            const PostedDescriptor& descriptor) override;
  absl::Status DeassignPosted(uint16_t vmid, uint64_t cookie) override;
  // How many of each vCPU's accesses took no slot (index = vCPU): completed
  // by the `acrn` vPCI [acrn-vpci] or posted [posted]. An oracle subtracts
  // them from the completions a vCPU took before comparing with what the
  // HSM completed.
  absl::StatusOr<std::array<uint64_t, kIoRequestMax>> HandledInHypervisor(
      uint16_t vmid) const;
  SharedPage* shared_page(uint16_t vmid) const override;
  void SetUpcallHandler(
      std::function<void(uint16_t vmid, uint32_t vcpu)> handler) override;
  void SetUpcallHandler(std::function<void()> handler) {
    SetUpcallHandler([h = std::move(handler)](uint16_t, uint32_t) { h(); });
  }
  HypervisorStats stats() const override;
  uint64_t syscalls() const override;

  // [hv-insert]: fill the vCPU's FREE slot, release-store PENDING, upcall.
  // FailedPrecondition if the slot is not FREE (under `acrn`, counted as a
  // #GP injected into the guest), or if the vCPU's last request is still in
  // flight (its wait timed out: take it or abandon it first; it stays in
  // flight, and nothing is counted). While the VM is paused, the call waits
  // for it to resume. Under `acrn` an access the vPCI completes uses no
  // slot; WaitForCompletion() then returns its value at once.
  absl::Status InsertRequest(uint16_t vmid, uint32_t vcpu,
                             const IoAccess& access, bool polling);

  // Waits for COMPLETE (polling or notified), returns a read's value masked
  // to its size (0 for a write), and stores FREE. DeadlineExceeded after
  // `timeout` (counted without a clock read until a wait ends without the
  // completion, so up to one rescan interval late), with the request still
  // in flight. Under `acrn` a notified
  // vCPU woken with its slot not COMPLETE returns DataLoss: the request is
  // no longer in flight, the slot is left as it is [acrn-wake].
  absl::StatusOr<uint64_t> WaitForCompletion(
      uint16_t vmid, uint32_t vcpu,
      absl::Duration timeout = absl::InfiniteDuration());

  // The vCPU gives up on a request that WaitForCompletion() timed out on
  // (a hypervisor resetting a wedged vCPU): it is no longer in flight, so
  // ResetVm() does not wait for it; the slot stays as it is until the VM is
  // reset. FailedPrecondition if the vCPU has no request in flight.
  absl::Status AbandonRequest(uint16_t vmid, uint32_t vcpu);

  // InsertRequest() then WaitForCompletion(): one trapped access.
  absl::StatusOr<uint64_t> EmulateAccess(
      uint16_t vmid, uint32_t vcpu, const IoAccess& access, bool polling,
      absl::Duration timeout = absl::InfiniteDuration());

  // HypervisorCalls.
  absl::Status NotifyRequestFinish(uint16_t vmid, uint32_t vcpu) override;
  absl::Status PauseVm(uint16_t vmid) override;
  // Waits (up to a second) for in-flight requests to complete, then makes
  // all 16 slots FREE and zero [hv-reset].
  absl::Status ResetVm(uint16_t vmid) override;
  absl::Status ResumeVm(uint16_t vmid) override;

 private:
  // What the HSM's completing thread reads has a line of its own, apart
  // from what the vCPU thread writes on every request: on one line, each
  // notified request would move it between their CPUs once more.
  struct alignas(64) Vcpu {
    // Rung by NotifyRequestFinish(), on the thread that completes; written
    // once, when the VM is created.
    std::unique_ptr<AnyDoorbell> completion;
    alignas(64) std::atomic<bool> in_flight{false};  // a request awaits completion
    std::atomic<bool> polling{false};
    IoAccess access;                          // what was issued; vCPU thread only
    // [acrn-vpci] The request in flight was completed by the vPCI with this
    // value; vCPU thread only.
    bool handled_here = false;
    uint64_t handled_value = 0;
    std::atomic<uint64_t> handled_count{0};   // read by HandledInHypervisor()
    // This vCPU's share of stats().inserted and .completed, counted by its
    // own thread: one counter for all vCPUs would move between their CPUs.
    // The vCPU's thread is the only writer of these three (a vCPU runs on
    // one thread at a time), so each count is a load and a store, not a
    // locked read-modify-write.
    std::atomic<uint64_t> inserted{0};
    std::atomic<uint64_t> completed{0};
  };
  struct Vm {
    uint16_t vmid;
    uint32_t vcpu_num;
    bool polling_vm = false;           // [acrn-polling]
    std::unique_ptr<AcrnVpci> vpci;    // [acrn-vpci]; `acrn` only
    std::unique_ptr<PostedRing> posted_ring;  // [posted]
    // ACRN's asyncio_lock: the descriptors, and the ring's one producer.
    std::mutex posted_mu;
    std::vector<PostedDescriptor> posted;  // guarded by posted_mu
    // posted.size(), read without the lock on every insert.
    std::atomic<uint32_t> posted_count{0};
    std::unique_ptr<PageFrame> page;  // 4 KiB-aligned
    std::unique_ptr<Vcpu[]> vcpus;
    // Written under pause_mu; read without it on the per-request path.
    std::atomic<bool> paused{false};
    std::mutex pause_mu;  // for the wait of a vCPU that found `paused`
    std::condition_variable resumed;
  };

  absl::StatusOr<Vm*> FindVm(uint16_t vmid) const;
  absl::StatusOr<Vcpu*> FindVcpu(uint16_t vmid, uint32_t vcpu,
                                 Vm** vm = nullptr) const;
  void FireUpcall(uint16_t vmid, uint32_t vcpu);

  // [posted] The cookie of the descriptor `access` matches, or 0.
  uint64_t MatchPosted(Vm& vm, const IoAccess& access);
  // Puts `cookie` into the VM's ring, waiting while it is full; false if
  // the ring is not sane.
  bool PutPostedWaiting(Vm& vm, uint64_t cookie);

  // [acrn-wake] waits for the one ring that releases the vCPU.
  absl::Status WaitNotifiedAcrn(Vm& vm, Vcpu& v, uint32_t vcpu,
                                absl::Duration timeout);

  const Strategy strategy_;
  bool carry_wakes_ = false;
  const absl::Duration completion_rescan_;
  const Profile profile_;

  // Lookups load the table without a lock; CreateVm() publishes an entry
  // with a release store after the VM is built.
  std::array<std::atomic<Vm*>, kMaxVms> table_{};
  std::mutex create_mu_;                    // serializes CreateVm()
  std::vector<std::unique_ptr<Vm>> owned_;  // guarded by create_mu_

  std::mutex upcall_mu_;
  std::function<void(uint16_t, uint32_t)> upcall_;  // written before vCPUs run
  std::atomic<bool> has_upcall_{false};

  // Counted by the HSM's completing threads, apart from the vCPUs' lines.
  alignas(64) std::atomic<uint64_t> notifications_{0};
  std::atomic<uint64_t> insert_refused_{0}, rescued_by_rescan_{0}, abandoned_{0},
      handled_in_hypervisor_{0}, gp_injected_{0}, released_without_value_{0},
      posted_{0}, posted_reads_{0}, posted_corrupt_{0};
};

}  // namespace ioreq

#endif  // IOREQ_CORE_HARNESS_EMULATED_HYPERVISOR_H_
