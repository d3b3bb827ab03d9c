#include "core/placement/placement.h"

#include <sched.h>

#include <algorithm>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"

namespace ioreq {
namespace {

int CurrentCpuAfterYield() {
  sched_yield();  // let the scheduler move us if the mask says so
  return sched_getcpu();
}

TEST(Placement, NamedPlacementsUseTheAllowedCpus) {
  const std::vector<int> allowed = AllowedCpus();
  ASSERT_FALSE(allowed.empty());
  absl::StatusOr<Placement> none = ParsePlacement("none");
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->pinned());
  absl::StatusOr<Placement> same = ParsePlacement("same-core");
  ASSERT_TRUE(same.ok());
  EXPECT_EQ(same->vcpu_cpus, std::vector<int>{allowed[0]});
  EXPECT_EQ(same->hsm_cpus, std::vector<int>{allowed[0]});
  absl::StatusOr<Placement> cross = ParsePlacement("cross-core");
  if (allowed.size() < 2) {
    EXPECT_FALSE(cross.ok());
    return;
  }
  ASSERT_TRUE(cross.ok());
  EXPECT_EQ(cross->vcpu_cpus, std::vector<int>{allowed[0]});
  EXPECT_EQ(cross->hsm_cpus, std::vector<int>{allowed[1]});
  EXPECT_EQ(cross->name, "cross-core");
}

TEST(Placement, ExplicitListsAndBadSpellings) {
  const std::vector<int> allowed = AllowedCpus();
  const std::string one = std::to_string(allowed[0]);
  absl::StatusOr<Placement> p = ParsePlacement(one + "/" + one);
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->vcpu_cpus, std::vector<int>{allowed[0]});
  for (const char* bad : {"", "both", "0", "0/", "/0", "0/1/2", "a/b", "-1/0",
                          "99999/0", "0,,1/0"}) {
    absl::StatusOr<Placement> q = ParsePlacement(bad);
    EXPECT_FALSE(q.ok()) << bad;
    if (!q.ok()) {
      EXPECT_NE(q.status().message().find("--pin="), std::string::npos) << bad;
    }
  }
}

TEST(Placement, ACpuOutsideTheAllowedSetIsRefused) {
  const std::vector<int> allowed = AllowedCpus();
  int outside = 0;
  while (std::find(allowed.begin(), allowed.end(), outside) != allowed.end()) {
    ++outside;
  }
  const std::string in = std::to_string(allowed[0]);
  const std::string out = std::to_string(outside);
  for (const std::string& spelling : {out + "/" + in, in + "/" + out,
                                      in + "," + out + "/" + in}) {
    absl::StatusOr<Placement> p = ParsePlacement(spelling);
    EXPECT_EQ(p.status().code(), absl::StatusCode::kInvalidArgument)
        << spelling;
    if (!p.ok()) {
      EXPECT_NE(p.status().message().find("CPU " + out), std::string::npos) << spelling;
    }
  }
}

TEST(Placement, APinnedThreadRunsWhereItIsPinned) {
  const std::vector<int> allowed = AllowedCpus();
  for (int cpu : allowed) {
    std::thread t([cpu] {
      ASSERT_TRUE(PinCurrentThread({cpu}).ok());
      for (int i = 0; i < 20; ++i) EXPECT_EQ(CurrentCpuAfterYield(), cpu);
    });
    t.join();
  }
}

TEST(Placement, ScopedPinGivesTheMaskBack) {
  const std::vector<int> allowed = AllowedCpus();
  std::thread t([&] {
    {
      ScopedPin pin({allowed.back()});
      ASSERT_TRUE(pin.status().ok());
      EXPECT_EQ(CurrentCpuAfterYield(), allowed.back());
    }
    cpu_set_t set;
    CPU_ZERO(&set);
    ASSERT_EQ(sched_getaffinity(0, sizeof(set), &set), 0);
    EXPECT_EQ(CPU_COUNT(&set), static_cast<int>(allowed.size()));
  });
  t.join();
}

}  // namespace
}  // namespace ioreq
