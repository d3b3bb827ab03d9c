// core/notify/eventfd_doorbell.h: a blocking read and write on an eventfd.
//
// One eventfd per waiter (and so per direction of each edge). The waiter
// blocks in read(); a notifier write()s, but only when the waiter has
// published that it sleeps (core/notify/internal/waiter_word.h), so an awake
// waiter costs its notifiers no system call.
//
// Example:
//   ioreq::EventfdDoorbell bell;
//   bell.Ring();
//   bell.Wait();
#ifndef IOREQ_CORE_NOTIFY_EVENTFD_DOORBELL_H_
#define IOREQ_CORE_NOTIFY_EVENTFD_DOORBELL_H_

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "absl/time/time.h"
#include "core/notify/internal/waiter_word.h"

namespace ioreq {
namespace notify_internal {

class EventfdBackend {
 public:
  EventfdBackend();
  ~EventfdBackend();
  EventfdBackend(const EventfdBackend&) = delete;
  EventfdBackend& operator=(const EventfdBackend&) = delete;
  void Wake(std::atomic<uint32_t>& word);
  bool Block(std::atomic<uint32_t>& word, absl::Duration timeout);
  int fd() const { return fd_; }

 private:
  int fd_;
};

}  // namespace notify_internal

class EventfdDoorbell
    : public notify_internal::BlockingDoorbell<notify_internal::EventfdBackend> {
 public:
  static constexpr const char* kName = "eventfd";
};

}  // namespace ioreq

#endif  // IOREQ_CORE_NOTIFY_EVENTFD_DOORBELL_H_
