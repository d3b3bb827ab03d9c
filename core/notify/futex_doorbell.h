// core/notify/futex_doorbell.h: FUTEX_WAIT / FUTEX_WAKE with a waiters flag.
//
// The waiter sleeps in FUTEX_WAIT on its own word only after publishing
// kSleeping there; a notifier calls FUTEX_WAKE only when it sees that flag,
// so no wake system call is made while nobody sleeps
// (core/notify/internal/waiter_word.h).
//
// Example:
//   ioreq::FutexDoorbell bell;
//   bell.Ring();   // another thread: a syscall only if the waiter sleeps
//   bell.Wait();
#ifndef IOREQ_CORE_NOTIFY_FUTEX_DOORBELL_H_
#define IOREQ_CORE_NOTIFY_FUTEX_DOORBELL_H_

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "absl/time/time.h"
#include "core/notify/internal/waiter_word.h"

namespace ioreq {
namespace notify_internal {

struct FutexBackend {
  void Wake(std::atomic<uint32_t>& word);
  bool Block(std::atomic<uint32_t>& word, absl::Duration timeout);
};

}  // namespace notify_internal

class FutexDoorbell
    : public notify_internal::BlockingDoorbell<notify_internal::FutexBackend> {
 public:
  static constexpr const char* kName = "futex";

 private:
  friend class AdaptiveDoorbell;
};

}  // namespace ioreq

#endif  // IOREQ_CORE_NOTIFY_FUTEX_DOORBELL_H_
