// The bounded multi-threaded test: several VMs, vCPUs and clients at once,
// every request checked end to end. Passes under --config=tsan too.
#include "bench/stress_workload.h"

#include "absl/strings/match.h"
#include "gtest/gtest.h"

namespace bench {
namespace {

void ExpectClean(const StressConfig& config) {
  absl::StatusOr<StressResult> r = RunStress(config);
  ASSERT_TRUE(r.ok()) << r.status();
  for (const std::string& p : r->problems) ADD_FAILURE() << p;
  EXPECT_EQ(r->issued, static_cast<uint64_t>(config.requests));
  EXPECT_EQ(r->completed, r->issued);
  EXPECT_EQ(r->lost, 0u);
  EXPECT_EQ(r->duplicated, 0u);
  EXPECT_EQ(r->wrong_value, 0u);
  EXPECT_EQ(r->undelivered_writes, 0u);
  EXPECT_EQ(r->planted, 0u);
  EXPECT_EQ(r->round_trip_ns.count(), r->completed);
  // Every path was taken: folded PCI cycles, in-place completions, and the
  // in-process and default clients.
  EXPECT_GT(r->hsm.cf8cfc_converted, 0u);
  EXPECT_GT(r->hsm.cf8cfc_in_place, 0u);
  EXPECT_GT(r->hsm.dispatched, 0u);
  EXPECT_EQ(r->hsm.completed, r->completed);
  EXPECT_TRUE(r->clean());
}

TEST(Stress, ManyVmsVcpusAndClientsNotified) {
  StressConfig config;
  config.vms = 3;
  config.vcpus = 4;
  config.clients = 3;
  config.requests = 6000;
  config.seed = 7;
  ExpectClean(config);
}

TEST(Stress, ManyVmsVcpusAndClientsPolling) {
  StressConfig config;
  config.vms = 2;
  config.vcpus = 3;
  config.clients = 2;
  config.requests = 4000;
  config.polling = true;
  config.seed = 8;
  ExpectClean(config);
}

TEST(Stress, SixteenVcpusOneVm) {
  StressConfig config;
  config.vms = 1;
  config.vcpus = 16;
  config.clients = 1;
  config.requests = 4000;
  config.seed = 9;
  ExpectClean(config);
}

TEST(Stress, OutputCarriesEveryDocumentedField) {
  StressConfig config;
  config.requests = 200;
  absl::StatusOr<StressResult> r = RunStress(config);
  ASSERT_TRUE(r.ok());
  const std::string json = StressJson(config, *r);
  for (const char* key :
       {"strategy", "vms", "vcpus", "clients", "issued", "completed", "lost",
        "duplicated", "wrong_value", "p50_ns", "p99_ns", "p999_ns", "max_ns",
        "requests_per_s", "cpu_ns_per_request", "plant", "planted"}) {
    EXPECT_TRUE(absl::StrContains(json, absl::StrCat("\"", key, "\": ")))
        << key;
  }
  EXPECT_EQ(json.front(), '{');
  EXPECT_EQ(json.back(), '}');
  EXPECT_TRUE(absl::StrContains(StressText(config, *r), "OK"));
}

// The oracle itself: a bug planted in a device (not the model) must come out
// as the kind of problem it is, and the run must not be clean.
TEST(Stress, TheOracleReportsABugPlantedInADevice) {
  StressConfig config;
  config.requests = 3000;
  config.planted_bug = PlantedBug::kWrongRead;
  absl::StatusOr<StressResult> wrong = RunStress(config);
  ASSERT_TRUE(wrong.ok()) << wrong.status();
  // Each planted wrong answer reported once: every BAR read is checked, and
  // no fault runs beside it to excuse one.
  EXPECT_GT(wrong->planted, 0u);
  EXPECT_EQ(wrong->wrong_value, wrong->planted);
  EXPECT_EQ(wrong->undelivered_writes, 0u);
  EXPECT_FALSE(wrong->clean());
  EXPECT_TRUE(absl::StrContains(StressText(config, *wrong), "wrong_read"));
  config.planted_bug = PlantedBug::kLostWrite;
  absl::StatusOr<StressResult> lost = RunStress(config);
  ASSERT_TRUE(lost.ok()) << lost.status();
  EXPECT_GT(lost->planted, 0u);
  EXPECT_EQ(lost->undelivered_writes, lost->planted);  // each byte dropped
  EXPECT_EQ(lost->wrong_value, 0u);
  EXPECT_FALSE(lost->clean());
  EXPECT_TRUE(absl::StrContains(StressJson(config, *lost), "\"plant\": \"lost_write\""));
  // A finish from a thread that holds nothing: refused by the HSM, and
  // reported, since no fault explains a refused completion.
  config.planted_bug = PlantedBug::kStrayFinish;
  config.seconds = 0.5;
  absl::StatusOr<StressResult> stray = RunStress(config);
  ASSERT_TRUE(stray.ok()) << stray.status();
  EXPECT_GT(stray->hsm.spurious_completions, 0u);
  // Refused, or completing a request the default client held: at most one
  // refusal a stray finish.
  EXPECT_LE(stray->hsm.spurious_completions, stray->planted);
  EXPECT_GT(stray->duplicated, 0u);
  EXPECT_FALSE(stray->clean());
  EXPECT_EQ(ParsePlantedBug("wrong_read").value(), PlantedBug::kWrongRead);
  EXPECT_FALSE(ParsePlantedBug("Wrong_Read").ok());
}

// --rate: each vCPU issues on a schedule (an open loop), not as soon as
// its last request completes, so the run lasts at least the schedule.
TEST(Stress, AnOfferedRateSetsTheSchedule) {
  StressConfig config;
  config.vcpus = 2;
  config.requests = 400;  // 200 a vCPU
  config.offered_rate_per_vcpu = 2000;
  absl::StatusOr<StressResult> r = RunStress(config);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_TRUE(r->clean()) << StressText(config, *r);
  EXPECT_EQ(r->completed, 400u);
  // A vCPU's 200th request is due 199/2000 s after the load starts.
  EXPECT_GE(r->elapsed_s, 199.0 / 2000);
}

TEST(Stress, ConfigValidationNamesTheFlag) {
  StressConfig c;
  c.vcpus = 17;
  EXPECT_TRUE(absl::StrContains(ValidateStressConfig(c).message(), "--vcpus"));
  c = StressConfig();
  c.requests = -1;
  EXPECT_TRUE(absl::StrContains(ValidateStressConfig(c).message(), "--requests"));
  c = StressConfig();
  c.strategy = static_cast<ioreq::Strategy>(99);  // not a strategy
  EXPECT_TRUE(absl::StrContains(ValidateStressConfig(c).message(), "--strategy"));
  c = StressConfig();
  c.topology = static_cast<ioreq::Topology>(99);
  EXPECT_TRUE(absl::StrContains(ValidateStressConfig(c).message(), "--topology"));
  c = StressConfig();
  c.planted_bug = static_cast<PlantedBug>(99);
  EXPECT_TRUE(absl::StrContains(ValidateStressConfig(c).message(), "--plant"));
  c = StressConfig();
  c.vms = 0;
  EXPECT_FALSE(RunStress(c).ok());
}

}  // namespace
}  // namespace bench
