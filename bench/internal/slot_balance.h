// bench/internal/slot_balance.h: the stress oracle's exactly-once check,
// one slot at a time.
//
// Every COMPLETE the HSM publishes into a vCPU's slot must be taken by that
// vCPU, and every completion the vCPU takes from its slot must have been
// published: Hsm::SlotCompletions() for the slot, plus what the hypervisor
// answered itself without the slot ([acrn-vpci]), equals the completions the
// vCPU took. A slot garbage reached is not judged (a forged request
// completes too), nor the slot of a vCPU that lost a request (that
// request's late completion is not a duplicate). StressRun::Check() reports
// every unbalanced slot as `duplicated`.
//
// Example:
//   const SlotBalance b = BalanceSlot({.published = counts[v],
//                                      .taken = load.taken,
//                                      .in_hypervisor = in_hv[v]});
//   if (b.verdict == SlotVerdict::kUnbalanced) duplicated += b.difference;
#ifndef IOREQ_BENCH_INTERNAL_SLOT_BALANCE_H_
#define IOREQ_BENCH_INTERNAL_SLOT_BALANCE_H_

#include <cstdint>

namespace bench {
namespace stress_internal {

// One slot's counts at the end of a run.
struct SlotTally {
  uint64_t published = 0;      // COMPLETEs the HSM published into the slot
  uint64_t taken = 0;          // completions the slot's vCPU took, in all
  uint64_t in_hypervisor = 0;  // of those, answered without the slot
  bool tainted = false;        // garbage reached the slot
  bool lost_one = false;       // the vCPU lost a request
};

enum class SlotVerdict {
  kTainted,     // not judged: garbage reached the slot
  kLostOne,     // not judged: the vCPU lost a request
  kBalanced,    // published + in_hypervisor == taken
  kUnbalanced,  // anything else
};

struct SlotBalance {
  SlotVerdict verdict = SlotVerdict::kBalanced;
  // |published + in_hypervisor - taken|: the completions one side has and
  // the other has not. 0 unless kUnbalanced.
  uint64_t difference = 0;
};

// A tainted slot is kTainted even if its vCPU also lost a request.
SlotBalance BalanceSlot(const SlotTally& tally);

}  // namespace stress_internal
}  // namespace bench

#endif  // IOREQ_BENCH_INTERNAL_SLOT_BALANCE_H_
