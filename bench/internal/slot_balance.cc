#include "bench/internal/slot_balance.h"

namespace bench {
namespace stress_internal {

SlotBalance BalanceSlot(const SlotTally& tally) {
  if (tally.tainted) return {SlotVerdict::kTainted, 0};
  if (tally.lost_one) return {SlotVerdict::kLostOne, 0};
  // Summed, not subtracted: a hypervisor that claims more answers than its
  // vCPU took is unbalanced too, with no unsigned wrap-around.
  const uint64_t answered = tally.published + tally.in_hypervisor;
  if (answered == tally.taken) return {SlotVerdict::kBalanced, 0};
  return {SlotVerdict::kUnbalanced, answered > tally.taken
                                        ? answered - tally.taken
                                        : tally.taken - answered};
}

}  // namespace stress_internal
}  // namespace bench
