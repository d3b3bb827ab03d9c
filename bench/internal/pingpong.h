// bench/internal/pingpong.h: two threads handing a token back and forth over
// one raw primitive, the baselines every ratio in the suite is taken
// against.
//
// Each primitive is used bare, without the model's waiters flag: the spin
// ping-pong writes one cache line each way; futex does FUTEX_WAKE and
// FUTEX_WAIT each way; eventfd writes and blocks in read() each way (one
// eventfd per direction); uring_msg sends IORING_OP_MSG_RING from each
// thread's ring into the other's; uring_read keeps a read armed on each
// thread's eventfd in its own ring and the other side write()s it.
//
// Example:
//   std::vector<int64_t> ns = bench::RawPingPong(bench::Primitive::kFutex, 10000);
#ifndef IOREQ_BENCH_INTERNAL_PINGPONG_H_
#define IOREQ_BENCH_INTERNAL_PINGPONG_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "core/placement/placement.h"

namespace bench {

enum class Primitive { kSpin, kFutex, kEventfd, kUringMsg, kUringRead };

const char* PrimitiveName(Primitive p);  // "spin", "futex", ...

// A responder thread and the primitive between it and the caller. Destroying
// it stops the responder.
class PingPong {
 public:
  virtual ~PingPong() = default;
  // One round trip: the token goes to the responder and comes back.
  virtual void RoundTrip() = 0;
};
// Whether the kernel offers `primitive`: the io_uring ones need what
// ioreq::ProbeUring() checks (a seccomp profile or
// `kernel.io_uring_disabled` may refuse it); the others need nothing.
absl::Status CheckPrimitiveSupported(Primitive primitive);

// The responder runs on `responder_cpus` (empty: anywhere). The primitive
// must be supported (CheckPrimitiveSupported()); an io_uring the kernel
// refuses ends the process with a message.
std::unique_ptr<PingPong> MakePingPong(
    Primitive primitive, const std::vector<int>& responder_cpus = {});

// Three threads in a ring over futexes: the caller wakes the first
// responder, which wakes the second, which wakes the caller; each hand-off
// is a FUTEX_WAKE and a FUTEX_WAIT, as in the futex ping-pong. The floor of
// the kernel topology's round trip (vCPU -> dispatcher -> client -> vCPU):
// three hand-offs where the ping-pong has two. Both responders run on
// `responder_cpus` (the dispatcher's and the client's place).
std::unique_ptr<PingPong> MakeFutexRing3(
    const std::vector<int>& responder_cpus = {});

// Runs `rounds` round trips and returns each one's duration in ns, as the
// initiating thread saw it. The initiator (this thread, for the call) runs
// on the placement's vCPU CPUs, the responder on its HSM CPUs: the same
// placement as the model's round trip it is compared with.
std::vector<int64_t> RawPingPong(Primitive primitive, int rounds,
                                 const ioreq::Placement& placement = {});

// The median round trip of `primitive` under `placement`, measured once
// per process and placement (the first call) with enough rounds for a
// stable median; later calls return the cached figure, so every ratio in
// one run shares one baseline.
double BaselineMedianNs(Primitive primitive,
                        const ioreq::Placement& placement = {});

// The raw primitive a strategy is compared with.
Primitive BaselineFor(const std::string& strategy);

}  // namespace bench

#endif  // IOREQ_BENCH_INTERNAL_PINGPONG_H_
