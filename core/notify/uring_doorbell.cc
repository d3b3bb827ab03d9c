#include "core/notify/uring_doorbell.h"

#include <sched.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>
#include <mutex>
#include <memory>

#include "absl/strings/str_format.h"

namespace ioreq {
namespace {

// Room for the wakes a sleep carries (core/notify/wake_batch.h); more than
// that go out through the notifier ring first.
constexpr unsigned kWaiterEntries = notify_internal::kWakesASleepCarries;
// uring_eventfd's waiter ring: one read at a time. Its own size keeps its
// rings apart from the MSG_RING waiters' in the pool (a stale MSG_RING that
// lands after a ring was given back must not look like its read).
constexpr unsigned kEventfdWaiterEntries = 8;
constexpr unsigned kNotifierEntries = 64;
constexpr uint64_t kWakeTag = 0x10E7EA;
// The sender's user_data on a MSG_RING: only a failed one posts a CQE on the
// sender's ring (IOSQE_CQE_SKIP_SUCCESS), and a waiter ring that sent it
// reads that CQE as a spurious wake.
constexpr uint64_t kFailedWakeTag = 0xFA11ED;

std::atomic<bool> g_sqpoll{false};

[[noreturn]] void Die(const char* what, int err) {
  std::fprintf(stderr, "ioreq: %s failed: %s\n", what, std::strerror(err));
  std::abort();
}

// No ring is ever unmapped. liburing maps a ring with raw system calls,
// which ThreadSanitizer does not see: a new ring mapped where an unmapped
// one was would look to it like memory two threads touched without
// synchronization (the old ring's thread, the new ring's). A ring given back
// waits here, its completions reaped and its submissions sent, and the mutex
// orders its last user before its next. The rings alive at once bound the
// pool.
class RingPool {
 public:
  // A ring of `entries` (SQPOLL if `sqpoll`), from the pool or new; null
  // with the error in `*err` if the kernel refused one.
  static io_uring* Take(unsigned entries, bool sqpoll, int* err) {
    {
      std::lock_guard<std::mutex> lock(mu());
      std::vector<Idle>& idle = rings();
      for (size_t i = 0; i < idle.size(); ++i) {
        if (idle[i].entries == entries && idle[i].sqpoll == sqpoll) {
          io_uring* ring = idle[i].ring;
          idle[i] = idle.back();
          idle.pop_back();
          return ring;
        }
      }
    }
    auto ring = std::make_unique<io_uring>();
    io_uring_params params;
    std::memset(&params, 0, sizeof(params));
    if (sqpoll) {
      params.flags |= IORING_SETUP_SQPOLL;
      params.sq_thread_idle = 50;  // ms
    }
    const int rc = io_uring_queue_init_params(entries, ring.get(), &params);
    if (rc < 0) {
      *err = -rc;
      return nullptr;
    }
    mapped().fetch_add(1, std::memory_order_relaxed);
    return ring.release();
  }
  static std::atomic<size_t>& mapped() {
    static std::atomic<size_t> n{0};
    return n;
  }
  static void GiveBack(io_uring* ring, unsigned entries, bool sqpoll) {
    io_uring_submit(ring);  // nothing is left queued for the next user
    io_uring_cq_advance(ring, io_uring_cq_ready(ring));
    std::lock_guard<std::mutex> lock(mu());
    rings().push_back({ring, entries, sqpoll});
  }

 private:
  struct Idle {
    io_uring* ring;
    unsigned entries;
    bool sqpoll;
  };
  static std::mutex& mu() {
    static std::mutex* m = new std::mutex;
    return *m;
  }
  static std::vector<Idle>& rings() {
    static std::vector<Idle>* v = new std::vector<Idle>;
    return *v;
  }
};

io_uring* TakeRingOrDie(unsigned entries, bool sqpoll, const char* what) {
  int err = 0;
  io_uring* ring = RingPool::Take(entries, sqpoll, &err);
  if (ring == nullptr) Die(what, err);
  return ring;
}

// Each notifying thread submits from its own ring.
struct NotifierRing {
  NotifierRing()
      : sqpoll(g_sqpoll.load(std::memory_order_relaxed)),
        ring(TakeRingOrDie(kNotifierEntries, sqpoll,
                           "io_uring_queue_init (notifier)")) {}
  ~NotifierRing() { RingPool::GiveBack(ring, kNotifierEntries, sqpoll); }
  io_uring_sqe* Sqe() {
    io_uring_sqe* sqe = io_uring_get_sqe(ring);
    if (sqe == nullptr) {  // full: submit what is queued and retry
      Submit();
      sqe = io_uring_get_sqe(ring);
    }
    ++queued;
    return sqe;
  }
  void Submit() {
    notify_internal::CountSubmitCall();
    io_uring_submit(ring);
    queued = 0;
    // Only failed MSG_RINGs post here (IOSQE_CQE_SKIP_SUCCESS): reap them.
    const unsigned ready = io_uring_cq_ready(ring);
    if (ready) io_uring_cq_advance(ring, ready);
  }
  const bool sqpoll;
  io_uring* const ring;
  unsigned queued = 0;  // prepared since the last Submit()
};

NotifierRing& ThisThreadsRing() {
  thread_local NotifierRing ring;
  return ring;
}

void PrepWake(io_uring_sqe* sqe, int target_fd) {
  io_uring_prep_msg_ring(sqe, target_fd, 0, kWakeTag, 0);
  sqe->flags |= IOSQE_CQE_SKIP_SUCCESS;
  io_uring_sqe_set_data64(sqe, kFailedWakeTag);
}

// Sends every wake this thread holds through its notifier ring: one submit.
void SendHeldWakes() {
  notify_internal::DeferredWakes& held = notify_internal::t_deferred_wakes;
  if (held.count == 0) return;
  NotifierRing& ring = ThisThreadsRing();
  for (uint32_t i = 0; i < held.count; ++i) {
    PrepWake(ring.Sqe(), held.target_fds[i]);
  }
  held.count = 0;
  ring.Submit();
}

// Holds a wake for `target_fd` if a WakeBatch is open on this thread and
// lets it be held; false if not (the caller sends it now). `target_cpu`: the
// CPU its waiter last slept on.
bool HoldWake(int target_fd, int target_cpu) {
  notify_internal::DeferredWakes& held = notify_internal::t_deferred_wakes;
  if (held.depth == 0) return false;
  if (held.send_same_cpu != 0 && target_cpu == sched_getcpu()) return false;
  if (held.count == notify_internal::DeferredWakes::kCapacity) SendHeldWakes();
  held.send = &SendHeldWakes;
  held.target_fds[held.count++] = target_fd;
  return true;
}

// Moves the wakes this thread holds into `ring`'s submission queue; the
// number moved. More than fit are all sent at once through the notifier
// ring instead (0 moved).
unsigned MoveHeldWakesInto(io_uring* ring) {
  notify_internal::DeferredWakes& held = notify_internal::t_deferred_wakes;
  if (held.count == 0) return 0;
  if (held.count > io_uring_sq_space_left(ring)) {
    SendHeldWakes();
    return 0;
  }
  for (uint32_t i = 0; i < held.count; ++i) {
    PrepWake(io_uring_get_sqe(ring), held.target_fds[i]);
  }
  const unsigned moved = held.count;
  held.count = 0;
  return moved;
}

// False only when `timeout` passed without a completion; a signal returns
// true early (the caller re-checks).
bool WaitCqe(io_uring* ring, absl::Duration timeout) {
  io_uring_cqe* cqe = nullptr;
  int rc;
  if (timeout == absl::InfiniteDuration()) {
    do {
      rc = io_uring_wait_cqe(ring, &cqe);
    } while (rc == -EINTR);
  } else {
    if (timeout <= absl::ZeroDuration()) return false;
    __kernel_timespec ts;  // relative: no clock read
    const timespec t = absl::ToTimespec(timeout);
    ts.tv_sec = t.tv_sec;
    ts.tv_nsec = t.tv_nsec;
    rc = io_uring_wait_cqe_timeout(ring, &cqe, &ts);
  }
  return rc != -ETIME;
}

}  // namespace

void SetUringSqpoll(bool enabled) { g_sqpoll.store(enabled); }

namespace notify_internal {
size_t UringRingsMapped() {
  return RingPool::mapped().load(std::memory_order_relaxed);
}
}  // namespace notify_internal

absl::Status ProbeUring() {
  int err = 0;
  io_uring* const ring = RingPool::Take(kWaiterEntries, false, &err);
  if (ring == nullptr) {
    return absl::UnavailableError(absl::StrFormat(
        "io_uring is not available: io_uring_setup failed: %s",
        std::strerror(err)));
  }
  int rc;
  io_uring_probe* probe = io_uring_get_probe_ring(ring);
  absl::Status status;
  if (probe == nullptr) {
    status = absl::UnavailableError("io_uring: IORING_REGISTER_PROBE failed");
  } else {
    if (!io_uring_opcode_supported(probe, IORING_OP_MSG_RING)) {
      status = absl::UnavailableError(
          "io_uring: the kernel lacks IORING_OP_MSG_RING (Linux 5.18+)");
    } else if (!io_uring_opcode_supported(probe, IORING_OP_READ)) {
      status = absl::UnavailableError(
          "io_uring: the kernel lacks IORING_OP_READ (Linux 5.6+)");
    }
    io_uring_free_probe(probe);
  }
  if (status.ok()) {
    // One real MSG_RING to ourselves with IOSQE_CQE_SKIP_SUCCESS: exactly
    // one CQE (the target's) must arrive.
    io_uring_sqe* sqe = io_uring_get_sqe(ring);
    io_uring_prep_msg_ring(sqe, ring->ring_fd, 0, kWakeTag, 0);
    sqe->flags |= IOSQE_CQE_SKIP_SUCCESS;
    io_uring_submit(ring);
    io_uring_cqe* cqe = nullptr;
    __kernel_timespec ts{1, 0};
    rc = io_uring_wait_cqe_timeout(ring, &cqe, &ts);
    if (rc < 0 || cqe->user_data != kWakeTag || cqe->res < 0) {
      status = absl::UnavailableError(
          "io_uring: MSG_RING with IOSQE_CQE_SKIP_SUCCESS does not work "
          "(Linux 5.18+ needed)");
    }
  }
  RingPool::GiveBack(ring, kWaiterEntries, false);
  return status;
}

namespace notify_internal {

UringMsgBackend::UringMsgBackend()
    : ring_(TakeRingOrDie(kWaiterEntries, false, "io_uring_queue_init (waiter)")) {}

UringMsgBackend::~UringMsgBackend() {
  RingPool::GiveBack(ring_, kWaiterEntries, false);
}

void UringMsgBackend::QueueWake() {
  CountWakeMessage();
  if (HoldWake(ring_->ring_fd, sleep_cpu_.load(std::memory_order_relaxed))) {
    return;
  }
  PrepWake(ThisThreadsRing().Sqe(), ring_->ring_fd);
}

void UringMsgBackend::FlushWakes() {
  // Held wakes are not queued here: they go out with this thread's sleep or
  // its batch's end.
  NotifierRing& ring = ThisThreadsRing();
  if (ring.queued != 0) ring.Submit();
}

void UringMsgBackend::Wake(std::atomic<uint32_t>&) {
  QueueWake();
  FlushWakes();
}

bool UringMsgBackend::Block(std::atomic<uint32_t>&, absl::Duration timeout) {
  // Relaxed: a hint for a notifier's WakeBatch::kOtherCpusOnly; a stale
  // value costs time, not a wake.
  sleep_cpu_.store(sched_getcpu(), std::memory_order_relaxed);
  const unsigned carried = MoveHeldWakesInto(ring_);
  if (carried == 0) {
    if (!WaitCqe(ring_, timeout)) return false;
    io_uring_cq_advance(ring_, io_uring_cq_ready(ring_));
    return true;
  }
  // One io_uring_enter: the held MSG_RINGs are submitted (each wakes its
  // target at once), then this thread sleeps for its own wake. A return
  // without a CQE (a signal after the submission) reads as spurious: the
  // caller looks at its word and sleeps again.
  CountCarryingSleep();
  int rc;
  if (timeout == absl::InfiniteDuration()) {
    rc = io_uring_submit_and_wait(ring_, 1);
  } else if (timeout <= absl::ZeroDuration()) {
    io_uring_submit(ring_);  // the wakes still go
    return false;
  } else {
    __kernel_timespec ts;  // relative
    const timespec t = absl::ToTimespec(timeout);
    ts.tv_sec = t.tv_sec;
    ts.tv_nsec = t.tv_nsec;
    // An io_uring_enter that submitted returns the count submitted, not
    // -ETIME, when its wait times out, and the same when a signal ends it:
    // the clock tells the two apart. Read only on this path, a kernel-timed
    // wait (shorter than kCoarseMin) that carries wakes, where it costs
    // less than the call; without it the timeout read as a signal, and the
    // waiter slept its whole timeout a second time. The steady clock is the
    // one the kernel times the wait with (CLOCK_MONOTONIC).
    const auto start = std::chrono::steady_clock::now();
    io_uring_cqe* cqe = nullptr;
    rc = io_uring_submit_and_wait_timeout(ring_, &cqe, 1, &ts, nullptr);
    if (rc >= 0 && io_uring_cq_ready(ring_) == 0 &&
        std::chrono::steady_clock::now() - start >=
            absl::ToChronoNanoseconds(timeout)) {
      return false;
    }
  }
  if (rc == -ETIME) return false;
  io_uring_cq_advance(ring_, io_uring_cq_ready(ring_));
  return true;
}

UringEventfdBackend::UringEventfdBackend()
    : ring_(TakeRingOrDie(kEventfdWaiterEntries, false,
                          "io_uring_queue_init (waiter)")),
      fd_(eventfd(0, EFD_CLOEXEC)) {
  if (fd_ < 0) Die("eventfd", errno);
}

UringEventfdBackend::~UringEventfdBackend() {
  if (armed_) {
    // The read in flight would outlive the eventfd in the pooled ring:
    // complete it, and reap its completion.
    const uint64_t one = 1;
    while (write(fd_, &one, sizeof(one)) < 0 && errno == EINTR) {
    }
    io_uring_cqe* cqe = nullptr;
    while (io_uring_wait_cqe(ring_, &cqe) == -EINTR) {
    }
  }
  RingPool::GiveBack(ring_, kEventfdWaiterEntries, false);
  close(fd_);
}

void UringEventfdBackend::Wake(std::atomic<uint32_t>&) {
  CountWakeCall();
  const uint64_t one = 1;
  while (write(fd_, &one, sizeof(one)) < 0 && errno == EINTR) {
  }
}

bool UringEventfdBackend::Block(std::atomic<uint32_t>&, absl::Duration timeout) {
  if (!armed_) {
    io_uring_sqe* sqe = io_uring_get_sqe(ring_);
    io_uring_prep_read(sqe, fd_, &buffer_, sizeof(buffer_), 0);
    armed_ = true;
    if (timeout == absl::InfiniteDuration()) {
      io_uring_cqe* cqe = nullptr;
      int rc;
      do {
        rc = io_uring_submit_and_wait(ring_, 1);
      } while (rc == -EINTR);
      // A signal after the read was submitted ends the call with the count
      // submitted and no completion: an early return, not a timeout. The
      // read stays armed; the caller looks at its word and sleeps again.
      if (io_uring_peek_cqe(ring_, &cqe) != 0) return true;
      io_uring_cqe_seen(ring_, cqe);
      armed_ = false;
      return true;
    }
    io_uring_submit(ring_);
  }
  if (!WaitCqe(ring_, timeout)) return false;
  io_uring_cq_advance(ring_, io_uring_cq_ready(ring_));
  armed_ = false;
  return true;
}

}  // namespace notify_internal
}  // namespace ioreq
