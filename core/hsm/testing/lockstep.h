// core/hsm/testing/lockstep.h: the real HSM and its shadow of the rules,
// stepped together, compared after every operation.
//
// A Lockstep holds one VM on an EmulatedHypervisor, an Hsm driven by hand
// (no threads: every step is a call on this thread) and a ShadowHsm
// (shadow_hsm.h). Each operation below is applied to both; then Check()
// compares everything the rules decide:
//   - every slot's state, its holder, a folded request's PCI register, a
//     completed read's value, and in the direct topology its
//     kernel_handled mark (which the hypervisor may write: followed, see
//     Garbage());
//   - every client's pending bitmap, the 0xCF8 latch, how many times each
//     slot was made COMPLETE, and the HSM's counters of each outcome;
// and asserts what must hold whatever the hypervisor wrote into the page:
//   - a request in flight is in exactly one place: PENDING and unrouted,
//     PROCESSING and held by exactly one client, or COMPLETE for its vCPU;
//   - no client holds a vCPU the VM lacks, no two clients one vCPU;
//   - kernel_handled of a held request names its holder [kernel-handled];
//   - each slot's completions = what its vCPU took + the one waiting;
//   - an HSM step moves a slot only PENDING -> PROCESSING -> COMPLETE.
// The first difference comes back as an Internal status naming the step,
// the vCPU or client, what the model did and what the rules say.
//
// Restart() returns the world to its first state in time proportional to
// what the last run touched, so a fuzzer builds it once per process.
//
// Example:
//   ioreq::Lockstep world(ioreq::Topology::kDirect, ioreq::Profile::kHardened, 4);
//   absl::Status s = world.CreateClient(/*is_default=*/true);
//   if (s.ok()) s = world.Insert(0, ioreq::PortRead(0x3f8, 1), false);
//   if (s.ok()) s = world.Dispatch();
//   if (s.ok()) s = world.ServeDefault();
//   if (s.ok()) s = world.Take(0);
//   if (!s.ok()) ... s.message() names the divergence;
//   world.Restart();
#ifndef IOREQ_CORE_HSM_TESTING_LOCKSTEP_H_
#define IOREQ_CORE_HSM_TESTING_LOCKSTEP_H_

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "core/abi/abi.h"
#include "core/abi/slot_decode.h"
#include "core/harness/emulated_hypervisor.h"
#include "core/hsm/hsm.h"
#include "core/hsm/hsm_options.h"
#include "core/hsm/testing/shadow_hsm.h"
#include "core/profile/profile.h"

namespace ioreq {

namespace hsm_internal {
struct VmState;
}  // namespace hsm_internal

class Lockstep {
 public:
  static constexpr size_t kMaxClients = 4;  // in-process, besides the default

  // With `check_range_index` (the default), every route is looked up under
  // clients_mu and the index checked against the kernel's list; without
  // it, the HSM routes as in production (the route memo, without the lock,
  // wherever it answers: the direct topology's upcall and in-process
  // claims).
  Lockstep(Topology topology, Profile profile, uint32_t vcpu_num,
           bool check_range_index = true);
  ~Lockstep();
  Lockstep(const Lockstep&) = delete;
  Lockstep& operator=(const Lockstep&) = delete;

  // What every client answers to a read (the shadow's Answer).
  static uint64_t ClientAnswer(uint64_t salt, const IoAccess& access);

  // --- The hypervisor ----------------------------------------------------------
  // [hv-insert] Skipped while the vCPU has a request in flight.
  absl::Status Insert(uint32_t vcpu, const IoAccess& access, bool polling);
  // Writes `bytes` at `offset` into the vCPU's slot (the state word too).
  // The slot is then wild (shadow_hsm.h), but for bytes no rule reads
  // (reserved0, reserved1), which change nothing, and kernel_handled in a
  // slot that is not PROCESSING, which the shadow follows.
  absl::Status Garbage(uint32_t vcpu, size_t offset, absl::string_view bytes);
  // The vCPU takes its completion if its slot is COMPLETE.
  absl::Status Take(uint32_t vcpu);
  // [hv-reset] through the HSM; skipped while a vCPU has a request in flight.
  absl::Status Reset();

  // --- The HSM -------------------------------------------------------------------
  absl::Status Dispatch();
  // Client `index` mod the number of in-process clients (none: nothing).
  absl::Status ServeClient(size_t index);
  absl::Status ServeDefault();
  absl::Status NotifyFinish(uint32_t vcpu);
  absl::Status CreateClient(bool is_default);
  // The default client, or in-process client `index` mod their number.
  absl::Status DestroyClient(bool the_default, size_t index);
  absl::Status AddRange(size_t index, const IoRange& range);
  absl::Status DelRange(size_t index, size_t range_index);
  absl::Status Clear();
  absl::Status Pause();   // at most 3 deep
  absl::Status Resume();  // only while paused

  // Compares now (every operation above ends with it).
  absl::Status Check();

  // Back to the first state: no clients but the VM's own, every slot FREE,
  // latch 0, not paused, counters counted from here.
  void Restart();

  // How many times the operation named `name` ("insert", "delete range":
  // the names the reports use) ran on both models since construction; one
  // that returned early with nothing to do is not counted. Restart() keeps
  // the counts. A test reads them to know its walks reach every operation.
  int64_t steps_taken(absl::string_view name) const;

  Hsm& hsm() { return *hsm_; }
  SharedPage* page() const { return page_; }
  uint16_t vm() const { return vm_; }
  const ShadowHsm& shadow() const { return *shadow_; }

 private:
  struct Vcpu {
    bool in_flight = false;
    bool handled_in_hypervisor = false;  // `acrn`: the vPCI answered it
    uint64_t taken = 0;                  // completions taken since the base
    uint64_t base = 0;                   // completions before that
  };

  IoRequest& Slot(uint32_t v) const { return page_->slots[v]; }
  // Runs `op` on both models, then adopts the real state if garbage made
  // the step unpredictable, then checks. `hsm_step`: an HSM operation (its
  // moves are checked); `name` is for the report.
  template <typename Op>
  absl::Status Step(const char* name, bool hsm_step, Op op);
  absl::Status CheckInvariants(const char* name, bool hsm_step);
  absl::Status Compare(const char* name);
  void Adopt();
  std::optional<ClientId> RealHolder(uint32_t v) const;
  std::array<uint64_t, kIoRequestMax> Completions() const;
  uint32_t Latch() const;
  HsmStats Counters() const;

  const Topology topology_;
  const Profile profile_;
  const uint32_t vcpu_num_;
  std::unique_ptr<EmulatedHypervisor> hv_;
  std::unique_ptr<Hsm> hsm_;
  std::shared_ptr<hsm_internal::VmState> vm_state_;
  uint16_t vm_ = 0;
  SharedPage* page_ = nullptr;
  std::unique_ptr<ShadowHsm> shadow_;
  std::array<Vcpu, kIoRequestMax> vcpu_;
  std::array<uint32_t, kIoRequestMax> before_{};  // states before the step
  std::array<uint64_t, kIoRequestMax> completions_base_{};
  HsmStats counters_base_;
  std::vector<ClientId> clients_;  // in-process, oldest first
  std::optional<ClientId> default_;
  uint64_t default_salt_ = 0;
  uint64_t next_salt_ = 1;
  int pauses_ = 0;
  absl::flat_hash_map<absl::string_view, int64_t> steps_taken_;  // by name
};

}  // namespace ioreq

#endif  // IOREQ_CORE_HSM_TESTING_LOCKSTEP_H_
