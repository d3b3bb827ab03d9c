// core/hsm/posted_writes.h: the HSM's half of posted writes [posted].
//
// ACRN's asyncio: a guest write whose (type, address[, data]) matches a
// registered descriptor is not given a slot. The hypervisor puts the
// descriptor's cookie into the VM's posted ring (core/abi/posted_ring.h),
// fires the upcall and lets the vCPU run on; the HSM drains the ring and
// signals each cookie's eventfd. PostedWrites is one VM's table of
// descriptors (cookie -> eventfd) and the drain. It is the fourth way a
// request is carried, beside kernel dispatch, direct claims and ioeventfd;
// unlike ioeventfd it costs the vCPU no slot and no wait.
//
// Every cookie and index the ring holds is input from the hypervisor: a
// cookie no descriptor has is counted and dropped, a ring whose header is
// not sane is counted and not read.
//
// Example:
//   ioreq::PostedWrites posted;
//   posted.SetRing(&ring);
//   uint64_t cookie = *posted.Assign(args);       // then tell the hypervisor
//   ioreq::PostedWrites::Drained d = posted.Drain();  // after an upcall
#ifndef IOREQ_CORE_HSM_POSTED_WRITES_H_
#define IOREQ_CORE_HSM_POSTED_WRITES_H_

#include <atomic>
#include <cstdint>
#include <mutex>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "core/abi/posted_ring.h"
#include "core/hsm/ioeventfd.h"

namespace ioreq {

// What the harness registers (ACRN_IOCTL_ASSIGN_ASYNCIO's fields).
struct PostedArgs {
  uint32_t type = 1;        // kTypePortIo or kTypeMmio
  uint64_t address = 0;     // 0 is refused, as ACRN's add_asyncio() does
  bool match_data = false;  // else any value matches
  uint64_t data = 0;
  uint32_t fd = 0;          // an eventfd
};

class PostedWrites {
 public:
  PostedWrites() = default;
  ~PostedWrites();  // closes the descriptors it holds
  PostedWrites(const PostedWrites&) = delete;
  PostedWrites& operator=(const PostedWrites&) = delete;

  // The VM's ring; null detaches it.
  void SetRing(PostedRing* ring);
  bool has_ring() const { return ring_.load(std::memory_order_acquire) != nullptr; }

  // Checks and records a descriptor; returns its cookie (never 0), which the
  // hypervisor puts into the ring. InvalidArgument for a bad type, address
  // 0, or an fd that is not an eventfd; AlreadyExists for the same (type,
  // address, data) twice; ResourceExhausted where the process has no
  // descriptor left for the table's copy of the fd.
  absl::StatusOr<uint64_t> Assign(const PostedArgs& args);
  // NotFound for an unknown cookie.
  absl::Status Deassign(uint64_t cookie);

  struct Drained {
    uint32_t signaled = 0;
    uint32_t unknown = 0;  // cookies no descriptor has
    bool corrupt = false;  // the ring's header was not sane: nothing read
  };
  // Whether Drain() has anything to do: a ring whose indices differ. Inline
  // and lock-free, since every upcall and claim scan asks: a call to
  // Drain() that returns its empty result costs more than the question
  // (the result is built in memory and read back).
  bool HasEntries() const {
    // Pairs with the release store in SetRing().
    const PostedRing* ring = ring_.load(std::memory_order_acquire);
    // Relaxed: DrainPosted() takes the acquire that matters.
    return ring != nullptr &&
           __atomic_load_n(&ring->header.head, __ATOMIC_RELAXED) !=
               __atomic_load_n(&ring->header.tail, __ATOMIC_RELAXED);
  }
  // Drains the ring, signalling each entry's eventfd. One drainer at a
  // time; cheap when the ring is empty (no lock is taken).
  Drained Drain();

 private:
  struct Descriptor {
    PostedArgs args;
    EventfdCopy signal;  // our copy, kept open while assigned
  };
  std::atomic<PostedRing*> ring_{nullptr};
  // Lock order: drain_mu_ before table_mu_ (Drain() looks cookies up).
  std::mutex drain_mu_;  // the ring has one consumer
  mutable std::mutex table_mu_;
  absl::flat_hash_map<uint64_t, Descriptor> table_;  // guarded by table_mu_
  uint64_t next_cookie_ = 1;                         // guarded by table_mu_
};

}  // namespace ioreq

#endif  // IOREQ_CORE_HSM_POSTED_WRITES_H_
