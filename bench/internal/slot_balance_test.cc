// The stress oracle's exactly-once check per slot: a COMPLETE too many, a
// completion never published, and the slots it must not judge.
#include "bench/internal/slot_balance.h"

#include "gtest/gtest.h"

namespace bench {
namespace stress_internal {
namespace {

TEST(SlotBalance, EveryPublishedCompletionTakenOnceBalances) {
  const SlotBalance b = BalanceSlot({.published = 1000, .taken = 1000});
  EXPECT_EQ(b.verdict, SlotVerdict::kBalanced);
  EXPECT_EQ(b.difference, 0u);
}

TEST(SlotBalance, TheHypervisorsOwnAnswersUsedNoSlot) {
  // [acrn-vpci] 40 accesses answered by the hypervisor: the vCPU took them,
  // the HSM never saw them.
  EXPECT_EQ(BalanceSlot({.published = 960, .taken = 1000, .in_hypervisor = 40})
                .verdict,
            SlotVerdict::kBalanced);
}

TEST(SlotBalance, OneCompleteTooManyIsReportedAsOne) {
  const SlotBalance b = BalanceSlot({.published = 1001, .taken = 1000});
  EXPECT_EQ(b.verdict, SlotVerdict::kUnbalanced);
  EXPECT_EQ(b.difference, 1u);
}

TEST(SlotBalance, ACompletionNobodyPublishedIsReported) {
  const SlotBalance b =
      BalanceSlot({.published = 997, .taken = 1000, .in_hypervisor = 1});
  EXPECT_EQ(b.verdict, SlotVerdict::kUnbalanced);
  EXPECT_EQ(b.difference, 2u);
}

TEST(SlotBalance, AnswersTheHypervisorDidNotMakeAreNotExcused) {
  // The HSM published every request once; counting 3 of them as the
  // hypervisor's too leaves 3 completions nobody took.
  const SlotBalance b =
      BalanceSlot({.published = 1000, .taken = 1000, .in_hypervisor = 3});
  EXPECT_EQ(b.verdict, SlotVerdict::kUnbalanced);
  EXPECT_EQ(b.difference, 3u);
}

TEST(SlotBalance, MoreHypervisorAnswersThanCompletionsTakenDoesNotWrap) {
  const SlotBalance b =
      BalanceSlot({.published = 0, .taken = 2, .in_hypervisor = 5});
  EXPECT_EQ(b.verdict, SlotVerdict::kUnbalanced);
  EXPECT_EQ(b.difference, 3u);
}

TEST(SlotBalance, ASlotGarbageReachedIsNotJudged) {
  const SlotBalance b =
      BalanceSlot({.published = 7, .taken = 1, .tainted = true});
  EXPECT_EQ(b.verdict, SlotVerdict::kTainted);
  EXPECT_EQ(b.difference, 0u);
  EXPECT_EQ(BalanceSlot({.published = 7, .taken = 1, .tainted = true,
                         .lost_one = true})
                .verdict,
            SlotVerdict::kTainted);
}

TEST(SlotBalance, TheSlotOfAVcpuThatLostARequestIsNotJudged) {
  // The lost request's completion may come after the vCPU stopped counting.
  const SlotBalance b =
      BalanceSlot({.published = 11, .taken = 10, .lost_one = true});
  EXPECT_EQ(b.verdict, SlotVerdict::kLostOne);
  EXPECT_EQ(b.difference, 0u);
  // Only a lost request excuses a slot: the same counts without one are not
  // balanced.
  EXPECT_EQ(BalanceSlot({.published = 11, .taken = 10}).verdict,
            SlotVerdict::kUnbalanced);
}

}  // namespace
}  // namespace stress_internal
}  // namespace bench
