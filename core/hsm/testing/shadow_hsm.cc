#include "core/hsm/testing/shadow_hsm.h"

#include <utility>

namespace ioreq {
namespace {

constexpr uint64_t kConfigAddressPort = 0xCF8;
constexpr uint64_t kConfigDataPort = 0xCFC;
constexpr uint32_t kConfigEnable = 0x80000000u;
constexpr uint64_t kConfigSpaceSize = 0x1000;
constexpr uint64_t kAllOnes = ~uint64_t{0};  // what a read of nothing gives

// The value field's width [abi]: 64 bits for MMIO, 32 for the others.
uint64_t FieldWidth(uint32_t type, uint64_t value) {
  return type == kTypeMmio ? value : static_cast<uint32_t>(value);
}

bool IsConfigAddress(const IoAccess& a) {
  return a.type == kTypePortIo && a.address == kConfigAddressPort;
}

bool IsConfigData(const IoAccess& a) {
  return a.type == kTypePortIo && a.address >= kConfigDataPort &&
         a.address < kConfigDataPort + 4;
}

uint32_t Bit(uint32_t v) { return 1u << v; }

bool PioSize(uint64_t size) { return size == 1 || size == 2 || size == 4; }

// Section 7's validation, restated: what a request must be to be routed.
bool Valid(const IoAccess& a) {
  if (a.direction > kDirWrite) return false;
  switch (a.type) {
    case kTypePortIo:
      return PioSize(a.size) && a.address + a.size <= 0x10000;
    case kTypeMmio:
      return (PioSize(a.size) || a.size == 8) &&
             a.address + (a.size - 1) >= a.address;
    case kTypePciCfg:
      return PioSize(a.size) && a.bus <= 0xFF && a.dev <= 0x1F &&
             a.func <= 0x7 && a.address + a.size <= kConfigSpaceSize;
    default:
      return false;
  }
}

}  // namespace

ShadowHsm::ShadowHsm(Topology topology, Profile profile, uint32_t vcpu_num,
                     Answer answer)
    : topology_(topology),
      profile_(profile),
      vcpu_num_(vcpu_num),
      answer_(std::move(answer)) {}

// --- The hypervisor ----------------------------------------------------------

bool ShadowHsm::Insert(uint32_t vcpu, const IoAccess& access) {
  Slot& s = slots_[vcpu];
  if (s.state != kStateFree) return false;  // [hv-insert] only a FREE slot
  const uint64_t completions = s.completions;
  // [acrn-insert] ACRN's insert rewrites neither completion_polling (when
  // 0) nor kernel_handled: garbage there outlives the slot's FREE state.
  const bool wild = s.wild && profile_ == Profile::kAcrn;
  const uint32_t kernel_handled = s.kernel_handled;
  s = Slot();
  s.completions = completions;
  s.wild = wild;
  // Under `hardened` the insert marks the slot the kernel's.
  if (profile_ == Profile::kAcrn) s.kernel_handled = kernel_handled;
  s.state = kStatePending;
  s.request = access;
  s.value = FieldWidth(access.type, access.value);
  s.access_size = access.size;
  s.read = access.direction == kDirRead;
  return true;
}

std::optional<uint64_t> ShadowHsm::Take(uint32_t vcpu) {
  Slot& s = slots_[vcpu];
  if (s.state != kStateComplete) return std::nullopt;
  s.state = kStateFree;
  return s.read ? s.value & SizeMask(s.access_size) : 0;
}

void ShadowHsm::WriteKernelHandled(uint32_t vcpu, uint32_t value) {
  slots_[vcpu].kernel_handled = value;
}

void ShadowHsm::ResetSlots() {
  // The direct topology then marks every slot the kernel's (Slot()'s 1).
  for (Slot& s : slots_) {
    const uint64_t completions = s.completions;
    s = Slot();
    s.completions = completions;
  }
  for (Client& c : clients_) c.held = 0;
}

// --- Routing [dispatch] ---------------------------------------------------------

ShadowHsm::Client* ShadowHsm::FindClient(ClientId id) {
  for (Client& c : clients_) {
    if (c.id == id) return &c;
  }
  return nullptr;
}

const ShadowHsm::Client* ShadowHsm::FindClientById(ClientId id) const {
  for (const Client& c : clients_) {
    if (c.id == id) return &c;
  }
  return nullptr;
}

ShadowHsm::Client* ShadowHsm::DefaultClient() {
  for (Client& c : clients_) {
    if (c.is_default) return &c;
  }
  return nullptr;
}

ShadowHsm::Client* ShadowHsm::Owner(const IoAccess& a) {
  // [find-client] PCICFG never matches a range.
  if (a.type == kTypePciCfg) return DefaultClient();
  for (auto it = clients_.rbegin(); it != clients_.rend(); ++it) {  // newest
    if (it->is_default) continue;
    for (const IoRange& r : it->ranges) {
      if (r.type == a.type && a.address >= r.start &&
          a.address + a.size - 1 <= r.end) {
        return &*it;
      }
    }
  }
  return DefaultClient();
}

void ShadowHsm::Deliver(uint32_t v, Client& c) {
  Slot& s = slots_[v];
  s.state = kStateProcessing;
  s.holder = c.id;
  s.kernel_handled = c.is_default ? 0 : 1;  // [kernel-handled]
  c.held |= Bit(v);
  ++counters_.dispatched;
}

void ShadowHsm::Complete(uint32_t v) {
  // [complete]
  Slot& s = slots_[v];
  if (s.holder) {
    if (Client* c = FindClient(*s.holder)) {
      c->held &= ~Bit(v);
      // [kernel-handled] The direct topology ends the default client's
      // hold with the slot marked the kernel's again, before COMPLETE.
      if (c->is_default && topology_ == Topology::kDirect) {
        s.kernel_handled = 1;
      }
    }
    s.holder.reset();
  }
  s.state = kStateComplete;
  ++s.completions;
  ++counters_.completed;
}

void ShadowHsm::Route(uint32_t v, bool may_fold) {
  Slot& s = slots_[v];
  IoAccess& a = s.request;
  // 1. [clear] A VM being cleared completes its requests unemulated.
  if (clearing_) {
    ++counters_.completed_while_clearing;
    Complete(v);
    return;
  }
  // Not in the kernel: a request that fails validation is answered
  // all-ones before anything reads its address.
  if (!Valid(a)) {
    s.value = FieldWidth(a.type, kAllOnes);
    ++counters_.rejected_invalid;
    Complete(v);
    return;
  }
  // 2. [cf8cfc] The configuration ports, by whoever owns the latch.
  if (may_fold && IsConfigAddress(a)) {
    if (a.direction == kDirWrite) {
      latch_ = static_cast<uint32_t>(s.value);
    } else {
      s.value = latch_;
    }
    ++counters_.cf8cfc_in_place;
    Complete(v);
    return;
  }
  if (may_fold && IsConfigData(a)) {
    if ((latch_ & kConfigEnable) == 0) {
      if (a.direction == kDirRead) s.value = 0xFFFFFFFFu;
      ++counters_.cf8cfc_in_place;
      Complete(v);
      return;
    }
    const uint64_t port = a.address;
    a.type = kTypePciCfg;
    a.bus = (latch_ >> 16) & 0xFF;
    a.dev = (latch_ >> 11) & 0x1F;
    a.func = (latch_ >> 8) & 0x7;
    a.address = (latch_ & 0xFC) + ((latch_ >> 16) & 0xF00) +
                (port - kConfigDataPort);
    ++counters_.cf8cfc_converted;
    // A register the access runs past the end of is not routed: all-ones.
    if (!Valid(a)) {
      s.value = FieldWidth(a.type, kAllOnes);
      ++counters_.rejected_invalid;
      Complete(v);
      return;
    }
  }
  // 3. [find-client] To its client; with no client at all it stays PENDING.
  Client* owner = Owner(a);
  if (owner == nullptr) {
    ++counters_.no_client;
    return;
  }
  Deliver(v, *owner);
}

bool ShadowHsm::MayClaim(uint32_t v, const Client& c) {
  const IoAccess& a = slots_[v].request;
  // An invalid request is answered by the default client, or by whichever
  // client claims first. (A PCICFG request's register is not in what a
  // claimer reads before it owns the slot: it goes to the default client.)
  if (!Valid(a) && a.type != kTypePciCfg) {
    return DefaultClient() == nullptr || c.is_default;
  }
  // Only the default client takes the configuration ports: it owns the
  // latch, and folds them when it claims.
  if (IsConfigAddress(a) || IsConfigData(a)) return c.is_default;
  return Owner(a) == &c;
}

void ShadowHsm::Claim(Client& c, Pass pass) {
  for (uint32_t v = 0; v < vcpu_num_; ++v) {
    Slot& s = slots_[v];
    if (s.state != kStatePending) continue;
    // [kernel-handled] A slot not marked the kernel's is marked by the
    // default client's claim, whoever it routes to; another client's own
    // scan leaves its request there to the default client (which marks
    // it), and marks it itself only in a VM without one or in a pass for
    // every client.
    if (s.kernel_handled != 1) {
      if (c.is_default) {
        s.kernel_handled = 1;
      } else if (MayClaim(v, c)) {
        if (pass == Pass::kOwnScan && DefaultClient() != nullptr) {
          ++counters_.left_to_default;
          continue;
        }
        s.kernel_handled = 1;
      }
    }
    if (MayClaim(v, c)) Route(v, c.is_default);
  }
}

void ShadowHsm::Dispatch() {
  if (paused_ > 0) return;  // [pause]
  if (topology_ == Topology::kKernel) {
    // The dispatcher walks slots 0..vcpu_num-1 and owns the latch.
    for (uint32_t v = 0; v < vcpu_num_; ++v) {
      if (slots_[v].state == kStatePending) Route(v, /*may_fold=*/true);
    }
    return;
  }
  // Direct: every client claims what routes to it; only the default folds,
  // in vCPU order, as the dispatcher would. The VM's ioeventfd client is one
  // of them, and may be the only one.
  for (Client& c : clients_) Claim(c, Pass::kEveryClient);
  Claim(ioeventfd_, Pass::kEveryClient);
}

// --- Clients -------------------------------------------------------------------

void ShadowHsm::Serve(Client& c) {
  // [client-wait] Lowest vCPU first; the handler's answer, then COMPLETE.
  while (c.held != 0) {
    const uint32_t v = static_cast<uint32_t>(__builtin_ctz(c.held));
    Slot& s = slots_[v];
    s.value = FieldWidth(s.request.type, answer_(c.salt, s.request));
    Complete(v);
  }
}

void ShadowHsm::ServeClient(ClientId id) {
  Client* c = FindClient(id);
  if (c == nullptr || c->is_default) return;
  // The direct topology's clients claim before they serve; not while paused.
  if (topology_ == Topology::kDirect && paused_ == 0) Claim(*c, Pass::kOwnScan);
  Serve(*c);
}

void ShadowHsm::ServeDefault() {
  Client* d = DefaultClient();
  if (d == nullptr) return;
  // Under `hardened` the device model serves its pending bitmap, claiming
  // first in the direct topology. Under `acrn` [kernel-handled] it scans
  // for PROCESSING && !kernel_handled and claims nothing (its wait does);
  // what it finds is exactly what the default client holds.
  if (profile_ == Profile::kHardened && topology_ == Topology::kDirect &&
      paused_ == 0) {
    Claim(*d, Pass::kOwnScan);
  }
  Serve(*d);
}

bool ShadowHsm::NotifyFinish(uint32_t vcpu) {
  // [notify-finish] Only a request the default client holds; the value is
  // what the device model left in the slot.
  Client* d = DefaultClient();
  if (vcpu >= vcpu_num_ || d == nullptr || (d->held & Bit(vcpu)) == 0) {
    return false;
  }
  Complete(vcpu);
  return true;
}

void ShadowHsm::CreateClient(ClientId id, bool is_default, uint64_t salt) {
  Client c;
  c.id = id;
  c.is_default = is_default;
  c.salt = salt;
  clients_.push_back(std::move(c));
}

void ShadowHsm::DestroyClient(ClientId id) {
  Client* c = FindClient(id);
  if (c == nullptr) return;
  ++paused_;  // no routing pass sees the client go
  // [destroy] Nothing it holds is lost: an in-process client's requests go
  // to the default client (still PROCESSING); the default client's, or any
  // when there is none, complete all-ones.
  Client* d = c->is_default ? nullptr : DefaultClient();
  uint32_t held = c->held;
  c->held = 0;
  while (held != 0) {
    const uint32_t v = static_cast<uint32_t>(__builtin_ctz(held));
    held &= held - 1;
    Slot& s = slots_[v];
    if (d != nullptr) {
      s.holder = d->id;
      s.kernel_handled = 0;  // [kernel-handled] the device model's now
      d->held |= Bit(v);
      ++counters_.handed_over_on_destroy;
    } else {
      // Complete() lets go of the holder (the default client's hold ends
      // marked [kernel-handled]).
      s.value = FieldWidth(s.request.type, kAllOnes);
      Complete(v);
      ++counters_.completed_on_destroy;
    }
  }
  for (auto it = clients_.begin(); it != clients_.end(); ++it) {
    if (it->id == id) {
      clients_.erase(it);
      break;
    }
  }
  Resume();  // and route once, for an upcall missed meanwhile
}

void ShadowHsm::AddRange(ClientId id, const IoRange& range) {
  if (Client* c = FindClient(id)) c->ranges.push_back(range);
}

bool ShadowHsm::DelRange(ClientId id, const IoRange& range) {
  Client* c = FindClient(id);
  if (c == nullptr) return false;
  for (auto it = c->ranges.begin(); it != c->ranges.end(); ++it) {
    if (*it == range) {
      c->ranges.erase(it);
      return true;
    }
  }
  return false;
}

// --- Clear and pause [clear] [pause] ---------------------------------------------

void ShadowHsm::Clear() {
  clearing_ = true;
  // The model routes at once (not in the kernel, which waits for the next
  // upcall): every PENDING request completes unemulated. In the direct
  // topology some client always claims them (every VM has its ioeventfd
  // client). Not while routing is paused.
  // (The direct topology's pass for every client marks each slot it
  // claims the kernel's [kernel-handled].)
  if (paused_ == 0) {
    for (uint32_t v = 0; v < vcpu_num_; ++v) {
      if (slots_[v].state != kStatePending) continue;
      slots_[v].kernel_handled = 1;
      Route(v, /*may_fold=*/true);
    }
  }
  // In-process clients drain on their own threads within the clear's
  // window; what the default client still holds is completed as it is.
  if (Client* d = DefaultClient()) {
    uint32_t held = d->held;
    while (held != 0) {
      const uint32_t v = static_cast<uint32_t>(__builtin_ctz(held));
      held &= held - 1;
      Complete(v);
      ++counters_.forced_by_clear;
    }
  }
  clearing_ = false;
}

void ShadowHsm::Resume() {
  // Pauses nest; the last resume routes once.
  if (--paused_ == 0) Dispatch();
}

// --- Wild slots --------------------------------------------------------------------

bool ShadowHsm::AnyWild() const {
  for (uint32_t v = 0; v < vcpu_num_; ++v) {
    if (slots_[v].wild) return true;
  }
  return false;
}

void ShadowHsm::AdoptSlot(uint32_t vcpu, uint32_t state,
                          const IoAccess& request, uint64_t value,
                          uint32_t kernel_handled,
                          std::optional<ClientId> holder,
                          uint64_t completions) {
  Slot& s = slots_[vcpu];
  if (s.holder) {
    if (Client* c = FindClient(*s.holder)) c->held &= ~Bit(vcpu);
  }
  s.state = state;
  s.request = request;
  s.value = value;
  s.kernel_handled = kernel_handled;
  s.holder = holder;
  if (holder) {
    if (Client* c = FindClient(*holder)) c->held |= Bit(vcpu);
  }
  s.completions = completions;
  // Garbage that makes a held slot FREE leaves its holder's bit until the
  // holder serves and lets go (ownership lost): the slot is wild until then.
  if (state == kStateFree && !holder && profile_ == Profile::kHardened) {
    s.wild = false;
  }
}

}  // namespace ioreq
