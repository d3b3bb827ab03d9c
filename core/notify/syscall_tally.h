// core/notify/syscall_tally.h: the system calls every doorbell of this
// process made, by kind.
//
// A doorbell's own syscalls() counts wakes it asked for and sleeps it took.
// This tally counts the calls themselves, by what they are for, across the
// whole process, so that a benchmark can say per request how many of each
// its path needed, and how close that is to the floor (docs/performance.md,
// "System calls per request"):
//   wakes     a call that wakes a sleeper: FUTEX_WAKE, an eventfd write
//   sleeps    a call that blocks: FUTEX_WAIT, an eventfd read, io_uring_enter
//             waiting for a completion
//   submits   an io_uring_enter that submits wake messages (MSG_RING): one
//             call however many messages it carries
//   messages  MSG_RINGs queued: messages / submits is the batching
//   carried   sleeps that also submitted held wakes (core/notify/wake_batch.h):
//             one call, counted once, as a sleep; the messages it carried
//             are in `messages`
// Relaxed counters, each on its own cache line; bumped only next to a call
// that costs far more.
//
// Example:
//   const ioreq::SyscallTally before = ioreq::ProcessSyscalls();
//   RunTheLoop();
//   const ioreq::SyscallTally used = ioreq::ProcessSyscalls() - before;
//   double sleeps_per_request = used.sleeps / double(requests);
#ifndef IOREQ_CORE_NOTIFY_SYSCALL_TALLY_H_
#define IOREQ_CORE_NOTIFY_SYSCALL_TALLY_H_

#include <atomic>
#include <cstdint>

namespace ioreq {

struct SyscallTally {
  uint64_t wakes = 0;
  uint64_t sleeps = 0;
  uint64_t submits = 0;
  uint64_t messages = 0;
  uint64_t carried = 0;
  uint64_t calls() const { return wakes + sleeps + submits; }
  SyscallTally operator-(const SyscallTally& o) const {
    return {wakes - o.wakes, sleeps - o.sleeps, submits - o.submits,
            messages - o.messages, carried - o.carried};
  }
};

namespace notify_internal {

struct alignas(64) TallyCounter {
  std::atomic<uint64_t> value{0};
};
struct ProcessTally {
  TallyCounter wakes, sleeps, submits, messages, carried;
};
inline ProcessTally& Tally() {
  static ProcessTally tally;
  return tally;
}
inline void CountWakeCall() {
  Tally().wakes.value.fetch_add(1, std::memory_order_relaxed);
}
inline void CountSleepCall() {
  Tally().sleeps.value.fetch_add(1, std::memory_order_relaxed);
}
inline void CountSubmitCall() {
  Tally().submits.value.fetch_add(1, std::memory_order_relaxed);
}
inline void CountWakeMessage() {
  Tally().messages.value.fetch_add(1, std::memory_order_relaxed);
}
inline void CountCarryingSleep() {
  Tally().carried.value.fetch_add(1, std::memory_order_relaxed);
}

}  // namespace notify_internal

// A snapshot of the process-wide tally.
inline SyscallTally ProcessSyscalls() {
  notify_internal::ProcessTally& t = notify_internal::Tally();
  SyscallTally s;
  s.wakes = t.wakes.value.load(std::memory_order_relaxed);
  s.sleeps = t.sleeps.value.load(std::memory_order_relaxed);
  s.submits = t.submits.value.load(std::memory_order_relaxed);
  s.messages = t.messages.value.load(std::memory_order_relaxed);
  s.carried = t.carried.value.load(std::memory_order_relaxed);
  return s;
}

}  // namespace ioreq

#endif  // IOREQ_CORE_NOTIFY_SYSCALL_TALLY_H_
