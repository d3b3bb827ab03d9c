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
// Guarded by VmState::clients_mu, like the index whose answers it keeps.
//
// Example (clients_mu held):
//   ClientState* owner;
//   const uint64_t gen = vm.range_index.generation();
//   if (!vm.route_memo.Find(gen, type, addr, size, &owner)) {
//     owner = LookUp(...);  // null: the default client
//     vm.route_memo.Remember(gen, type, addr, size, owner);
//   }
#ifndef IOREQ_CORE_HSM_INTERNAL_ROUTE_MEMO_H_
#define IOREQ_CORE_HSM_INTERNAL_ROUTE_MEMO_H_

#include <array>
#include <cstddef>
#include <cstdint>

namespace ioreq {
namespace hsm_internal {

struct ClientState;

class RouteMemo {
 public:
  static constexpr size_t kEntries = 16;  // a power of two

  // True, with `*owner` set (null: the default client), if this access was
  // remembered under `generation`.
  bool Find(uint64_t generation, uint32_t type, uint64_t addr, uint64_t size,
            ClientState** owner) {
    const Entry& e = entries_[Slot(type, addr)];
    if (e.generation != generation || e.addr != addr || e.size != size ||
        e.type != type) {
      ++misses_;
      return false;
    }
    ++hits_;
    *owner = e.owner;
    return true;
  }

  void Remember(uint64_t generation, uint32_t type, uint64_t addr,
                uint64_t size, ClientState* owner) {
    entries_[Slot(type, addr)] = Entry{generation, addr, size, owner, type};
  }

  // Lookups answered, and not answered, from the memo (statistics, tests).
  uint64_t hits() const { return hits_; }
  uint64_t misses() const { return misses_; }

 private:
  // Fibonacci hashing: the top bits of the product mix every address bit,
  // so neighbouring registers of one device take different entries.
  static size_t Slot(uint32_t type, uint64_t addr) {
    static_assert((kEntries & (kEntries - 1)) == 0, "kEntries: a power of two");
    constexpr int kShift = 64 - __builtin_ctzll(kEntries);
    return static_cast<size_t>(((addr ^ type) * 0x9E3779B97F4A7C15ull) >>
                               kShift);
  }

  struct Entry {
    uint64_t generation = 0;  // RangeIndex generations start at 1: empty
    uint64_t addr = 0;
    uint64_t size = 0;
    ClientState* owner = nullptr;
    uint32_t type = 0;
  };
  std::array<Entry, kEntries> entries_{};
  uint64_t hits_ = 0;
  uint64_t misses_ = 0;
};

}  // namespace hsm_internal
}  // namespace ioreq

#endif  // IOREQ_CORE_HSM_INTERNAL_ROUTE_MEMO_H_
