#include "bench/internal/pingpong.h"

#include "core/placement/placement.h"

#include <liburing.h>
#include <linux/futex.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "absl/time/clock.h"
#include "core/notify/uring_doorbell.h"

namespace bench {
namespace {

inline void CpuRelax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#endif
}

int64_t NowNs() { return absl::GetCurrentTimeNanos(); }

// A thread pair: `respond(i)` runs on the other thread for every round the
// initiator starts with `initiate(i)`, until stopped.
template <typename Initiate, typename Respond>
class Pair : public PingPong {
 public:
  Pair(Initiate initiate, Respond respond, std::vector<int> responder_cpus)
      : initiate_(std::move(initiate)), respond_(std::move(respond)),
        other_([this, cpus = std::move(responder_cpus)] {
          if (!cpus.empty()) ioreq::PinCurrentThread(cpus).IgnoreError();
          for (int64_t i = 0;; ++i) {
            respond_(i);
            // Only the round the destructor started ends the loop: a
            // responder that sees the stop right after an ordinary round
            // must still answer the final one.
            if (i == final_round_.load(std::memory_order_acquire)) return;
          }
        }) {}
  ~Pair() override {
    // Release pairs with the responder's acquire load.
    final_round_.store(round_, std::memory_order_release);
    initiate_(round_++);  // the responder answers it, then stops
    other_.join();
  }
  void RoundTrip() override { initiate_(round_++); }

 private:
  Initiate initiate_;
  Respond respond_;
  std::atomic<int64_t> final_round_{-1};
  int64_t round_ = 0;
  std::thread other_;
};

template <typename Initiate, typename Respond>
std::unique_ptr<PingPong> MakePair(Initiate initiate, Respond respond,
                                   const std::vector<int>& responder_cpus) {
  return std::make_unique<Pair<Initiate, Respond>>(
      std::move(initiate), std::move(respond), responder_cpus);
}

std::unique_ptr<PingPong> Spin(const std::vector<int>& cpus) {
  struct State {
    alignas(64) std::atomic<int64_t> ping{0};
    alignas(64) std::atomic<int64_t> pong{0};
  };
  auto st = std::make_shared<State>();
  return MakePair(
      [st](int64_t i) {
        // Release pairs with the other thread's acquire load.
        st->ping.store(i + 1, std::memory_order_release);
        while (st->pong.load(std::memory_order_acquire) != i + 1) CpuRelax();
      },
      [st](int64_t i) {
        while (st->ping.load(std::memory_order_acquire) != i + 1) CpuRelax();
        st->pong.store(i + 1, std::memory_order_release);
      }, cpus);
}

long Futex(std::atomic<uint32_t>* word, int op, uint32_t value) {
  return syscall(SYS_futex, reinterpret_cast<uint32_t*>(word), op, value,
                 nullptr, nullptr, 0);
}

std::unique_ptr<PingPong> FutexPingPong(const std::vector<int>& cpus) {
  struct State {
    alignas(64) std::atomic<uint32_t> ping{0};
    alignas(64) std::atomic<uint32_t> pong{0};
  };
  auto st = std::make_shared<State>();
  auto wait_for = [](std::atomic<uint32_t>& w, uint32_t want) {
    for (uint32_t v; (v = w.load(std::memory_order_acquire)) != want;) {
      Futex(&w, FUTEX_WAIT_PRIVATE, v);
    }
  };
  return MakePair(
      [st, wait_for](int64_t i) {
        st->ping.store(static_cast<uint32_t>(i + 1), std::memory_order_release);
        Futex(&st->ping, FUTEX_WAKE_PRIVATE, 1);
        wait_for(st->pong, static_cast<uint32_t>(i + 1));
      },
      [st, wait_for](int64_t i) {
        wait_for(st->ping, static_cast<uint32_t>(i + 1));
        st->pong.store(static_cast<uint32_t>(i + 1), std::memory_order_release);
        Futex(&st->pong, FUTEX_WAKE_PRIVATE, 1);
      }, cpus);
}

std::unique_ptr<PingPong> EventfdPingPong(const std::vector<int>& cpus) {
  struct State {
    int ping = eventfd(0, EFD_CLOEXEC);
    int pong = eventfd(0, EFD_CLOEXEC);
    ~State() {
      close(ping);
      close(pong);
    }
  };
  auto st = std::make_shared<State>();
  auto post = [](int fd) {
    const uint64_t one = 1;
    while (write(fd, &one, sizeof(one)) < 0 && errno == EINTR) {
    }
  };
  auto take = [](int fd) {
    uint64_t v;
    while (read(fd, &v, sizeof(v)) < 0 && errno == EINTR) {
    }
  };
  return MakePair([st, post, take](int64_t) { post(st->ping); take(st->pong); },
                  [st, post, take](int64_t) { take(st->ping); post(st->pong); }, cpus);
}

// liburing's io_uring_queue_init(), or a message and the end of the
// process: a raw ping-pong is made only after CheckPrimitiveSupported().
void InitRingOrDie(io_uring* ring) {
  if (const int rc = io_uring_queue_init(8, ring, 0); rc < 0) {
    std::fprintf(stderr, "pingpong: io_uring_queue_init failed: %s\n",
                 std::strerror(-rc));
    std::abort();
  }
}

std::unique_ptr<PingPong> UringMsgPingPong(const std::vector<int>& cpus) {
  struct State {
    State() {
      InitRingOrDie(&a);
      InitRingOrDie(&b);
    }
    ~State() {
      io_uring_queue_exit(&a);
      io_uring_queue_exit(&b);
    }
    io_uring a, b;
  };
  auto st = std::make_shared<State>();
  auto send = [](io_uring* from, io_uring* to) {
    io_uring_sqe* sqe = io_uring_get_sqe(from);
    io_uring_prep_msg_ring(sqe, to->ring_fd, 0, 1, 0);
    sqe->flags |= IOSQE_CQE_SKIP_SUCCESS;
    io_uring_submit(from);
  };
  auto receive = [](io_uring* ring) {
    io_uring_cqe* cqe;
    while (io_uring_wait_cqe(ring, &cqe) == -EINTR) {
    }
    io_uring_cqe_seen(ring, cqe);
  };
  return MakePair(
      [st, send, receive](int64_t) { send(&st->a, &st->b); receive(&st->a); },
      [st, send, receive](int64_t) { receive(&st->b); send(&st->b, &st->a); }, cpus);
}

std::unique_ptr<PingPong> UringReadPingPong(const std::vector<int>& cpus) {
  struct Side {
    Side() {
      InitRingOrDie(&ring);
      fd = eventfd(0, EFD_CLOEXEC);
    }
    ~Side() {
      io_uring_queue_exit(&ring);
      close(fd);
    }
    io_uring ring;
    int fd;
    uint64_t buffer = 0;
  };
  struct State {
    Side a, b;
  };
  auto st = std::make_shared<State>();
  auto arm_and_wait = [](Side* s) {
    io_uring_sqe* sqe = io_uring_get_sqe(&s->ring);
    io_uring_prep_read(sqe, s->fd, &s->buffer, sizeof(s->buffer), 0);
    io_uring_submit_and_wait(&s->ring, 1);
    io_uring_cqe* cqe;
    while (io_uring_wait_cqe(&s->ring, &cqe) == -EINTR) {
    }
    io_uring_cqe_seen(&s->ring, cqe);
  };
  auto post = [](Side* s) {
    const uint64_t one = 1;
    while (write(s->fd, &one, sizeof(one)) < 0 && errno == EINTR) {
    }
  };
  return MakePair(
      [st, post, arm_and_wait](int64_t) { post(&st->b); arm_and_wait(&st->a); },
      [st, post, arm_and_wait](int64_t) { arm_and_wait(&st->b); post(&st->a); }, cpus);
}

class FutexRing3 : public PingPong {
 public:
  explicit FutexRing3(const std::vector<int>& cpus) {
    for (int k = 1; k <= 2; ++k) {
      responders_.emplace_back([this, k, cpus] {
        if (!cpus.empty()) ioreq::PinCurrentThread(cpus).IgnoreError();
        for (uint32_t i = 1;; ++i) {
          WaitFor(words_[k].value, i);
          Post(words_[(k + 1) % 3].value, i);
          // Acquire pairs with the destructor's release store: it comes
          // before the post that started this round.
          if (i == final_round_.load(std::memory_order_acquire)) return;
        }
      });
    }
  }
  ~FutexRing3() override {
    // Release pairs with the responders' acquire load.
    final_round_.store(round_ + 1, std::memory_order_release);
    RoundTrip();  // both responders pass it on, then stop
    for (std::thread& t : responders_) t.join();
  }
  void RoundTrip() override {
    ++round_;
    Post(words_[1].value, round_);
    WaitFor(words_[0].value, round_);
  }

 private:
  static void Post(std::atomic<uint32_t>& word, uint32_t round) {
    // Release pairs with the acquire load in WaitFor().
    word.store(round, std::memory_order_release);
    Futex(&word, FUTEX_WAKE_PRIVATE, 1);
  }
  static void WaitFor(std::atomic<uint32_t>& word, uint32_t round) {
    for (uint32_t v; (v = word.load(std::memory_order_acquire)) != round;) {
      Futex(&word, FUTEX_WAIT_PRIVATE, v);
    }
  }

  struct alignas(64) Word {
    std::atomic<uint32_t> value{0};
  };
  Word words_[3];  // 0: the caller's, 1 and 2: the responders'
  std::atomic<uint32_t> final_round_{0};
  uint32_t round_ = 0;
  std::vector<std::thread> responders_;
};

}  // namespace

std::unique_ptr<PingPong> MakeFutexRing3(
    const std::vector<int>& responder_cpus) {
  return std::make_unique<FutexRing3>(responder_cpus);
}

const char* PrimitiveName(Primitive p) {
  switch (p) {
    case Primitive::kSpin: return "spin";
    case Primitive::kFutex: return "futex";
    case Primitive::kEventfd: return "eventfd";
    case Primitive::kUringMsg: return "uring_msg";
    case Primitive::kUringRead: return "uring_read";
  }
  return "?";
}

absl::Status CheckPrimitiveSupported(Primitive primitive) {
  if (primitive == Primitive::kUringMsg || primitive == Primitive::kUringRead) {
    return ioreq::ProbeUring();
  }
  return absl::OkStatus();
}

std::unique_ptr<PingPong> MakePingPong(Primitive primitive,
                                       const std::vector<int>& responder_cpus) {
  switch (primitive) {
    case Primitive::kSpin: return Spin(responder_cpus);
    case Primitive::kFutex: return FutexPingPong(responder_cpus);
    case Primitive::kEventfd: return EventfdPingPong(responder_cpus);
    case Primitive::kUringMsg: return UringMsgPingPong(responder_cpus);
    case Primitive::kUringRead: return UringReadPingPong(responder_cpus);
  }
  std::abort();
}

std::vector<int64_t> RawPingPong(Primitive primitive, int rounds,
                                 const ioreq::Placement& placement) {
  ioreq::ScopedPin pin(placement.vcpu_cpus);
  std::unique_ptr<PingPong> pair = MakePingPong(primitive, placement.hsm_cpus);
  std::vector<int64_t> ns;
  ns.reserve(rounds);
  for (int i = 0; i < rounds; ++i) {
    const int64_t start = NowNs();
    pair->RoundTrip();
    ns.push_back(NowNs() - start);
  }
  return ns;
}

double BaselineMedianNs(Primitive primitive, const ioreq::Placement& placement) {
  static std::mutex mu;
  static auto* cache = new std::map<std::pair<Primitive, std::string>, double>;
  std::lock_guard<std::mutex> lock(mu);
  const auto key = std::make_pair(primitive, placement.name);
  auto it = cache->find(key);
  if (it != cache->end()) return it->second;
  // Spin hand-offs are fast when each thread has a core and slow (a time
  // slice each) when not; 4000 rounds bound both.
  std::vector<int64_t> ns = RawPingPong(primitive, 4000, placement);
  std::nth_element(ns.begin(), ns.begin() + ns.size() / 2, ns.end());
  const double median = static_cast<double>(ns[ns.size() / 2]);
  cache->emplace(key, median);
  return median;
}

Primitive BaselineFor(const std::string& strategy) {
  if (strategy == "futex") return Primitive::kFutex;
  if (strategy == "eventfd") return Primitive::kEventfd;
  if (strategy == "uring") return Primitive::kUringMsg;
  if (strategy == "uring_eventfd") return Primitive::kUringRead;
  return Primitive::kSpin;  // spin, and adaptive (which aims at spin)
}

}  // namespace bench
