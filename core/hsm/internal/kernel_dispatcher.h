// core/hsm/internal/kernel_dispatcher.h: the kernel's routing engine
// [dispatch].
//
// An upcall rings one dispatcher thread (the kernel's ioreq_workqueue); each
// pass walks every VM's slots in order under the PassGate (exclusive), routes
// each PENDING request with RouteRequest(), hands it to its client (sets
// kernel_handled, PROCESSING, the client's pending bit) and rings every
// client it gave work to, once per pass and all together (one io_uring_enter
// with the uring strategy). [rescan]: without a ring for rescan_interval the
// thread runs a pass anyway.
//
// Example:
//   KernelDispatcher<FutexDoorbell> engine(context);
//   engine.Upcall(vmid, vcpu);  // the dispatcher thread runs a pass
#ifndef IOREQ_CORE_HSM_INTERNAL_KERNEL_DISPATCHER_H_
#define IOREQ_CORE_HSM_INTERNAL_KERNEL_DISPATCHER_H_

#include <atomic>
#include <cstdint>
#include <thread>
#include <vector>

#include "core/hsm/internal/engine.h"

namespace ioreq {
namespace hsm_internal {

template <typename Bell>
class KernelDispatcher final : public EngineWithBell<Bell> {
 public:
  explicit KernelDispatcher(HsmContext& context);
  ~KernelDispatcher() override { Stop(); }

  void Stop() override;
  void Upcall(uint16_t vmid, uint32_t vcpu) override;
  void Dispatch() override;
  void RouteVmNow(VmState& vm) override;
  void RoutingChangedLocked(VmState&) override {}
  void Resumed() override;
  int Take(ClientState&) override { return 0; }
  bool WaitForWork(ClientState& client) override;
  uint64_t syscalls() const override { return upcall_.syscalls(); }
  using EngineWithBell<Bell>::syscalls;

 private:
  void Loop();
  // One routing pass over every VM; returns how many requests it handed
  // to clients.
  int Pass();
  // Routes the VM's PENDING requests; the clients to wake are added to
  // wakes_, rung together after the pass. The PassGate is held
  // exclusively. Returns how many requests it handed to clients.
  int DispatchVm(VmState& vm);

  HsmContext& ctx_;
  Bell upcall_;
  std::atomic<bool> stopping_{false};
  // The doorbells of the clients one pass handed requests to; kept between
  // passes so that a pass does not allocate. Guarded by the PassGate.
  std::vector<Bell*> wakes_;
  std::thread thread_;  // last: Loop() uses the members above
};

IOREQ_EXTERN_FOR_EACH_DOORBELL(KernelDispatcher)

}  // namespace hsm_internal
}  // namespace ioreq

#endif  // IOREQ_CORE_HSM_INTERNAL_KERNEL_DISPATCHER_H_
