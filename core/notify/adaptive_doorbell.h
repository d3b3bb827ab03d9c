// core/notify/adaptive_doorbell.h: spin for a window, then block.
//
// The waiter first polls its word for up to `window`, then sleeps on a futex
// (with the waiters flag, so an awake waiter costs no system call). The
// window adapts per waiter the way KVM's halt-polling does:
//   - a wake caught while spinning leaves the window as it is;
//   - a sleep that ended within kMaxWindow means spinning a little longer
//     would have caught it: the window grows (doubles, from kGrowStart);
//   - a longer sleep means spinning was wasted: the window halves.
// Spinning collapses when it cannot pay:
//   - a waiter spins only while the threads that wait on adaptive doorbells
//     and are not asleep in the kernel (spinning or working: runnable) are
//     no more than the cores. With more runnable waiters than cores a
//     spinner would burn the time slice its notifier needs, so everyone
//     blocks at once;
//   - a waiter does not spin while the machine has more runnable tasks
//     than cores, counting every process (/proc/loadavg's running field,
//     read at most once a millisecond): another process waits for a CPU,
//     and a spinner would take it;
//   - a waiter does not spin on the CPU its doorbell was last rung from:
//     its notifier last ran there, and while the waiter spins on that CPU
//     the notifier cannot run to ring it (KVM's halt-polling asks the same
//     question: is another task runnable here?). Each Ring() records its
//     CPU (sched_getcpu(), read from rseq: about a nanosecond).
// The same-CPU signal is asked first, then the two counts, which are asked
// again every 64 polls while a waiter spins (KVM
// asks single_task_running() on every poll), and a sleeping waiter counts
// as runnable from the Ring() that wakes it, not from when it gets a CPU:
// otherwise two spinners on two cores would keep the thread they woke off
// both for their whole windows.
//
// Example:
//   ioreq::AdaptiveDoorbell bell;
//   bell.Ring();
//   bell.Wait();
#ifndef IOREQ_CORE_NOTIFY_ADAPTIVE_DOORBELL_H_
#define IOREQ_CORE_NOTIFY_ADAPTIVE_DOORBELL_H_

#include <sched.h>

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "core/notify/futex_doorbell.h"

namespace ioreq {

class AdaptiveDoorbell {
 public:
  static constexpr const char* kName = "adaptive";
  static constexpr int64_t kGrowStartNs = 2'000;
  static constexpr int64_t kMaxWindowNs = 100'000;

  void Ring() {
    // Relaxed: a hint for the next wait, not part of the ring's ordering.
    // Stored only when it changes: the waiter reads it before every spin,
    // and a store of the same CPU would still take the line from the
    // waiter's cache on every ring.
    const int cpu = sched_getcpu();
    if (last_ring_cpu_.load(std::memory_order_relaxed) != cpu) {
      last_ring_cpu_.store(cpu, std::memory_order_relaxed);
    }
    // The waiter is runnable from this ring on, before it gets a CPU: the
    // spinners that count runnable threads must see it now (the kernel
    // marks a woken task runnable at the wake, too).
    CountAwake();
    futex_.waiter_.Ring();
  }
  static void RingMany(AdaptiveDoorbell* const* bells, size_t n) {
    for (size_t i = 0; i < n; ++i) bells[i]->Ring();
  }
  void Wait() { WaitFor(absl::InfiniteDuration()); }
  // The timeout counts from the end of the spin (at most kMaxWindowNs).
  bool WaitFor(absl::Duration timeout);
  bool Peek() const { return futex_.Peek(); }
  uint64_t syscalls() const { return futex_.syscalls(); }

  // The current spin window (waiter thread only; for tests).
  int64_t window_ns() const { return window_ns_; }
  // Waits that went to sleep without spinning because the doorbell was last
  // rung from the waiter's own CPU (waiter thread only; for tests).
  uint64_t same_cpu_skips() const { return same_cpu_skips_; }
  // Waits that went to sleep without spinning, or cut their spin short,
  // because this process's waiters or the machine had more runnable tasks
  // than cores (waiter thread only; for tests).
  uint64_t busy_skips() const { return busy_skips_; }
  // Ends this doorbell's count among the sleeping waiters, once per sleep
  // (the waiter after it wakes, or the Ring() that wakes it, whichever
  // comes first).
  void CountAwake();
  // Tasks runnable on the whole machine, every process's (cached for a
  // millisecond; 0 where /proc/loadavg cannot be read).
  static int SystemRunnable();
  // Threads that have waited on an adaptive doorbell and have neither
  // exited nor left (LeaveWaiterThreads()), and how many of them are asleep
  // in the kernel now.
  static int WaiterThreads();
  static int SleepingThreads();
  // Ends the calling thread's count among the waiter threads until its next
  // wait; nothing for a thread not counted. For a thread that waits on
  // adaptive doorbells for a while and then blocks elsewhere (a benchmark's
  // thread between runs, a thread that goes on to join others): counted, it
  // would read as runnable until it exits, and every spinner in the process
  // would collapse as if it held a core. AdaptiveWaiterScope calls it.
  static void LeaveWaiterThreads();

  // The collapse rule: true when a spinner would keep a runnable task off
  // a CPU, because this process's runnable waiters (the spinner included)
  // or the machine's runnable tasks (0 where /proc cannot be read) are
  // more than the cores.
  static bool CpusOversubscribed(int runnable_waiters, int machine_runnable,
                                 int cores) {
    return runnable_waiters > cores || machine_runnable > cores;
  }
  // The running tasks in /proc/loadavg's text ("0.52 0.58 0.59 3/812
  // 12345" holds 3); 0 for text without that field.
  static int RunnableInLoadavg(const char* loadavg);

 private:
  bool Spin(int64_t window_ns);
  // SystemRunnable() with the clock already read (`now`, in ns).
  static int SystemRunnableAt(int64_t now);

  FutexDoorbell futex_;
  std::atomic<int> last_ring_cpu_{-1};  // the CPU of the last Ring()
  // The waiter is counted among the sleeping (SleepingThreads()).
  std::atomic<bool> counted_asleep_{false};
  int64_t window_ns_ = kGrowStartNs;    // waiter thread only
  uint64_t same_cpu_skips_ = 0;         // waiter thread only
  uint64_t busy_skips_ = 0;             // waiter thread only
};

// The calling thread counts among the adaptive doorbells' waiter threads
// only until the end of the scope (AdaptiveDoorbell::LeaveWaiterThreads()),
// for a thread whose waits on adaptive doorbells are one job of several.
//
// Example:
//   {
//     ioreq::AdaptiveWaiterScope waits_here;
//     bell.Wait();
//   }  // from here the thread no longer counts as a runnable waiter
class AdaptiveWaiterScope {
 public:
  AdaptiveWaiterScope() = default;
  AdaptiveWaiterScope(const AdaptiveWaiterScope&) = delete;
  AdaptiveWaiterScope& operator=(const AdaptiveWaiterScope&) = delete;
  ~AdaptiveWaiterScope() { AdaptiveDoorbell::LeaveWaiterThreads(); }
};

}  // namespace ioreq

#endif  // IOREQ_CORE_NOTIFY_ADAPTIVE_DOORBELL_H_
