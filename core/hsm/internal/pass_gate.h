// core/hsm/internal/pass_gate.h: routing passes and Pause(), lock 1 of the
// HSM's lock order (vm_state.h).
//
// A kernel dispatch pass holds the gate exclusively, a direct claim scan
// and a direct upcall share it, and Pause() takes it exclusively once to
// drain: when Pause() returns, no pass is running and every later one sees
// paused() and does nothing (ioreq_pause(): drain_workqueue()). Pauses nest.
//
// Example:
//   std::unique_lock<std::shared_mutex> pass = gate.ExclusivePass();
//   if (gate.paused()) return;
#ifndef IOREQ_CORE_HSM_INTERNAL_PASS_GATE_H_
#define IOREQ_CORE_HSM_INTERNAL_PASS_GATE_H_

#include <atomic>
#include <mutex>
#include <shared_mutex>

namespace ioreq {
namespace hsm_internal {

class PassGate {
 public:
  std::unique_lock<std::shared_mutex> ExclusivePass() {
    return std::unique_lock<std::shared_mutex>(mu_);
  }
  std::shared_lock<std::shared_mutex> SharedPass() {
    return std::shared_lock<std::shared_mutex>(mu_);
  }
  bool paused() const {
    // Pairs with the acq_rel updates in Pause() and Resume().
    return depth_.load(std::memory_order_acquire) > 0;
  }
  void Pause() {
    depth_.fetch_add(1, std::memory_order_acq_rel);
    // A pass in progress holds mu_ to its end; every later one sees
    // paused().
    std::unique_lock<std::shared_mutex> drain(mu_);
  }
  // True when this Resume() ended the last pause (the upcall is re-armed).
  bool Resume() {
    return depth_.fetch_sub(1, std::memory_order_acq_rel) == 1;
  }

 private:
  std::shared_mutex mu_;
  std::atomic<int> depth_{0};
};

}  // namespace hsm_internal
}  // namespace ioreq

#endif  // IOREQ_CORE_HSM_INTERNAL_PASS_GATE_H_
