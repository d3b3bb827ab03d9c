// StressJson() and StressText(): every count lands under its own name.
// The result is made by hand with a distinct number in every field, so a
// count printed under another's name, or not at all, is seen.
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/match.h"
#include "bench/stress_workload.h"
#include "gtest/gtest.h"

namespace bench {
namespace {

// The "hsm" member (the model's own counters, some named as the run's are)
// and the JSON without it.
std::pair<std::string, std::string> SplitHsm(const std::string& json) {
  const std::string head = "\"hsm\": {";
  const size_t at = json.find(head);
  if (at == std::string::npos) return {"", json};
  const size_t end = json.find('}', at);  // the counters hold no object
  return {json.substr(at, end + 1 - at),
          json.substr(0, at) + json.substr(end + 1)};
}

// The text after `"key": ` up to the next ',' or '}' ("" if absent).
std::string Member(const std::string& json, const std::string& key) {
  const std::string head = absl::StrCat("\"", key, "\": ");
  const size_t at = json.find(head);
  if (at == std::string::npos) return "";
  const size_t begin = at + head.size();
  return json.substr(begin, json.find_first_of(",}", begin) - begin);
}

StressConfig Config() {
  StressConfig c;
  c.vms = 3;
  c.vcpus = 5;
  c.clients = 7;
  c.seed = 9;
  c.polling = true;
  c.faults.enabled = FaultBit(Fault::kClear) | FaultBit(Fault::kDrop) |
                     FaultBit(Fault::kGarbage);
  return c;
}

StressResult Result() {
  StressResult r;
  r.issued = 101;
  r.completed = 102;
  r.lost = 103;
  r.duplicated = 104;
  r.wrong_value = 105;
  r.undelivered_writes = 106;
  r.planted = 107;
  r.guest_errors = 108;
  r.dm_finish_refused = 109;
  r.dm_postponed = 110;
  r.hypervisor.notifications = 111;
  r.hypervisor.rescued_by_rescan = 112;
  r.hypervisor.handled_in_hypervisor = 113;
  r.hypervisor.gp_injected = 114;
  r.hypervisor.released_without_value = 115;
  r.hypervisor.posted = 116;
  r.hypervisor.posted_reads = 117;
  r.hypervisor.posted_corrupt = 118;
  r.vm_resets = 119;
  r.vm_reset_failures = 120;
  r.changed_by_garbage = 121;
  r.fault_errors = 122;
  r.slots_checked_exactly_once = 123;
  r.slots_tainted = 124;
  FaultTally& clear = r.faults[static_cast<int>(Fault::kClear)];
  clear.injected = 131;
  clear.touched = 132;
  clear.completed = 133;
  clear.other_value = 134;
  clear.all_ones = 135;
  clear.gave_up = 136;
  clear.insert_refused = 137;
  r.faults[static_cast<int>(Fault::kDrop)].injected = 141;
  r.faults[static_cast<int>(Fault::kGarbage)].injected = 151;
  r.hsm.dispatch_passes = 161;
  r.hsm.dispatched = 162;
  r.hsm.cf8cfc_converted = 163;
  r.hsm.cf8cfc_in_place = 164;
  r.hsm.posted_signaled = 165;
  r.hsm.posted_unknown = 166;
  r.hsm.completed_while_clearing = 167;
  r.hsm.forced_by_clear = 168;
  r.elapsed_s = 2;
  r.cpu_s = 0.5;
  r.syscalls = 204;
  return r;
}

TEST(StressJson, EveryCountUnderItsOwnName) {
  const auto [hsm, json] = SplitHsm(StressJson(Config(), Result()));
  const std::pair<const char*, const char*> members[] = {
      {"vms", "3"},
      {"vcpus", "5"},
      {"clients", "7"},
      {"seed", "9"},
      {"polling", "true"},
      {"carry_wakes", "false"},
      {"issued", "101"},
      {"completed", "102"},
      {"lost", "103"},
      {"duplicated", "104"},
      {"wrong_value", "105"},
      {"undelivered_writes", "106"},
      {"planted", "107"},
      {"guest_errors", "108"},
      {"dm_finish_refused", "109"},
      {"dm_postponed", "110"},
      {"notifications", "111"},
      {"completions_rescued_by_rescan", "112"},
      {"handled_in_hypervisor", "113"},
      {"gp_injected", "114"},
      {"released_without_value", "115"},
      {"posted", "116"},
      {"posted_reads", "117"},
      {"posted_corrupt", "118"},
      {"vm_resets", "119"},
      {"vm_reset_failures", "120"},
      {"changed_by_garbage", "121"},
      {"fault_errors", "122"},
      {"slots_checked_exactly_once", "123"},
      {"slots_tainted", "124"},
      {"requests_per_s", "51.0"},          // 102 over 2 s
      {"cpu_ns_per_request", "4901960.8"},  // 0.5 s over 102
      {"syscalls_per_request", "2.000"},   // 204 over 102
      {"elapsed_s", "2.000"},
      {"ok", "false"},
  };
  for (const auto& [key, value] : members) {
    EXPECT_EQ(Member(json, key), value) << key << " in " << json;
  }
  EXPECT_TRUE(absl::StrContains(
      json,
      "\"clear\": {\"injected\": 131, \"touched\": 132, \"completed\": 133, "
      "\"other_value\": 134, \"all_ones\": 135, \"gave_up\": 136, "
      "\"insert_refused\": 137}"))
      << json;
  EXPECT_TRUE(absl::StrContains(json, "\"drop\": {\"injected\": 141,")) << json;
  EXPECT_TRUE(absl::StrContains(json, "\"garbage\": {\"injected\": 151,"))
      << json;
  EXPECT_FALSE(absl::StrContains(json, "\"stall\"")) << json;  // not on
  EXPECT_EQ(Member(hsm, "dispatch_passes"), "161");
  EXPECT_EQ(Member(hsm, "posted_signaled"), "165");
  EXPECT_EQ(Member(hsm, "posted_corrupt"), "0");  // the HSM's own count
}

// No fault on: no fault members at all; a clean result says ok.
TEST(StressJson, NoFaultMembersWithoutFaultsAndOkWhenClean) {
  StressConfig c = Config();
  c.faults.enabled = 0;
  StressResult r;
  r.issued = r.completed = 10;
  const std::string json = StressJson(c, r);
  for (const char* key : {"faults", "vm_resets", "slots_tainted", "fault_errors"}) {
    EXPECT_FALSE(absl::StrContains(json, absl::StrCat("\"", key, "\"")))
        << key;
  }
  EXPECT_EQ(Member(json, "ok"), "true");
  EXPECT_EQ(json.back(), '}');
}

TEST(StressText, EveryCountOnItsLine) {
  StressConfig c = Config();
  c.posted_doorbell = true;
  c.profile = ioreq::Profile::kAcrn;
  c.hypervisor = Producer::kKvm;
  const std::string text = StressText(c, Result());
  for (const char* line : {
           "3 VM(s) x 5 vCPU(s), 7 BAR client(s), polling completion, seed 9",
           "requests   issued 101, completed 102, lost 103, duplicated 104, "
           "wrong value 105, undelivered writes 106\n",
           "throughput 51 requests/s over 2.00 s; CPU 4901961 ns/request; "
           "2.00 syscalls/request\n",
           "HSM        161 passes, 162 dispatched, 163 PCI cycles folded, 164 "
           "completed in place\n",
           "posted     116 doorbell accesses posted (117 reads), 165 signalled "
           "by the HSM, 166 unknown, 118 found the ring corrupt\n",
           "acrn       113 completed by the hypervisor's vPCI; 114 #GP "
           "injected; 115 vCPUs released without a value; device model: 109 "
           "finishes refused, 110 left to a clear\n",
           "fault clear   injected 131; touched 132 requests: 133 completed as "
           "the device says, 134 with another value (135 all-ones), 136 given "
           "up (wedged), 137 refused (slot not FREE)\n",
           "model: 167 completed by clear, 168 forced by clear\n",
           "VM resets  119 (120 retried); exactly once checked on 123 slot(s), "
           "124 reached by garbage; 121 reads changed while garbage ran\n",
           "guests     108 error(s)\n",
           "result     FAILED\n",
       }) {
    EXPECT_TRUE(absl::StrContains(text, line)) << line << "\nin:\n" << text;
  }
  EXPECT_FALSE(absl::StrContains(text, "fault stall")) << text;
}

// The lines a run without those parts does not have.
TEST(StressText, LinesOnlyWhereTheirPartRan) {
  StressConfig c = Config();
  c.faults.enabled = 0;
  StressResult r;
  r.issued = r.completed = 10;
  const std::string text = StressText(c, r);
  for (const char* absent : {"posted ", "acrn ", "fault ", "VM resets", "guests ",
                             "planted "}) {
    EXPECT_FALSE(absl::StrContains(text, absent)) << absent << "\n" << text;
  }
  EXPECT_TRUE(absl::StrContains(
      text, "result     OK: every request completed exactly once"));
}

}  // namespace
}  // namespace bench
