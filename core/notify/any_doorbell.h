// core/notify/any_doorbell.h: a doorbell of a strategy chosen at run time.
//
// For code that rings or waits on one doorbell per event rather than per
// instruction (a vCPU waiting for its completion: the wait is a system call
// or a spin either way), a virtual call costs nothing measurable and spares
// the whole class a template parameter. The hot per-slot paths of the HSM
// keep the doorbell as a template parameter instead (core/hsm/internal/).
//
// Example:
//   std::unique_ptr<ioreq::AnyDoorbell> bell =
//       ioreq::MakeDoorbell(ioreq::Strategy::kFutex);
//   bell->Ring();                                 // another thread
//   bool rung = bell->WaitFor(absl::Milliseconds(20));
#ifndef IOREQ_CORE_NOTIFY_ANY_DOORBELL_H_
#define IOREQ_CORE_NOTIFY_ANY_DOORBELL_H_

#include <cstdint>
#include <memory>

#include "absl/time/time.h"
#include "core/notify/strategy.h"

namespace ioreq {

class AnyDoorbell {
 public:
  virtual ~AnyDoorbell() = default;
  virtual void Ring() = 0;
  virtual void Wait() = 0;
  virtual bool WaitFor(absl::Duration timeout) = 0;  // false on timeout
  virtual bool Peek() const = 0;  // a ring waits to be consumed (a hint)
  virtual uint64_t syscalls() const = 0;
};

template <typename Bell>
class DoorbellOf final : public AnyDoorbell {
 public:
  void Ring() override { bell_.Ring(); }
  void Wait() override { bell_.Wait(); }
  bool WaitFor(absl::Duration timeout) override {
    return bell_.WaitFor(timeout);
  }
  bool Peek() const override { return bell_.Peek(); }
  uint64_t syscalls() const override { return bell_.syscalls(); }

 private:
  Bell bell_;
};

inline std::unique_ptr<AnyDoorbell> MakeDoorbell(Strategy strategy) {
  return WithStrategy(strategy, [](auto tag) -> std::unique_ptr<AnyDoorbell> {
    return std::make_unique<DoorbellOf<typename decltype(tag)::type>>();
  });
}

}  // namespace ioreq

#endif  // IOREQ_CORE_NOTIFY_ANY_DOORBELL_H_
