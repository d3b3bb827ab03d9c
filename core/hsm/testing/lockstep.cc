#include "core/hsm/testing/lockstep.h"

#include <cstddef>
#include <cstring>
#include <string>

#include "absl/strings/str_format.h"
#include "absl/time/time.h"
#include "core/abi/slot_state.h"
#include "core/harness/acrn_vpci.h"
#include "core/harness/system.h"
#include "core/hsm/hsm_test_peer.h"
#include "core/hsm/internal/engine.h"
#include "core/hsm/internal/vm_state.h"

namespace ioreq {
namespace {

HsmOptions ManualOptions(Topology topology, bool check_range_index) {
  HsmOptions o;
  o.topology = topology;
  o.run_threads = false;  // every step is a call on this thread
  o.check_range_index = check_range_index;
  o.clear_drain_timeout = absl::ZeroDuration();
  return o;
}

absl::Status Diverged(const char* step, const std::string& what) {
  return absl::InternalError(absl::StrFormat("after %s: %s", step, what));
}

// Does [offset, offset + n) overlap [start, start + size)?
bool Overlaps(size_t offset, size_t n, size_t start, size_t size) {
  return offset < start + size && start < offset + n;
}

// Are bytes [offset, offset + n) of a slot all in reserved0, reserved1 or
// kernel_handled: bytes no rule reads, and the mark the shadow follows?
bool OnlyUnreadOrMark(size_t offset, size_t n) {
  auto inside = [](size_t byte, size_t start, size_t size) {
    return byte >= start && byte < start + size;
  };
  for (size_t byte = offset; byte < offset + n; ++byte) {
    if (!inside(byte, offsetof(IoRequest, reserved0),
                sizeof(IoRequest::reserved0)) &&
        !inside(byte, offsetof(IoRequest, reserved1),
                sizeof(IoRequest::reserved1)) &&
        !inside(byte, offsetof(IoRequest, kernel_handled),
                sizeof(IoRequest::kernel_handled))) {
      return false;
    }
  }
  return true;
}

std::string Holder(std::optional<ClientId> id) {
  return id ? absl::StrFormat("client %u", *id) : std::string("no client");
}

}  // namespace

Lockstep::Lockstep(Topology topology, Profile profile, uint32_t vcpu_num,
                   bool check_range_index)
    : topology_(topology), profile_(profile), vcpu_num_(vcpu_num) {
  // Spin doorbells: the rules do not depend on the strategy (the doorbell
  // contract suite proves each one), and they make no system call.
  hv_ = std::make_unique<EmulatedHypervisor>(
      Strategy::kSpin, absl::InfiniteDuration(), profile);
  hsm_ = std::make_unique<Hsm>(hv_.get(),
                               ManualOptions(topology, check_range_index),
                               Strategy::kSpin);
  absl::StatusOr<uint16_t> vm = CreateWiredVm(*hv_, *hsm_, vcpu_num);
  if (!vm.ok()) {
    std::fprintf(stderr, "lockstep: %s\n", vm.status().ToString().c_str());
    std::abort();
  }
  vm_ = *vm;
  page_ = hv_->shared_page(vm_);
  vm_state_ = *HsmTestPeer::Context(*hsm_).registry.FindVm(vm_);
  Restart();
}

Lockstep::~Lockstep() = default;

uint64_t Lockstep::ClientAnswer(uint64_t salt, const IoAccess& a) {
  return (salt * 0x9E3779B97F4A7C15ull) ^ (a.address * 0xC2B2AE3D27D4EB4Full) ^
         (uint64_t{a.type} << 56) ^ (uint64_t{a.bus} << 40) ^
         (uint64_t{a.dev} << 32) ^ (uint64_t{a.func} << 24);
}

// --- Reading the real model ---------------------------------------------------

std::optional<ClientId> Lockstep::RealHolder(uint32_t v) const {
  for (const auto& c : vm_state_->clients) {
    if (c->pending.load(std::memory_order_relaxed) & (1u << v)) return c->id;
  }
  const auto& d = vm_state_->default_client;
  if (d && (d->pending.load(std::memory_order_relaxed) & (1u << v))) {
    return d->id;
  }
  return std::nullopt;
}

std::array<uint64_t, kIoRequestMax> Lockstep::Completions() const {
  std::array<uint64_t, kIoRequestMax> n{};
  for (uint32_t v = 0; v < kIoRequestMax; ++v) {
    n[v] = vm_state_->slot_completions[v].value.load(
               std::memory_order_relaxed) -
           completions_base_[v];
  }
  return n;
}

uint32_t Lockstep::Latch() const { return vm_state_->pci_config_address; }

HsmStats Lockstep::Counters() const {
  HsmStats now = HsmTestPeer::Context(*hsm_).counters.Snapshot();
#define IOREQ_LOCKSTEP_DELTA(name, what) now.name -= counters_base_.name;
  IOREQ_HSM_COUNTERS(IOREQ_LOCKSTEP_DELTA)
#undef IOREQ_LOCKSTEP_DELTA
  return now;
}

// --- Steps ---------------------------------------------------------------------

template <typename Op>
absl::Status Lockstep::Step(const char* name, bool hsm_step, Op op) {
  ++steps_taken_[name];
  const bool predictable = !shadow_->AnyWild();
  for (uint32_t v = 0; v < vcpu_num_; ++v) before_[v] = LoadStateRelaxed(Slot(v));
  absl::Status s = op();
  if (!s.ok()) return Diverged(name, std::string(s.message()));
  const bool compared = predictable && !shadow_->AnyWild();
  if (!compared) Adopt();
  s = CheckInvariants(name, hsm_step);
  if (s.ok() && compared) s = Compare(name);
  return s;
}

int64_t Lockstep::steps_taken(absl::string_view name) const {
  const auto it = steps_taken_.find(name);
  return it == steps_taken_.end() ? 0 : it->second;
}

absl::Status Lockstep::Insert(uint32_t v, const IoAccess& access,
                              bool polling) {
  if (vcpu_[v].in_flight && !shadow_->slot(v).wild) return absl::OkStatus();
  return Step("insert", false, [&]() -> absl::Status {
    if (vcpu_[v].in_flight) {
      // Garbage stranded the request (its slot is wild): the vCPU gives it
      // up, as a hypervisor resets a wedged vCPU, and traps anew. The
      // hypervisor refuses an insert while a request is in flight.
      if (absl::Status s = hv_->AbandonRequest(vm_, v); !s.ok()) return s;
      vcpu_[v].in_flight = false;
      vcpu_[v].handled_in_hypervisor = false;
    }
    const bool was_free = LoadStateAcquire(Slot(v)) == kStateFree;
    const absl::Status s = hv_->InsertRequest(vm_, v, access, polling);
    if (s.ok() && profile_ == Profile::kAcrn &&
        !(was_free && LoadStateAcquire(Slot(v)) == kStatePending)) {
      // [acrn-vpci] The hypervisor's vPCI answered it: no slot used, FREE
      // or not.
      vcpu_[v].in_flight = true;
      vcpu_[v].handled_in_hypervisor = true;
      return absl::OkStatus();
    }
    if (s.ok() != was_free) {
      return absl::InternalError(absl::StrFormat(
          "vCPU %u: insert into a %s slot answered %s", v,
          was_free ? "FREE" : "taken", s.ToString()));
    }
    if (!s.ok()) {
      // A refused insert leaves the vCPU with nothing in flight.
      vcpu_[v].in_flight = false;
      vcpu_[v].handled_in_hypervisor = false;
      return absl::OkStatus();
    }
    const bool was_wild = shadow_->slot(v).wild;
    shadow_->Insert(v, access);
    if (was_wild) {  // counted afresh from here
      vcpu_[v].base = Completions()[v];
      vcpu_[v].taken = 0;
    }
    vcpu_[v].in_flight = true;
    vcpu_[v].handled_in_hypervisor = false;
    return absl::OkStatus();
  });
}

absl::Status Lockstep::Garbage(uint32_t v, size_t offset,
                               absl::string_view bytes) {
  return Step("garbage", false, [&]() -> absl::Status {
    offset %= sizeof(IoRequest);
    const size_t n = std::min(bytes.size(), sizeof(IoRequest) - offset);
    // Bytes no rule reads (reserved0, reserved1) change nothing, and
    // kernel_handled in a slot that is not PROCESSING is followed: the
    // rules say what the claims do with it (ShadowHsm::WriteKernelHandled()).
    // Anything else makes the slot wild.
    const bool touches_mark =
        Overlaps(offset, n, offsetof(IoRequest, kernel_handled),
                 sizeof(IoRequest::kernel_handled));
    const bool followed =
        !shadow_->slot(v).wild && OnlyUnreadOrMark(offset, n) &&
        !(touches_mark && LoadStateRelaxed(Slot(v)) == kStateProcessing);
    std::memcpy(reinterpret_cast<char*>(&Slot(v)) + offset, bytes.data(), n);
    if (!followed) {
      shadow_->MarkWild(v);
    } else if (touches_mark) {
      shadow_->WriteKernelHandled(v, LoadKernelHandledAcquire(Slot(v)));
    }
    return absl::OkStatus();
  });
}

absl::Status Lockstep::Take(uint32_t v) {
  return Step("take", false, [&]() -> absl::Status {
    Vcpu& c = vcpu_[v];
    if (c.handled_in_hypervisor) {
      c.handled_in_hypervisor = false;
      c.in_flight = false;
      return hv_->WaitForCompletion(vm_, v, absl::ZeroDuration()).status();
    }
    if (LoadStateAcquire(Slot(v)) != kStateComplete) return absl::OkStatus();
    if (!c.in_flight) {
      // Only garbage makes a COMPLETE slot no vCPU waits for; the
      // hypervisor frees it.
      StoreStateRelease(Slot(v), kStateFree);
      return absl::OkStatus();
    }
    const absl::StatusOr<uint64_t> got =
        hv_->WaitForCompletion(vm_, v, absl::ZeroDuration());
    const bool wild = shadow_->slot(v).wild;
    if (!got.ok() && !wild) {
      return absl::InternalError(absl::StrFormat(
          "vCPU %u could not take its COMPLETE slot: %s", v,
          got.status().ToString()));
    }
    if (!got.ok()) {
      // Garbage (a completion_polling the vCPU did not set, under `acrn`)
      // kept its notification away: still in flight, or given up on.
      c.in_flight = !absl::IsDataLoss(got.status());
      return absl::OkStatus();
    }
    const std::optional<uint64_t> expected = shadow_->Take(v);
    if (!wild && expected && *got != *expected) {
      return absl::InternalError(absl::StrFormat(
          "vCPU %u read 0x%x; the rules say 0x%x", v, *got, *expected));
    }
    c.in_flight = false;
    ++c.taken;
    return absl::OkStatus();
  });
}

absl::Status Lockstep::Reset() {
  for (uint32_t v = 0; v < vcpu_num_; ++v) {
    if (vcpu_[v].in_flight) return absl::OkStatus();  // it waits for them
  }
  return Step("reset", false, [&]() -> absl::Status {
    if (absl::Status s = hsm_->ResetVm(vm_); !s.ok()) return s;
    shadow_->Clear();
    shadow_->ResetSlots();
    for (uint32_t v = 0; v < vcpu_num_; ++v) {
      if (LoadStateAcquire(Slot(v)) != kStateFree) {
        return absl::InternalError(
            absl::StrFormat("slot %u is not FREE after a reset", v));
      }
      vcpu_[v].base = Completions()[v];
      vcpu_[v].taken = 0;
    }
    return absl::OkStatus();
  });
}

absl::Status Lockstep::Dispatch() {
  return Step("dispatch", true, [&] {
    hsm_->Dispatch();
    shadow_->Dispatch();
    return absl::OkStatus();
  });
}

absl::Status Lockstep::ServeClient(size_t index) {
  if (clients_.empty()) return absl::OkStatus();
  const ClientId id = clients_[index % clients_.size()];
  return Step("serve client", true, [&] {
    shadow_->ServeClient(id);
    return hsm_->ServeClient(id);
  });
}

absl::Status Lockstep::ServeDefault() {
  if (!default_) return absl::OkStatus();
  return Step("serve default", true, [&]() -> absl::Status {
    const uint64_t salt = default_salt_;
    if (profile_ == Profile::kHardened) {
      shadow_->ServeDefault();
      return hsm_->ServeDefaultRequests(*default_, [salt](IoAccess& a) {
        a.value = ClientAnswer(salt, a);
        return absl::OkStatus();
      });
    }
    // [kernel-handled] ACRN's device model: every slot PROCESSING &&
    // !kernel_handled is its own, emulated in place and finished.
    for (uint32_t v = 0; v < vcpu_num_; ++v) {
      IoRequest& slot = Slot(v);
      if (shadow_->slot(v).wild) continue;  // ACRN's would exit
      // Acquire pairs with the engine's release of PROCESSING; the
      // kernel_handled acquire with its release after the pending bit.
      if (LoadStateAcquire(slot) != kStateProcessing ||
          LoadKernelHandledAcquire(slot) != 0) {
        continue;
      }
      IoAccess a = DecodeAccess(slot);
      SetRequestValue(slot, ClientAnswer(salt, a));
      if (absl::Status s = hsm_->NotifyRequestFinish(vm_, v); !s.ok()) {
        return absl::InternalError(absl::StrFormat(
            "vCPU %u: PROCESSING with kernel_handled 0, but the finish was "
            "refused: %s",
            v, s.ToString()));
      }
    }
    shadow_->ServeDefault();
    return absl::OkStatus();
  });
}

absl::Status Lockstep::NotifyFinish(uint32_t v) {
  return Step("notify finish", true, [&]() -> absl::Status {
    const absl::Status s = hsm_->NotifyRequestFinish(vm_, v);
    if (v >= vcpu_num_ && s.ok()) {
      return absl::InternalError(absl::StrFormat(
          "a finish for vCPU %u of a %u-vCPU VM was accepted", v, vcpu_num_));
    }
    const bool wild = v < vcpu_num_ && shadow_->slot(v).wild;
    const bool expected = shadow_->NotifyFinish(v);
    if (!wild && s.ok() != expected) {
      return absl::InternalError(absl::StrFormat(
          "finish for vCPU %u answered %s; the rules say %s", v, s.ToString(),
          expected ? "accept" : "refuse"));
    }
    return absl::OkStatus();
  });
}

absl::Status Lockstep::CreateClient(bool is_default) {
  if (!is_default && clients_.size() >= kMaxClients) return absl::OkStatus();
  return Step("create client", true, [&]() -> absl::Status {
    const uint64_t salt = next_salt_++;
    if (is_default) {
      absl::StatusOr<ClientId> id = hsm_->CreateClient(vm_, "dm", nullptr, true);
      if (id.ok() == default_.has_value()) {
        return absl::InternalError(absl::StrFormat(
            "a second default client: %s", id.status().ToString()));
      }
      if (!id.ok()) return absl::OkStatus();
      default_ = *id;
      default_salt_ = salt;
      shadow_->CreateClient(*id, true, salt);
      return absl::OkStatus();
    }
    absl::StatusOr<ClientId> id = hsm_->CreateClient(
        vm_, "c",
        [salt](IoAccess& a) {
          a.value = ClientAnswer(salt, a);
          return absl::OkStatus();
        },
        false);
    if (!id.ok()) return id.status();
    clients_.push_back(*id);
    shadow_->CreateClient(*id, false, salt);
    return absl::OkStatus();
  });
}

absl::Status Lockstep::DestroyClient(bool the_default, size_t index) {
  std::optional<ClientId> id;
  if (the_default || clients_.empty()) {
    id = default_;
    if (id) default_.reset();
  } else {
    const size_t i = index % clients_.size();
    id = clients_[i];
    clients_.erase(clients_.begin() + static_cast<long>(i));
  }
  if (!id) return absl::OkStatus();
  return Step("destroy client", true, [&] {
    shadow_->DestroyClient(*id);
    return hsm_->DestroyClient(*id);
  });
}

absl::Status Lockstep::AddRange(size_t index, const IoRange& range) {
  if (clients_.empty()) return absl::OkStatus();
  const ClientId id = clients_[index % clients_.size()];
  return Step("add range", true, [&]() -> absl::Status {
    const absl::Status s = hsm_->AddRange(id, range.type, range.start, range.end);
    if (s.ok() != (range.end >= range.start)) {
      return absl::InternalError(absl::StrFormat(
          "range [0x%x, 0x%x] answered %s", range.start, range.end,
          s.ToString()));
    }
    if (s.ok()) shadow_->AddRange(id, range);
    return absl::OkStatus();
  });
}

absl::Status Lockstep::DelRange(size_t index, size_t range_index) {
  if (clients_.empty()) return absl::OkStatus();
  const ClientId id = clients_[index % clients_.size()];
  const ShadowHsm::Client* c = shadow_->FindClientById(id);
  if (c == nullptr || c->ranges.empty()) return absl::OkStatus();
  const IoRange range = c->ranges[range_index % c->ranges.size()];
  return Step("delete range", true, [&] {
    shadow_->DelRange(id, range);
    return hsm_->DelRange(id, range.type, range.start, range.end);
  });
}

absl::Status Lockstep::Clear() {
  return Step("clear", true, [&] {
    shadow_->Clear();
    return hsm_->ClearRequests(vm_);
  });
}

absl::Status Lockstep::Pause() {
  if (pauses_ >= 3) return absl::OkStatus();
  ++pauses_;
  return Step("pause", true, [&] {
    hsm_->Pause();
    shadow_->Pause();
    return absl::OkStatus();
  });
}

absl::Status Lockstep::Resume() {
  if (pauses_ == 0) return absl::OkStatus();
  --pauses_;
  return Step("resume", true, [&] {
    hsm_->Resume();
    shadow_->Resume();
    return absl::OkStatus();
  });
}

// --- The oracle ------------------------------------------------------------------

void Lockstep::Adopt() {
  const std::array<uint64_t, kIoRequestMax> done = Completions();
  for (uint32_t v = 0; v < vcpu_num_; ++v) {
    const IoRequest& slot = Slot(v);
    const bool was_wild = shadow_->slot(v).wild;
    shadow_->AdoptSlot(v, LoadStateRelaxed(slot), DecodeAccess(slot),
                       RequestValue(slot), LoadKernelHandledAcquire(slot),
                       RealHolder(v), done[v]);
    if (was_wild && !shadow_->slot(v).wild) {  // FREE again: counted afresh
      vcpu_[v].base = done[v];
      vcpu_[v].taken = 0;
    }
  }
  shadow_->AdoptLatch(Latch());
  shadow_->AdoptCounters(Counters());
}

absl::Status Lockstep::CheckInvariants(const char* name, bool hsm_step) {
  // No client holds a vCPU the VM lacks, no two clients one vCPU.
  uint32_t seen = 0;
  auto held = [&](const hsm_internal::ClientState& c) -> absl::Status {
    const uint32_t bits = c.pending.load(std::memory_order_relaxed);
    if (bits >> vcpu_num_) {
      return Diverged(name, absl::StrFormat(
          "client %u holds vCPU bits 0x%x of a %u-vCPU VM", c.id, bits,
          vcpu_num_));
    }
    if (bits & seen) {
      return Diverged(name, absl::StrFormat(
          "vCPU bits 0x%x are held by client %u and another", bits & seen,
          c.id));
    }
    seen |= bits;
    return absl::OkStatus();
  };
  for (const auto& c : vm_state_->clients) {
    if (absl::Status s = held(*c); !s.ok()) return s;
  }
  if (vm_state_->default_client) {
    if (absl::Status s = held(*vm_state_->default_client); !s.ok()) return s;
  }
  const std::array<uint64_t, kIoRequestMax> done = Completions();
  for (uint32_t v = 0; v < kIoRequestMax; ++v) {
    const IoRequest& slot = Slot(v);
    const uint32_t state = LoadStateRelaxed(slot);
    if (v >= vcpu_num_) {
      if (state != kStateFree || done[v] != 0) {
        return Diverged(name, absl::StrFormat(
            "slot %u of a %u-vCPU VM is %s", v, vcpu_num_, StateName(state)));
      }
      continue;
    }
    if (shadow_->slot(v).wild) continue;
    // In exactly one place: PROCESSING if and only if held.
    const std::optional<ClientId> holder = RealHolder(v);
    if ((state == kStateProcessing) != holder.has_value()) {
      return Diverged(name, absl::StrFormat(
          "vCPU %u's request is %s and held by %s", v, StateName(state),
          Holder(holder)));
    }
    // [kernel-handled] names the holder.
    if (holder) {
      const bool by_default = vm_state_->default_client &&
                              vm_state_->default_client->id == *holder;
      const uint32_t kh = LoadKernelHandledAcquire(slot);
      if (kh != (by_default ? 0u : 1u)) {
        return Diverged(name, absl::StrFormat(
            "vCPU %u held by %s client %u has kernel_handled %u", v,
            by_default ? "the default" : "in-process", *holder, kh));
      }
    }
    // Every completion is taken once or still waiting.
    const Vcpu& c = vcpu_[v];
    const uint64_t waiting = state == kStateComplete ? 1 : 0;
    if (done[v] - c.base != c.taken + waiting) {
      return Diverged(name, absl::StrFormat(
          "slot %u was made COMPLETE %u times; its vCPU took %u and %u waits",
          v, done[v] - c.base, c.taken, waiting));
    }
    // An HSM step moves a slot only forward through the HSM's states.
    const uint32_t was = before_[v];
    const bool legal = was == state ||
                       (was == kStatePending && state == kStateProcessing) ||
                       (was == kStatePending && state == kStateComplete) ||
                       (was == kStateProcessing && state == kStateComplete);
    if (hsm_step && !legal) {
      return Diverged(name, absl::StrFormat("vCPU %u moved %s -> %s", v,
                                            StateName(was), StateName(state)));
    }
  }
  return absl::OkStatus();
}

absl::Status Lockstep::Compare(const char* name) {
  const std::array<uint64_t, kIoRequestMax> done = Completions();
  for (uint32_t v = 0; v < vcpu_num_; ++v) {
    const IoRequest& slot = Slot(v);
    const ShadowHsm::Slot& want = shadow_->slot(v);
    const uint32_t state = LoadStateRelaxed(slot);
    if (state != want.state) {
      return Diverged(name, absl::StrFormat("vCPU %u is %s; the rules say %s",
                                            v, StateName(state),
                                            StateName(want.state)));
    }
    const std::optional<ClientId> holder = RealHolder(v);
    if (holder != want.holder) {
      return Diverged(name, absl::StrFormat(
          "vCPU %u is held by %s; the rules say %s", v, Holder(holder),
          Holder(want.holder)));
    }
    if (done[v] != want.completions) {
      return Diverged(name, absl::StrFormat(
          "slot %u was made COMPLETE %u times; the rules say %u", v, done[v],
          want.completions));
    }
    if (state == kStatePending || state == kStateProcessing) {
      // A configuration-port access converted in place [cf8cfc] names the
      // function and the register the latch said.
      const PciRequest& pci = slot.reqs.pci_request;
      const IoAccess& a = want.request;
      if (slot.type != a.type ||
          (a.type == kTypePciCfg &&
           (pci.reg != a.address || pci.bus != a.bus || pci.dev != a.dev ||
            pci.func != a.func))) {
        return Diverged(name, absl::StrFormat(
            "vCPU %u's request is type %u %02x:%02x.%x reg 0x%x; the rules "
            "say type %u %02x:%02x.%x reg 0x%x",
            v, slot.type, pci.bus, pci.dev, pci.func, pci.reg, a.type, a.bus,
            a.dev, a.func, a.address));
      }
    }
    // [kernel-handled] The direct topology's marks, in every slot (the
    // kernel's dispatcher writes the field only when it hands a request
    // over, which the invariants check).
    if (topology_ == Topology::kDirect &&
        LoadKernelHandledAcquire(slot) != want.kernel_handled) {
      return Diverged(name, absl::StrFormat(
          "vCPU %u's slot (%s) has kernel_handled %u; the rules say %u", v,
          StateName(state), LoadKernelHandledAcquire(slot),
          want.kernel_handled));
    }
    if (state == kStateComplete && want.read && RequestValue(slot) != want.value) {
      return Diverged(name, absl::StrFormat(
          "vCPU %u completed with value 0x%x; the rules say 0x%x", v,
          RequestValue(slot), want.value));
    }
  }
  for (const ShadowHsm::Client& c : shadow_->clients()) {
    absl::StatusOr<uint32_t> bits = hsm_->PendingBitmap(c.id);
    if (!bits.ok() || *bits != c.held) {
      return Diverged(name, absl::StrFormat(
          "client %u holds 0x%x; the rules say 0x%x", c.id,
          bits.ok() ? *bits : 0, c.held));
    }
  }
  if (Latch() != shadow_->latch()) {
    return Diverged(name, absl::StrFormat("latch 0x%x; the rules say 0x%x",
                                          Latch(), shadow_->latch()));
  }
  const HsmStats real = Counters();
  const HsmStats& want = shadow_->counters();
#define IOREQ_LOCKSTEP_COMPARE(counter)                                   \
  if (real.counter != want.counter) {                                      \
    return Diverged(name, absl::StrFormat(#counter " %u; the rules say %u", \
                                          real.counter, want.counter));    \
  }
  IOREQ_LOCKSTEP_COMPARE(dispatched)
  IOREQ_LOCKSTEP_COMPARE(completed)
  IOREQ_LOCKSTEP_COMPARE(cf8cfc_in_place)
  IOREQ_LOCKSTEP_COMPARE(cf8cfc_converted)
  IOREQ_LOCKSTEP_COMPARE(completed_while_clearing)
  IOREQ_LOCKSTEP_COMPARE(forced_by_clear)
  IOREQ_LOCKSTEP_COMPARE(rejected_invalid)
  IOREQ_LOCKSTEP_COMPARE(no_client)
  IOREQ_LOCKSTEP_COMPARE(handed_over_on_destroy)
  IOREQ_LOCKSTEP_COMPARE(completed_on_destroy)
  IOREQ_LOCKSTEP_COMPARE(left_to_default)
#undef IOREQ_LOCKSTEP_COMPARE
  return absl::OkStatus();
}

absl::Status Lockstep::Check() {
  const bool predictable = !shadow_->AnyWild();
  if (!predictable) Adopt();
  absl::Status s = CheckInvariants("check", false);
  if (s.ok() && predictable) s = Compare("check");
  return s;
}

// --- Restart ---------------------------------------------------------------------

void Lockstep::Restart() {
  while (pauses_ > 0) {
    hsm_->Resume();
    --pauses_;
  }
  // Every client goes: what they hold is handed over or answered.
  for (ClientId id : clients_) hsm_->DestroyClient(id).IgnoreError();
  clients_.clear();
  if (default_) hsm_->DestroyClient(*default_).IgnoreError();
  default_.reset();
  hsm_->ClearRequests(vm_).IgnoreError();  // what is PENDING completes
  for (uint32_t v = 0; v < vcpu_num_; ++v) {
    Vcpu& c = vcpu_[v];
    if (!c.in_flight) continue;
    if ((c.handled_in_hypervisor ||
         LoadStateAcquire(Slot(v)) == kStateComplete) &&
        hv_->WaitForCompletion(vm_, v, absl::ZeroDuration()).ok()) {
      continue;
    }
    hv_->AbandonRequest(vm_, v).IgnoreError();  // garbage stranded it
  }
  hsm_->ResetVm(vm_).IgnoreError();  // every slot FREE and zero
  vm_state_->pci_config_address = 0;
  if (AcrnVpci* vpci = hv_->vpci(vm_)) {
    vpci->Filter(PortWrite(0xCF8, 4, 0));  // its latch back to 0
  }
  for (uint32_t v = 0; v < kIoRequestMax; ++v) {
    completions_base_[v] =
        vm_state_->slot_completions[v].value.load(std::memory_order_relaxed);
    vcpu_[v] = Vcpu();
  }
  counters_base_ = HsmTestPeer::Context(*hsm_).counters.Snapshot();
  next_salt_ = 1;
  default_salt_ = 0;
  shadow_ = std::make_unique<ShadowHsm>(topology_, profile_, vcpu_num_,
                                        &Lockstep::ClientAnswer);
}

}  // namespace ioreq
