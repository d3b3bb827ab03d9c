// The stress command's oracle with KVM vCPUs as the producers
// (--hypervisor=kvm): a guest runs the mix and checks each value, the host
// accounts every request and every fault around it. Skips (counted as
// skipped) where /dev/kvm is missing or unusable.
#include <string>
#include <tuple>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "bench/stress_workload.h"
#include "core/kvm/kvm_vm.h"
#include "gtest/gtest.h"
#include "core/notify/testing/skip_unless_offered.h"

namespace bench {
namespace {

using ioreq::Strategy;
using ioreq::Topology;

class StressKvm : public ::testing::TestWithParam<Topology> {
 protected:
  void SetUp() override {
    if (absl::Status usable = ioreq::kvm::KvmUsable(); !usable.ok()) {
      GTEST_SKIP() << usable.message();
    }
  }
  StressConfig Config() const {
    StressConfig c;
    c.hypervisor = Producer::kKvm;
    c.topology = GetParam();
    c.strategy = Strategy::kFutex;
    c.vms = 2;
    c.vcpus = 3;
    c.clients = 2;
    c.requests = 3000;
    c.seed = 11;
    return c;
  }
};

void ExpectClean(const StressConfig& c, const StressResult& r) {
  for (const std::string& p : r.problems) ADD_FAILURE() << p;
  // Only garbage may leave a request without a value (a wedged slot given
  // up, or an insert refused, and the VM reset); the guest is told.
  const FaultTally& garbage = r.faults[static_cast<int>(Fault::kGarbage)];
  EXPECT_EQ(r.completed + garbage.gave_up + garbage.insert_refused, r.issued);
  EXPECT_EQ(r.lost, 0u);
  EXPECT_EQ(r.wrong_value, 0u);
  EXPECT_EQ(r.undelivered_writes, 0u);
  EXPECT_EQ(r.guest_errors, 0u);
  EXPECT_TRUE(r.clean());
}

TEST_P(StressKvm, AGuestsMixIsExactNotifiedAndPolled) {
  for (bool polling : {false, true}) {
    StressConfig c = Config();
    c.polling = polling;
    absl::StatusOr<StressResult> r = RunStress(c);
    ASSERT_TRUE(r.ok()) << r.status();
    ExpectClean(c, *r);
    // Every vCPU made its share (a configuration cycle may add one).
    EXPECT_GE(r->issued, 3000u);
    EXPECT_LE(r->issued, 3000u + 6u);
    EXPECT_GT(r->hsm.cf8cfc_converted, 0u);
    EXPECT_GT(r->hsm.cf8cfc_in_place, 0u);
    EXPECT_EQ(r->hypervisor.inserted, r->issued);
  }
}

// Every fault but garbage, whose writer races with the model on purpose
// (bench/stress_garbage_test.cc runs it with KVM, outside ThreadSanitizer).
TEST_P(StressKvm, EveryFaultButGarbageTogetherTimed) {
  StressConfig c = Config();
  c.seconds = 2;
  c.faults.enabled = kEveryFault & ~FaultBit(Fault::kGarbage);
  c.faults.stall_every = 50;
  c.faults.destroy_every = 300;
  c.faults.clear_every = absl::Milliseconds(20);
  c.faults.pause_every = absl::Milliseconds(5);
  c.faults.drop_every = 7;
  absl::StatusOr<StressResult> r = RunStress(c);
  ASSERT_TRUE(r.ok()) << r.status();
  ExpectClean(c, *r);
  EXPECT_GT(r->issued, 100u);
  for (Fault f : kAllFaults) {
    if (!c.faults.on(f)) continue;
    EXPECT_GT(r->faults[static_cast<int>(f)].injected, 0u) << FaultName(f);
  }
}

// --seconds wins over --requests: the guests run their mix until the run
// tells them to stop, not for their share of the request count.
TEST_P(StressKvm, ATimedRunGoesOnPastTheRequestCount) {
  StressConfig c = Config();
  c.requests = 60;  // 10 for each of the six vCPUs
  c.seconds = 1;
  absl::StatusOr<StressResult> r = RunStress(c);
  ASSERT_TRUE(r.ok()) << r.status();
  ExpectClean(c, *r);
  EXPECT_GT(r->issued, 10u * c.requests);
}

// The oracle can fail under KVM too: without the rescan, a dropped
// notification strands a request, and the run says so.
// The acrn profile under real exits (docs/profiles.md): the vPCI answers
// the guest's disabled configuration cycles before the HSM, ACRN's device
// model scans the page, and every fault ACRN survives runs.
TEST_P(StressKvm, AcrnProfileWithEveryFaultItSurvives) {
  for (bool polling : {false, true}) {
    StressConfig c = Config();
    c.profile = ioreq::Profile::kAcrn;
    c.polling = polling;
    c.seconds = 1;  // wins over requests
    c.faults.enabled = kFaultsAcrnSurvives;
    absl::StatusOr<StressResult> r = RunStress(c);
    ASSERT_TRUE(r.ok()) << r.status();
    ExpectClean(c, *r);
    EXPECT_GT(r->hypervisor.handled_in_hypervisor, 0u);
    EXPECT_EQ(r->hypervisor.released_without_value, 0u);
    EXPECT_EQ(r->dm_finish_refused, 0u);
  }
}

TEST_P(StressKvm, WithoutRescanALostRequestIsReported) {
  StressConfig c = Config();
  c.vms = 1;
  c.vcpus = 2;
  c.faults.enabled = FaultBit(Fault::kDrop);
  c.faults.drop_every = 1;
  c.rescan = false;
  c.completion_timeout = absl::Milliseconds(200);
  absl::StatusOr<StressResult> r = RunStress(c);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_FALSE(r->clean());
  // The first loss stops the VM: the other vCPU loses its own first
  // request too, or is stopped before it made one.
  EXPECT_GE(r->lost, 1u);
  EXPECT_LE(r->lost, 2u);
  EXPECT_EQ(r->guest_errors, 0u);  // a lost request is not also a guest error
}

// More vCPUs than the demo above: one may stop inside a configuration
// cycle with the guest's lock held while another spins on it in the guest,
// where no exit would ever come. The lost request stops the whole VM, and
// the run ends with the loss reported (not a hang, not a guest error).
TEST_P(StressKvm, ALostRequestStopsItsVmAndTheRunEnds) {
  StressConfig c = Config();
  c.vms = 1;
  c.vcpus = 6;
  c.faults.enabled = FaultBit(Fault::kDrop);
  c.faults.drop_every = 1;
  c.rescan = false;
  c.completion_timeout = absl::Milliseconds(200);
  c.hang_bound = absl::Seconds(20);
  for (uint64_t seed : {1, 2, 3}) {
    c.seed = seed;
    absl::StatusOr<StressResult> r = RunStress(c);
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_FALSE(r->clean());
    EXPECT_GE(r->lost, 1u);
    EXPECT_LE(r->lost, 6u);
    EXPECT_EQ(r->guest_errors, 0u);
  }
}

INSTANTIATE_TEST_SUITE_P(Topologies, StressKvm,
                         ::testing::Values(Topology::kKernel, Topology::kDirect),
                         [](const ::testing::TestParamInfo<Topology>& info) {
                           return std::string(ioreq::TopologyName(info.param));
                         });

// The conformance suite's promise with KVM vCPUs as the producers: every
// strategy x topology x completion mode, spurious wake-ups injected.
using ConformanceParam = std::tuple<Strategy, Topology, bool>;
class StressKvmConformance
    : public ::testing::TestWithParam<ConformanceParam> {};

TEST_P(StressKvmConformance, NothingLostDuplicatedOrCorrupted) {
  if (absl::Status usable = ioreq::kvm::KvmUsable(); !usable.ok()) {
    GTEST_SKIP() << usable.message();
  }
  IOREQ_SKIP_UNLESS_OFFERED(std::get<0>(GetParam()));
  StressConfig c;
  c.hypervisor = Producer::kKvm;
  c.strategy = std::get<0>(GetParam());
  c.topology = std::get<1>(GetParam());
  c.polling = std::get<2>(GetParam());
  c.vms = 2;
  c.vcpus = 2;
  // Spinners outnumber the cores: each hand-off waits for a time slice.
  c.requests = c.strategy == Strategy::kSpin ? 40 : 600;
  c.seed = 12;
  c.spurious_wakeups = true;
  c.completion_timeout = absl::Seconds(60);
  absl::StatusOr<StressResult> r = RunStress(c);
  ASSERT_TRUE(r.ok()) << r.status();
  ExpectClean(c, *r);
  EXPECT_GE(r->issued, static_cast<uint64_t>(c.requests));
  EXPECT_EQ(r->hsm.completed, r->completed);
}

INSTANTIATE_TEST_SUITE_P(
    AllStrategies, StressKvmConformance,
    ::testing::Combine(::testing::ValuesIn(ioreq::kAllStrategies),
                       ::testing::ValuesIn(ioreq::kAllTopologies),
                       ::testing::Bool()),
    [](const ::testing::TestParamInfo<ConformanceParam>& info) {
      return absl::StrCat(ioreq::StrategyName(std::get<0>(info.param)), "_",
                          ioreq::TopologyName(std::get<1>(info.param)), "_",
                          std::get<2>(info.param) ? "polling" : "notified");
    });

TEST(StressKvmConfig, RefusesWhatAGuestCannotDo) {
  StressConfig c;
  c.hypervisor = Producer::kKvm;
  c.clients = 9;
  EXPECT_TRUE(absl::StrContains(ValidateStressConfig(c).message(), "--clients"));
  c.clients = 2;
  c.offered_rate_per_vcpu = 100;
  EXPECT_TRUE(absl::StrContains(ValidateStressConfig(c).message(), "--rate"));
  EXPECT_EQ(ParseProducer("qemu").status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(*ParseProducer("kvm"), Producer::kKvm);
  EXPECT_STREQ(ProducerName(Producer::kEmulated), "emulated");
}

}  // namespace
}  // namespace bench
