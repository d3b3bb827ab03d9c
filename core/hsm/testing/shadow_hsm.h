// core/hsm/testing/shadow_hsm.h: the rules of docs/spec.md as a small
// executable model, for oracles that compare the real HSM with what the
// rules say after every operation.
//
// ShadowHsm keeps, for one VM, what the specification says is observable:
// per slot its state, the request it holds (a folded 0xCFC access is a
// PCICFG request), its value field, the client that holds it and how many
// times it was made COMPLETE; per client its ranges and the vCPUs it holds;
// per VM the 0xCF8 latch and the pause depth; and the HSM's counters. It is
// stepped by the same calls as the Hsm (named after them, each with its
// rule's tag), single-threaded, with no atomics, no index and no engine: a
// reader checks it against the spec line by line. It knows the two
// topologies and the two profiles only where the rules differ (who claims,
// who folds, how the default client is served).
//
// A slot whose bytes the hypervisor overwrote with garbage is "wild". While
// any slot is wild the shadow predicts nothing: a garbage 0xCF8 write moves
// the latch every later fold reads, and what the real model answers to
// garbage is the subject of CheckRequest() and its own fuzzer. The oracle
// then checks only the invariants that hold whatever the bytes, and adopts
// the real state after the step (Adopt*()). A wild slot is ordinary again
// once it is FREE and held by no client under `hardened` (the next insert
// rewrites every field the rules read; garbage that frees a held slot leaves
// the holder's bit until it lets go), and only after a reset under `acrn`, whose insert leaves
// completion_polling and kernel_handled as it finds them [acrn-insert].
// Two hypervisor writes leave a slot ordinary (core/hsm/testing/lockstep.h
// decides which): into bytes no rule reads (reserved0, reserved1), which
// change nothing, and into kernel_handled of a slot that is not PROCESSING:
// the rules say what the direct topology's claims do with a slot not
// marked the kernel's, and the shadow follows the field there
// (WriteKernelHandled()).
//
// Example (the oracle in core/hsm/testing/lockstep.h does this per step):
//   ioreq::ShadowHsm shadow(ioreq::Topology::kKernel, ioreq::Profile::kHardened,
//                           /*vcpu_num=*/2, Answer);
//   shadow.CreateClient(default_id, /*is_default=*/true, /*salt=*/0);
//   shadow.Insert(0, ioreq::PortRead(0x3f8, 1));
//   shadow.Dispatch();                 // slot 0 PROCESSING, held by default
//   shadow.ServeDefault();             // COMPLETE, value = Answer(...)
//   std::optional<uint64_t> v = shadow.Take(0);
#ifndef IOREQ_CORE_HSM_TESTING_SHADOW_HSM_H_
#define IOREQ_CORE_HSM_TESTING_SHADOW_HSM_H_

#include <array>
#include <cstdint>
#include <functional>
#include <optional>
#include <vector>

#include "core/abi/abi.h"
#include "core/abi/slot_decode.h"
#include "core/hsm/client.h"
#include "core/hsm/hsm_options.h"
#include "core/hsm/hsm_stats.h"
#include "core/hsm/range_index.h"
#include "core/profile/profile.h"

namespace ioreq {

class ShadowHsm {
 public:
  // What a client's handler answers to a read: salt names the client.
  using Answer = std::function<uint64_t(uint64_t salt, const IoAccess&)>;

  struct Slot {
    uint32_t state = kStateFree;
    IoAccess request;           // as the slot holds it now
    uint64_t value = 0;         // the value field, at its width
    uint64_t access_size = 1;   // the size the vCPU trapped (for its read)
    bool read = false;          // the vCPU trapped a read
    std::optional<ClientId> holder;
    uint64_t completions = 0;   // times the HSM published COMPLETE
    bool wild = false;          // garbage written: followed, not predicted
    // [kernel-handled] The direct topology's mark, predicted there only: 1
    // (the kernel's) in every slot the default client does not hold, but
    // for a value the hypervisor wrote into a slot no claim has marked
    // since.
    uint32_t kernel_handled = 1;
  };
  struct Client {
    ClientId id = 0;
    bool is_default = false;
    uint64_t salt = 0;
    std::vector<IoRange> ranges;  // in the order added
    uint32_t held = 0;            // the vCPUs whose requests it holds
  };

  ShadowHsm(Topology topology, Profile profile, uint32_t vcpu_num,
            Answer answer);

  // --- The hypervisor -------------------------------------------------------
  // [hv-insert] True when the slot was FREE (then PENDING).
  bool Insert(uint32_t vcpu, const IoAccess& access);
  // The vCPU takes a COMPLETE slot: the value a read returns (masked to its
  // size; 0 for a write), the slot FREE. nullopt when not COMPLETE.
  std::optional<uint64_t> Take(uint32_t vcpu);
  // The hypervisor wrote garbage into the slot.
  void MarkWild(uint32_t vcpu) { slots_[vcpu].wild = true; }
  // The hypervisor wrote `value` into kernel_handled alone, in a slot that
  // is not PROCESSING: followed, not wild. No rule reads the field of such
  // a slot but the direct topology's claims [kernel-handled]: a PENDING
  // slot not marked 1 is marked by the default client's claim, by a pass
  // for every client, or by its owner's claim in a VM without a default
  // client; its owner's own scan otherwise leaves it to the default client.
  void WriteKernelHandled(uint32_t vcpu, uint32_t value);
  // [hv-reset] Every slot FREE and zero.
  void ResetSlots();

  // --- The HSM --------------------------------------------------------------
  void Dispatch();                       // [dispatch]
  void ServeClient(ClientId id);         // [client-wait] an in-process client
  void ServeDefault();                   // the device model's turn
  bool NotifyFinish(uint32_t vcpu);      // [notify-finish]
  void CreateClient(ClientId id, bool is_default, uint64_t salt);  // [clients]
  void DestroyClient(ClientId id);       // [destroy]
  void AddRange(ClientId id, const IoRange& range);
  bool DelRange(ClientId id, const IoRange& range);  // first exact match
  void Clear();                          // [clear]
  void Pause() { ++paused_; }            // [pause]
  void Resume();                         // [pause]

  // --- What is observable -----------------------------------------------------
  const Slot& slot(uint32_t vcpu) const { return slots_[vcpu]; }
  const std::vector<Client>& clients() const { return clients_; }
  const Client* FindClientById(ClientId id) const;
  uint32_t latch() const { return latch_; }
  int paused() const { return paused_; }
  // The counters the rules decide (the others are left 0).
  const HsmStats& counters() const { return counters_; }
  uint32_t vcpu_num() const { return vcpu_num_; }
  bool AnyWild() const;

  // --- Following wild slots -------------------------------------------------
  // Takes the real model's slot (request and value as decoded from its
  // bytes), holder and completion count; a FREE slot no client holds is no
  // longer wild.
  void AdoptSlot(uint32_t vcpu, uint32_t state, const IoAccess& request,
                 uint64_t value, uint32_t kernel_handled,
                 std::optional<ClientId> holder, uint64_t completions);
  void AdoptLatch(uint32_t latch) { latch_ = latch; }
  void AdoptCounters(const HsmStats& real) { counters_ = real; }

 private:
  Client* FindClient(ClientId id);
  Client* DefaultClient();
  // [find-client] Newest client first, whole access inside a range; PCICFG
  // and no match: the default client.
  Client* Owner(const IoAccess& a);
  // The direct topology: may `c` claim slot `v`?
  bool MayClaim(uint32_t v, const Client& c);
  // Routes one PENDING slot as the spec's numbered steps say; `may_fold`:
  // the caller owns the latch (the dispatcher, or the default client).
  void Route(uint32_t v, bool may_fold);
  void Deliver(uint32_t v, Client& c);
  void Complete(uint32_t v);
  void Serve(Client& c);
  // Who runs a direct topology's claim: the client's own scan (beside
  // other claims), or a pass that claims for every client (alone).
  enum class Pass { kOwnScan, kEveryClient };
  void Claim(Client& c, Pass pass);

  const Topology topology_;
  const Profile profile_;
  const uint32_t vcpu_num_;
  const Answer answer_;
  std::array<Slot, kIoRequestMax> slots_;
  std::vector<Client> clients_;  // oldest first; ids grow
  // The VM's ioeventfd client (core/hsm/ioeventfd.h), which every VM has:
  // no range here, so in the direct topology it claims only what any
  // client may, an invalid request in a VM without a default client. Never
  // holds one (such a request is answered at its claim).
  Client ioeventfd_;
  uint32_t latch_ = 0;
  int paused_ = 0;
  bool clearing_ = false;
  HsmStats counters_;
};

}  // namespace ioreq

#endif  // IOREQ_CORE_HSM_TESTING_SHADOW_HSM_H_
