// core/harness/manual_rig.h: a System (core/harness/system.h) with one VM,
// driven by hand, for deterministic unit tests.
//
// Nothing runs by itself (HsmOptions::run_threads = false): a test inserts a
// request as the vCPU, calls Dispatch() as the dispatcher, ServeClient() as
// an in-process client and ServeDefaultRequests() as the device model, and
// looks at the slot between the steps. The range index is checked against
// the kernel's linear scan on every lookup.
//
// Example:
//   ioreq::testing::ManualRig rig(/*vcpus=*/2);
//   ASSERT_TRUE(rig.hv.InsertRequest(rig.vm, 0, ioreq::PortRead(0x3fd, 1),
//                                    /*polling=*/false).ok());
//   rig.hsm.Dispatch();
//   EXPECT_EQ(rig.State(0), ioreq::kStateProcessing);
#ifndef IOREQ_CORE_HARNESS_MANUAL_RIG_H_
#define IOREQ_CORE_HARNESS_MANUAL_RIG_H_

#include <cstdint>
#include <string>

#include "core/abi/slot_state.h"
#include "core/harness/system.h"
#include "core/hsm/hsm.h"
#include "gtest/gtest.h"

namespace ioreq {
namespace testing {

inline HsmOptions ManualOptions(Topology topology = Topology::kKernel) {
  HsmOptions options;
  options.topology = topology;
  options.run_threads = false;
  options.check_range_index = true;
  options.clear_drain_timeout = absl::Milliseconds(20);
  return options;
}

// "kernel" / "direct", for the names of tests parametrized on the topology.
inline std::string TopologyParamName(
    const ::testing::TestParamInfo<Topology>& info) {
  return TopologyName(info.param);
}

// A System with one VM, driven by hand.
struct ManualRig : System {
  explicit ManualRig(uint32_t vcpus = 4, HsmOptions options = ManualOptions(),
                     Profile profile = Profile::kHardened)
      : System(Strategy::kEventfd, options, profile),
        vm(AddVm(vcpus).value()) {}

  IoRequest& Slot(uint32_t vcpu) { return hv.shared_page(vm)->slots[vcpu]; }
  uint32_t State(uint32_t vcpu) { return LoadStateAcquire(Slot(vcpu)); }

  // A client that answers every read with `value` and counts its calls.
  ClientId AddConstantClient(const char* name, uint64_t value,
                             int* calls = nullptr) {
    return hsm
        .CreateClient(vm, name,
                      [value, calls](IoAccess& access) {
                        if (calls != nullptr) ++*calls;
                        if (access.direction == kDirRead) {
                          access.value = value;
                        }
                        return absl::OkStatus();
                      },
                      /*is_default=*/false)
        .value();
  }

  const uint16_t vm;
};

}  // namespace testing
}  // namespace ioreq

#endif  // IOREQ_CORE_HARNESS_MANUAL_RIG_H_
