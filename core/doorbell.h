// core/doorbell.h: a wake-up that cannot be lost, on one eventfd.
//
// Every edge on which one side waits for another (the upcall to the
// dispatcher, the wake of a client, the completion notification to a vCPU)
// is a Doorbell: any number of threads Ring(), one thread Wait()s. A Ring()
// that comes before the Wait() is remembered by the eventfd counter, so the
// waiter's "check the condition, then Wait()" loop cannot miss it. Wait() may
// return without a new ring having been made for the condition the caller
// checks (a ring meant for an earlier round): callers re-check, always.
//
// Example:
//   ioreq::Doorbell bell;
//   // waiter:                          // notifier:
//   while (!ready.load()) bell.Wait();  // ready.store(true); bell.Ring();
#ifndef IOREQ_CORE_DOORBELL_H_
#define IOREQ_CORE_DOORBELL_H_

#include <cstdint>

#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace ioreq {

class Doorbell {
 public:
  Doorbell();
  ~Doorbell();
  Doorbell(const Doorbell&) = delete;
  Doorbell& operator=(const Doorbell&) = delete;

  // Never blocks. eventfd write(): the kernel's counter makes the ring
  // visible to a read() that follows, which pairs with Wait().
  void Ring();

  // Blocks until at least one Ring() since the last Wait() returned.
  void Wait();

  // As Wait(), for at most `timeout`; false when it timed out.
  bool WaitFor(absl::Duration timeout);

  // How many times Ring() has made a system call (for statistics).
  uint64_t rings() const { return __atomic_load_n(&rings_, __ATOMIC_RELAXED); }

 private:
  int fd_;
  uint64_t rings_ = 0;
};

}  // namespace ioreq

#endif  // IOREQ_CORE_DOORBELL_H_
