// dispatch_ops (over 400 lines: the operation stream, its reference of the
// routing rules and its oracle are one target and read together): an
// operation stream driving one VM through hypervisor
// inserts, raw writes of arbitrary bytes into slot fields (state bytes
// included), dispatch passes, client and device-model completions, range
// add and delete, client create and destroy, clear, pause and resume, and
// VM reset. The model runs by hand (no threads), so the oracle can look
// after every step:
//   - a reference of SPEC's routing (clients newest first, whole access
//     inside a range, PCICFG and 0xCF8/0xCFC to the default client) says
//     which client's bitmap each newly PROCESSING request must be in;
//   - the HSM side makes only legal moves: PENDING -> PROCESSING,
//     PENDING -> COMPLETE, PROCESSING -> COMPLETE;
//   - a slot that was not PENDING is never dispatched;
//   - every completion the HSM published is taken by its vCPU exactly once;
//   - a read routed to a client returns that client's value.
// Slots the input wrote garbage into are exempt until their vCPU's next
// insert. Both topologies: in the direct one the clients claim when they are
// served (the routing check then applies only to the kernel topology).
// Framing: FuzzedDataProvider; one opcode byte per operation.
#include <fuzzer/FuzzedDataProvider.h>

#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "core/abi/abi.h"
#include "core/hsm/cf8cfc.h"
#include "core/hsm/hsm.h"
#include "core/harness/system.h"
#include "core/abi/slot_decode.h"
#include "core/abi/slot_state.h"
#include "fuzz/fuzz_check.h"

namespace {

using namespace ioreq;

uint64_t ClientValue(uint64_t client, uint64_t addr) {
  return (client * 0x9E3779B97F4A7C15ull) ^ (addr * 0xC2B2AE3D27D4EB4Full);
}

struct RefClient {
  ClientId id;
  std::vector<IoRange> ranges;
};

struct Vcpu {
  bool in_flight = false;
  bool tainted = false;  // garbage was written into its slot
  bool special = false;  // clear, destroy or reset may answer it
  IoAccess access;
  std::optional<uint64_t> expected;  // the read value its owner returns
};

class OpsTarget {
 public:
  OpsTarget(uint32_t vcpus, Topology topology)
      : vcpus_(vcpus), direct_(topology == Topology::kDirect),
        hsm_(&hv_, Options(topology)) {
    absl::StatusOr<uint16_t> vm = CreateWiredVm(hv_, hsm_, vcpus);
    FUZZ_CHECK(vm.ok(), "CreateWiredVm");
    vm_ = *vm;
    page_ = hv_.shared_page(vm_);
    state_.assign(kIoRequestMax, kStateFree);
    vcpu_.resize(vcpus);
  }

  static HsmOptions Options(Topology topology) {
    HsmOptions o;
    o.topology = topology;
    o.run_threads = false;
    o.check_range_index = true;
    o.clear_drain_timeout = absl::ZeroDuration();
    return o;
  }

  IoRequest& Slot(uint32_t v) { return page_->slots[v]; }

  void Run(FuzzedDataProvider& in) {
    while (in.remaining_bytes() > 0) {
      Snapshot();
      const uint64_t dispatched_before = hsm_.stats().dispatched;
      const int pending_before = CountState(kStatePending);
      const bool hsm_op = Step(in);
      if (hsm_op) CheckMoves();
      if (last_op_dispatch_) {
        const uint64_t dispatched = hsm_.stats().dispatched - dispatched_before;
        FUZZ_CHECK(dispatched <= static_cast<uint64_t>(pending_before) + Tainted(),
                   "%llu dispatched from %d PENDING slots",
                   (unsigned long long)dispatched, pending_before);
        CheckRouting();
      }
      CheckBitmaps();
      CheckCompletionBalance();
    }
  }

 private:
  // Returns true when the step was an HSM operation (whose moves are
  // checked), false for the hypervisor's own.
  bool Step(FuzzedDataProvider& in) {
    last_op_dispatch_ = false;
    last_op_reset_ = false;
    switch (in.ConsumeIntegralInRange<int>(0, 15)) {
      case 0: case 1: Insert(in); return false;
      case 2: Garbage(in); return false;
      case 3: case 4:
        hsm_.Dispatch();
        last_op_dispatch_ = true;
        return true;
      case 5: Serve(in); return true;
      case 6: ServeDefault(); return true;
      case 7: {
        MarkSpecial();  // the device model may finish a request unanswered
        // Any u32, near the vCPU range or far beyond it.
        const uint32_t v = in.ConsumeBool() ? in.ConsumeIntegralInRange<uint32_t>(0, 17)
                                            : in.ConsumeIntegral<uint32_t>();
        const absl::Status s = hsm_.NotifyRequestFinish(vm_, v);
        if (v >= vcpus_) FUZZ_CHECK(!s.ok(), "vCPU %u accepted", v);
        return true;
      }
      case 8: AddRange(in); return true;
      case 9: DelRange(in); return true;
      case 10: CreateClient(in); return true;
      case 11: DestroyClient(in); return true;
      case 12:
        MarkSpecial();
        FUZZ_CHECK(hsm_.ClearRequests(vm_).ok(), "clear");
        return true;
      case 13:
        if (pauses_ < 3 && in.ConsumeBool()) {
          hsm_.Pause();
          ++pauses_;
        } else if (pauses_ > 0) {
          hsm_.Resume();
          --pauses_;
          last_op_dispatch_ = pauses_ == 0;
        }
        return true;
      case 14: Take(in); return false;
      default:
        last_op_reset_ = Reset();
        return true;
    }
  }

  void Insert(FuzzedDataProvider& in) {
    const uint32_t v = in.ConsumeIntegralInRange<uint32_t>(0, vcpus_ - 1);
    IoAccess a;
    switch (in.ConsumeIntegralInRange<int>(0, 3)) {
      case 0:
        a = in.ConsumeBool() ? MmioRead(0x1000 + in.ConsumeIntegralInRange<uint64_t>(0, 0x300), 4)
                             : MmioWrite(0x1000 + in.ConsumeIntegralInRange<uint64_t>(0, 0x300), 4, 7);
        break;
      case 1:
        a = PortRead(in.ConsumeIntegralInRange<uint64_t>(0x3F0, 0x400), 1);
        break;
      case 2:
        a = in.ConsumeBool()
                ? PortWrite(0xCF8, 4, in.ConsumeBool() ? 0x80001800u : 0x00001800u)
                : PortRead(in.ConsumeIntegralInRange<uint64_t>(0xCFC, 0xCFF), 1);
        break;
      default:
        a.type = kTypePciCfg;
        a.size = 4;
        a.address = in.ConsumeIntegralInRange<uint64_t>(0, 0x40) & ~3ull;
        break;
    }
    const bool polling = in.ConsumeBool();
    const bool was_free = LoadStateAcquire(Slot(v)) == kStateFree;
    if (vcpu_[v].in_flight && !vcpu_[v].tainted) return;  // one in flight
    const absl::Status s = hv_.InsertRequest(vm_, v, a, polling);
    FUZZ_CHECK(s.ok() == was_free, "insert into a %s slot: %s",
               StateName(state_[v]), s.ToString().c_str());
    if (s.ok()) {
      vcpu_[v] = Vcpu();
      vcpu_[v].in_flight = true;
      vcpu_[v].access = a;
      state_[v] = kStatePending;
    }
  }

  void Garbage(FuzzedDataProvider& in) {
    const uint32_t v = in.ConsumeIntegralInRange<uint32_t>(0, vcpus_ - 1);
    const size_t offset = in.ConsumeIntegralInRange<size_t>(0, sizeof(IoRequest) - 1);
    const std::string bytes = in.ConsumeBytesAsString(
        in.ConsumeIntegralInRange<size_t>(1, 8));
    const size_t n = std::min(bytes.size(), sizeof(IoRequest) - offset);
    std::memcpy(reinterpret_cast<char*>(&Slot(v)) + offset, bytes.data(), n);
    vcpu_[v].tainted = true;
  }

  void Serve(FuzzedDataProvider& in) {
    if (clients_.empty()) return;
    const RefClient& c = clients_[in.ConsumeIntegralInRange<size_t>(0, clients_.size() - 1)];
    hsm_.ServeClient(c.id).IgnoreError();
  }

  void ServeDefault() {
    if (!default_) return;
    FUZZ_CHECK(hsm_.ServeDefaultRequests(*default_, [](IoAccess& access) {
      access.value = ClientValue(0, access.address);
      return absl::OkStatus();
    }).ok(), "ServeDefaultRequests");
  }

  void AddRange(FuzzedDataProvider& in) {
    if (clients_.empty()) return;
    RefClient& c = clients_[in.ConsumeIntegralInRange<size_t>(0, clients_.size() - 1)];
    const bool pio = in.ConsumeBool();
    const uint64_t start = pio ? in.ConsumeIntegralInRange<uint64_t>(0x3F0, 0x400)
                               : 0x1000 + in.ConsumeIntegralInRange<uint64_t>(0, 0x300);
    const uint64_t end = start + in.ConsumeIntegralInRange<uint64_t>(0, 0x40) - 1;
    const absl::Status s = hsm_.AddRange(c.id, pio ? kTypePortIo : kTypeMmio, start, end);
    FUZZ_CHECK(s.ok() == (end >= start), "range add: %s", s.ToString().c_str());
    if (s.ok()) c.ranges.insert(c.ranges.begin(), {pio ? kTypePortIo : kTypeMmio, start, end});
  }

  void DelRange(FuzzedDataProvider& in) {
    if (clients_.empty()) return;
    RefClient& c = clients_[in.ConsumeIntegralInRange<size_t>(0, clients_.size() - 1)];
    if (c.ranges.empty()) return;
    const size_t i = in.ConsumeIntegralInRange<size_t>(0, c.ranges.size() - 1);
    const IoRange r = c.ranges[i];
    FUZZ_CHECK(hsm_.DelRange(c.id, r.type, r.start, r.end).ok(), "range del");
    for (auto it = c.ranges.begin(); it != c.ranges.end(); ++it) {
      if (*it == r) {
        c.ranges.erase(it);
        break;
      }
    }
  }

  void CreateClient(FuzzedDataProvider& in) {
    if (in.ConsumeBool()) {
      absl::StatusOr<ClientId> id = hsm_.CreateClient(vm_, "dm", nullptr, true);
      FUZZ_CHECK(id.ok() == !default_.has_value(), "default client create");
      if (id.ok()) default_ = *id;
      return;
    }
    if (clients_.size() >= 4) return;
    const size_t index = clients_.size();
    absl::StatusOr<ClientId> id = hsm_.CreateClient(
        vm_, "c", [this, index](IoAccess& access) {
          access.value = ClientValue(value_ids_[index], access.address);
          return absl::OkStatus();
        }, false);
    FUZZ_CHECK(id.ok(), "client create");
    if (value_ids_.size() <= index) value_ids_.resize(index + 1);
    value_ids_[index] = *id;
    clients_.push_back(RefClient{*id, {}});
  }

  void DestroyClient(FuzzedDataProvider& in) {
    MarkSpecial();
    if (default_ && (clients_.empty() || in.ConsumeBool())) {
      FUZZ_CHECK(hsm_.DestroyClient(*default_).ok(), "default destroy");
      default_.reset();
      return;
    }
    if (clients_.empty()) return;
    const size_t i = clients_.size() - 1;  // handlers index by position
    FUZZ_CHECK(hsm_.DestroyClient(clients_[i].id).ok(), "client destroy");
    clients_.pop_back();
  }

  void Take(FuzzedDataProvider& in) {
    const uint32_t v = in.ConsumeIntegralInRange<uint32_t>(0, vcpus_ - 1);
    Vcpu& c = vcpu_[v];
    if (!c.in_flight || LoadStateAcquire(Slot(v)) != kStateComplete) return;
    absl::StatusOr<uint64_t> got = hv_.WaitForCompletion(vm_, v, absl::ZeroDuration());
    FUZZ_CHECK(got.ok() || c.tainted, "a COMPLETE request was not taken: %s",
               got.status().ToString().c_str());
    if (got.ok() && !c.tainted && !c.special && c.expected) {
      FUZZ_CHECK(*got == (*c.expected & SizeMask(c.access.size)),
                 "vCPU %u read 0x%llx, its owner answers 0x%llx", v,
                 (unsigned long long)*got, (unsigned long long)*c.expected);
    }
    ++taken_;
    c.in_flight = false;
    state_[v] = LoadStateRelaxed(Slot(v));
  }

  bool Reset() {
    for (uint32_t v = 0; v < vcpus_; ++v) {
      if (vcpu_[v].in_flight) return false;  // a reset waits for in-flight vCPUs
    }
    FUZZ_CHECK(hsm_.ResetVm(vm_).ok(), "reset");
    for (uint32_t v = 0; v < kIoRequestMax; ++v) {
      FUZZ_CHECK(LoadStateAcquire(Slot(v)) == kStateFree, "slot %u not FREE after reset", v);
      if (v < vcpus_) vcpu_[v] = Vcpu();
    }
    return true;
  }

  void MarkSpecial() {
    for (Vcpu& c : vcpu_) if (c.in_flight) c.special = true;
  }

  // --- the oracle ----------------------------------------------------------

  void Snapshot() {
    for (uint32_t v = 0; v < vcpus_; ++v) state_[v] = LoadStateRelaxed(Slot(v));
  }

  int CountState(uint32_t s) const {
    int n = 0;
    for (uint32_t v = 0; v < vcpus_; ++v) n += state_[v] == s && !vcpu_[v].tainted;
    return n;
  }

  uint64_t Tainted() const {
    uint64_t n = 0;
    for (const Vcpu& c : vcpu_) n += c.tainted;
    return n;
  }

  void CheckMoves() {
    for (uint32_t v = 0; v < vcpus_; ++v) {
      if (vcpu_[v].tainted) continue;
      const uint32_t before = state_[v];
      const uint32_t after = LoadStateRelaxed(Slot(v));
      const bool legal = before == after ||
                         (before == kStatePending && after == kStateProcessing) ||
                         (before == kStatePending && after == kStateComplete) ||
                         (before == kStateProcessing && after == kStateComplete) ||
                         (after == kStateFree && before == kStateFree);
      const bool reset = last_op_reset_ && after == kStateFree;
      FUZZ_CHECK(legal || reset, "vCPU %u moved %s -> %s", v, StateName(before),
                 StateName(after));
    }
  }

  // The reference routing of SPEC [find-client].
  std::optional<ClientId> ReferenceOwner(const IoRequest& req) const {
    if (req.type == kTypePciCfg) return default_;
    const IoAccess a = DecodeAccess(req);
    for (auto it = clients_.rbegin(); it != clients_.rend(); ++it) {  // newest first
      for (const IoRange& r : it->ranges) {
        if (r.type == a.type && a.address >= r.start && a.address + a.size - 1 <= r.end) {
          return it->id;
        }
      }
    }
    return default_;
  }

  void CheckRouting() {
    if (direct_) return;  // no dispatcher: clients claim when served
    for (uint32_t v = 0; v < vcpus_; ++v) {
      Vcpu& c = vcpu_[v];
      if (c.tainted || state_[v] != kStatePending) continue;
      if (LoadStateRelaxed(Slot(v)) != kStateProcessing) continue;
      const std::optional<ClientId> owner = ReferenceOwner(Slot(v));
      FUZZ_CHECK(owner.has_value(), "vCPU %u dispatched with no client at all", v);
      absl::StatusOr<uint32_t> bits = hsm_.PendingBitmap(*owner);
      FUZZ_CHECK(bits.ok() && (*bits & (1u << v)),
                 "vCPU %u's request is not in client %llu's bitmap", v,
                 (unsigned long long)*owner);
      if (c.access.direction == kDirRead && Slot(v).type != kTypePciCfg) {
        c.expected = ClientValue(*owner == default_.value_or(~0ull) ? 0 : *owner,
                                 c.access.address);
      }
    }
  }

  void CheckBitmaps() {
    uint32_t seen = 0;
    std::vector<ClientId> ids;
    for (const RefClient& c : clients_) ids.push_back(c.id);
    if (default_) ids.push_back(*default_);
    for (ClientId id : ids) {
      const uint32_t bits = *hsm_.PendingBitmap(id);
      FUZZ_CHECK((bits & seen) == 0, "a vCPU's request is held by two clients");
      seen |= bits;
      for (uint32_t v = 0; v < kIoRequestMax; ++v) {
        if (!(bits & (1u << v))) continue;
        FUZZ_CHECK(v < vcpus_, "bit %u beyond vcpu_num", v);
        FUZZ_CHECK(vcpu_[v].tainted || LoadStateRelaxed(Slot(v)) == kStateProcessing,
                   "client holds vCPU %u whose slot is %s", v,
                   StateName(LoadStateRelaxed(Slot(v))));
      }
    }
  }

  // Every completion the HSM published is either taken by its vCPU or still
  // waiting in a COMPLETE slot. Garbage breaks the count; it restarts from
  // the first step with no garbage left.
  void CheckCompletionBalance() {
    const uint64_t published = hsm_.stats().completed;
    uint64_t complete_now = 0;
    for (uint32_t v = 0; v < vcpus_; ++v) {
      complete_now += LoadStateRelaxed(Slot(v)) == kStateComplete;
    }
    if (Tainted() != 0) {
      rebase_ = true;
      return;
    }
    if (rebase_) {
      base_ = published - taken_ - complete_now;
      rebase_ = false;
    }
    FUZZ_CHECK(published - base_ == taken_ + complete_now,
               "HSM completed %llu, vCPUs took %llu, %llu waiting: a completion "
               "was lost or doubled",
               (unsigned long long)published, (unsigned long long)taken_,
               (unsigned long long)complete_now);
  }

  const uint32_t vcpus_;
  const bool direct_;
  EmulatedHypervisor hv_;
  Hsm hsm_;
  uint16_t vm_ = 0;
  SharedPage* page_ = nullptr;
  std::vector<uint32_t> state_;
  std::vector<Vcpu> vcpu_;
  std::vector<RefClient> clients_;  // oldest first
  std::vector<ClientId> value_ids_;  // the id of the client at each position
  std::optional<ClientId> default_;
  uint64_t taken_ = 0;
  int pauses_ = 0;
  bool last_op_dispatch_ = false;
  bool last_op_reset_ = false;
  bool rebase_ = false;
  uint64_t base_ = 0;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider in(data, size);
  const uint32_t vcpus = in.ConsumeIntegralInRange<uint32_t>(1, kIoRequestMax);
  OpsTarget harness(vcpus, in.ConsumeBool() ? Topology::kDirect : Topology::kKernel);
  harness.Run(in);
  return 0;
}
