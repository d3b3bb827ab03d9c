#include "core/notify/uring_doorbell.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "absl/strings/str_format.h"

namespace ioreq {
namespace {

constexpr unsigned kWaiterEntries = 8;
constexpr unsigned kNotifierEntries = 64;
constexpr uint64_t kWakeTag = 0x10E7EA;

std::atomic<bool> g_sqpoll{false};

[[noreturn]] void Die(const char* what, int err) {
  std::fprintf(stderr, "ioreq: %s failed: %s\n", what, std::strerror(err));
  std::abort();
}

// Each notifying thread submits from its own ring.
struct NotifierRing {
  NotifierRing() {
    io_uring_params params;
    std::memset(&params, 0, sizeof(params));
    if (g_sqpoll.load(std::memory_order_relaxed)) {
      params.flags |= IORING_SETUP_SQPOLL;
      params.sq_thread_idle = 50;  // ms
    }
    const int rc = io_uring_queue_init_params(kNotifierEntries, &ring, &params);
    if (rc < 0) Die("io_uring_queue_init (notifier)", -rc);
  }
  ~NotifierRing() { io_uring_queue_exit(&ring); }
  io_uring_sqe* Sqe() {
    io_uring_sqe* sqe = io_uring_get_sqe(&ring);
    if (sqe == nullptr) {  // full: submit what is queued and retry
      notify_internal::CountSubmitCall();
      io_uring_submit(&ring);
      sqe = io_uring_get_sqe(&ring);
    }
    return sqe;
  }
  void Submit() {
    notify_internal::CountSubmitCall();
    io_uring_submit(&ring);
    // Only failed MSG_RINGs post here (IOSQE_CQE_SKIP_SUCCESS): reap them.
    const unsigned ready = io_uring_cq_ready(&ring);
    if (ready) io_uring_cq_advance(&ring, ready);
  }
  io_uring ring;
};

NotifierRing& ThisThreadsRing() {
  thread_local NotifierRing ring;
  return ring;
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

absl::Status ProbeUring() {
  io_uring ring;
  int rc = io_uring_queue_init(4, &ring, 0);
  if (rc < 0) {
    return absl::UnavailableError(absl::StrFormat(
        "io_uring is not available: io_uring_setup failed: %s",
        std::strerror(-rc)));
  }
  io_uring_probe* probe = io_uring_get_probe_ring(&ring);
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
    io_uring_sqe* sqe = io_uring_get_sqe(&ring);
    io_uring_prep_msg_ring(sqe, ring.ring_fd, 0, kWakeTag, 0);
    sqe->flags |= IOSQE_CQE_SKIP_SUCCESS;
    io_uring_submit(&ring);
    io_uring_cqe* cqe = nullptr;
    __kernel_timespec ts{1, 0};
    rc = io_uring_wait_cqe_timeout(&ring, &cqe, &ts);
    if (rc < 0 || cqe->user_data != kWakeTag || cqe->res < 0) {
      status = absl::UnavailableError(
          "io_uring: MSG_RING with IOSQE_CQE_SKIP_SUCCESS does not work "
          "(Linux 5.18+ needed)");
    }
  }
  io_uring_queue_exit(&ring);
  return status;
}

namespace notify_internal {

UringMsgBackend::UringMsgBackend() {
  const int rc = io_uring_queue_init(kWaiterEntries, &ring_, 0);
  if (rc < 0) Die("io_uring_queue_init (waiter)", -rc);
}

UringMsgBackend::~UringMsgBackend() { io_uring_queue_exit(&ring_); }

void UringMsgBackend::QueueWake() {
  CountWakeMessage();
  io_uring_sqe* sqe = ThisThreadsRing().Sqe();
  io_uring_prep_msg_ring(sqe, ring_.ring_fd, 0, kWakeTag, 0);
  sqe->flags |= IOSQE_CQE_SKIP_SUCCESS;
}

void UringMsgBackend::FlushWakes() { ThisThreadsRing().Submit(); }

void UringMsgBackend::Wake(std::atomic<uint32_t>&) {
  QueueWake();
  FlushWakes();
}

bool UringMsgBackend::Block(std::atomic<uint32_t>&, absl::Duration timeout) {
  if (!WaitCqe(&ring_, timeout)) return false;
  io_uring_cq_advance(&ring_, io_uring_cq_ready(&ring_));
  return true;
}

UringEventfdBackend::UringEventfdBackend() : fd_(eventfd(0, EFD_CLOEXEC)) {
  if (fd_ < 0) Die("eventfd", errno);
  const int rc = io_uring_queue_init(kWaiterEntries, &ring_, 0);
  if (rc < 0) Die("io_uring_queue_init (waiter)", -rc);
}

UringEventfdBackend::~UringEventfdBackend() {
  io_uring_queue_exit(&ring_);
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
    io_uring_sqe* sqe = io_uring_get_sqe(&ring_);
    io_uring_prep_read(sqe, fd_, &buffer_, sizeof(buffer_), 0);
    armed_ = true;
    if (timeout == absl::InfiniteDuration()) {
      io_uring_cqe* cqe = nullptr;
      int rc;
      do {
        rc = io_uring_submit_and_wait(&ring_, 1);
      } while (rc == -EINTR);
      if (io_uring_peek_cqe(&ring_, &cqe) != 0) return false;
      io_uring_cqe_seen(&ring_, cqe);
      armed_ = false;
      return true;
    }
    io_uring_submit(&ring_);
  }
  if (!WaitCqe(&ring_, timeout)) return false;
  io_uring_cq_advance(&ring_, io_uring_cq_ready(&ring_));
  armed_ = false;
  return true;
}

}  // namespace notify_internal
}  // namespace ioreq
