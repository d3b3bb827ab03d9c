// core/hsm/internal/route_memo.h: a VM's last [find-client] answers, kept so
// that a device accessed again and again routes without a lookup.
//
// A guest's I/O in steady state goes to the same few registers: a UART's
// data port, a NIC's doorbell. FindClient() asks the RangeIndex (a btree
// walk: 17-86 ns for 1-4096 ranges on the AMD EPYC VM, RangeLookup in
// bench/ioreq_benchmark.cc) and then the VM's client map (a hash lookup),
// and the direct topology routes each request twice (its snapshot, then its
// claimed fields). The memo is a direct-mapped table keyed by the access
// (type, address, size) and stamped with RangeIndex::generation(): a range
// or client edit moves the generation and so forgets every entry at once,
// nothing is invalidated one by one. A hit is one multiply and four
// compares.
//
// An entry names the owning client, or null for "no range holds it, the
// default client": the default client is read from the VM at each hit, so
// attaching or detaching it needs no generation of its own. A client an
// entry names cannot be freed while the entry is current:
// Registry::DetachLocked() removes its ranges (RangeIndex::RemoveClient()
// moves the generation) before the VM lets it go.
//
// Written under VmState::clients_mu, like the index whose answers it keeps
// (Remember(), and Find() on the locked path). FindUncounted() is called
// without the lock, by a direct-topology upcall inside a shared pass of the
// PassGate: each entry is a sequence lock (every field an atomic, so a read
// torn by a concurrent Remember() is seen and counted a miss, never used),
// and a client an entry names cannot be freed during the pass (detaching
// pauses, which drains the gate).
//
// Example (clients_mu held; FindUncounted() also in a shared pass):
//   ClientState* owner;
//   const uint64_t gen = vm.range_index.generation();
//   if (!vm.route_memo.Find(gen, type, addr, size, &owner)) {
//     owner = LookUp(...);  // null: the default client; clients_mu held
//     vm.route_memo.Remember(gen, type, addr, size, owner);
//   }
#ifndef IOREQ_CORE_HSM_INTERNAL_ROUTE_MEMO_H_
#define IOREQ_CORE_HSM_INTERNAL_ROUTE_MEMO_H_

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>

namespace ioreq {
namespace hsm_internal {

struct ClientState;

// What Remember() calls once its entry is marked odd and its generation is
// written, before the rest of the entry: nothing. A test passes a type of
// its own to read the entry at that point (a torn read, made certain).
struct NoPauseInRemember {
  static void Pause() {}
};

template <typename PauseInRemember = NoPauseInRemember>
class BasicRouteMemo {
 public:
  static constexpr size_t kEntries = 16;  // a power of two

  // True, with `*owner` set (null: the default client), if this access was
  // remembered under `generation`; counted in hits() or misses().
  // VmState::clients_mu held.
  bool Find(uint64_t generation, uint32_t type, uint64_t addr, uint64_t size,
            ClientState** owner) {
    const bool hit = FindUncounted(generation, type, addr, size, owner);
    Bump(hit ? hits_ : misses_);
    return hit;
  }

  // The same, lock-free (see the header comment), and counted nowhere: the
  // counters' line would otherwise move between the vCPUs' CPUs and the
  // client's on every request (the direct upcall's look).
  bool FindUncounted(uint64_t generation, uint32_t type, uint64_t addr,
                     uint64_t size, ClientState** owner) const {
    const Entry& e = entries_[Slot(type, addr)];
    // Pairs with the release store that ends Remember()'s write: the fields
    // read below are at least that write's.
    const uint32_t seq = e.seq.load(std::memory_order_acquire);
    const bool hit =
        (seq & 1) == 0 &&
        e.generation.load(std::memory_order_relaxed) == generation &&
        e.addr.load(std::memory_order_relaxed) == addr &&
        e.size.load(std::memory_order_relaxed) == size &&
        e.type.load(std::memory_order_relaxed) == type;
    ClientState* const found = e.owner.load(std::memory_order_relaxed);
    // Orders the field loads above before the sequence's second load
    // (Boehm's seqlock reader); pairs with the release fence in Remember().
    std::atomic_thread_fence(std::memory_order_acquire);
    if (!hit || e.seq.load(std::memory_order_relaxed) != seq) return false;
    *owner = found;
    return true;
  }

  // VmState::clients_mu held: writers are serialised.
  void Remember(uint64_t generation, uint32_t type, uint64_t addr,
                uint64_t size, ClientState* owner) {
    Entry& e = entries_[Slot(type, addr)];
    const uint32_t seq = e.seq.load(std::memory_order_relaxed);
    e.seq.store(seq + 1, std::memory_order_relaxed);  // odd: being written
    // Orders the odd sequence before the field stores; pairs with the
    // acquire fence in Find(): a reader that saw any new field sees the
    // sequence move.
    std::atomic_thread_fence(std::memory_order_release);
    e.generation.store(generation, std::memory_order_relaxed);
    PauseInRemember::Pause();
    e.addr.store(addr, std::memory_order_relaxed);
    e.size.store(size, std::memory_order_relaxed);
    e.type.store(type, std::memory_order_relaxed);
    e.owner.store(owner, std::memory_order_relaxed);
    // Even again; pairs with the acquire load that begins Find().
    e.seq.store(seq + 2, std::memory_order_release);
  }

  // Find()'s lookups answered, and not answered, from the memo (statistics,
  // tests). Bumped under clients_mu; readable from any thread.
  uint64_t hits() const { return hits_.load(std::memory_order_relaxed); }
  uint64_t misses() const { return misses_.load(std::memory_order_relaxed); }

 private:
  // Fibonacci hashing: the top bits of the product mix every address bit,
  // so neighbouring registers of one device take different entries.
  static size_t Slot(uint32_t type, uint64_t addr) {
    static_assert((kEntries & (kEntries - 1)) == 0, "kEntries: a power of two");
    constexpr int kShift = 64 - __builtin_ctzll(kEntries);
    return static_cast<size_t>(((addr ^ type) * 0x9E3779B97F4A7C15ull) >>
                               kShift);
  }
  static void Bump(std::atomic<uint64_t>& count) {
    count.store(count.load(std::memory_order_relaxed) + 1,
                std::memory_order_relaxed);
  }

  struct Entry {
    std::atomic<uint32_t> seq{0};         // odd while Remember() writes
    std::atomic<uint32_t> type{0};
    std::atomic<uint64_t> generation{0};  // RangeIndex generations start at 1: empty
    std::atomic<uint64_t> addr{0};
    std::atomic<uint64_t> size{0};
    std::atomic<ClientState*> owner{nullptr};
  };
  std::array<Entry, kEntries> entries_{};
  std::atomic<uint64_t> hits_{0};
  std::atomic<uint64_t> misses_{0};
};

using RouteMemo = BasicRouteMemo<>;

}  // namespace hsm_internal
}  // namespace ioreq

#endif  // IOREQ_CORE_HSM_INTERNAL_ROUTE_MEMO_H_
