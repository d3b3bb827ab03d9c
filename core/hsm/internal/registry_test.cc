// Registry: the VM map and the lock-free table a request's path reads.
#include "core/hsm/internal/registry.h"

#include <memory>

#include "gtest/gtest.h"

namespace ioreq {
namespace hsm_internal {
namespace {

std::shared_ptr<VmState> MakeVm(uint16_t vmid) {
  auto vm = std::make_shared<VmState>();
  vm->vmid = vmid;
  vm->vcpu_num = 1;
  return vm;
}

TEST(Registry, VmInPassFindsWhatTheMapHoldsOverTheWholeIdRange) {
  Registry registry;
  for (uint16_t vmid : {0, 1, 255, 256, 300, 0xFFFF}) {
    EXPECT_EQ(registry.VmInPass(vmid), nullptr) << vmid;
    std::shared_ptr<VmState> vm = MakeVm(vmid);
    ASSERT_TRUE(registry.AddVm(vm).ok());
    EXPECT_EQ(registry.VmInPass(vmid), vm.get()) << vmid;
    EXPECT_EQ(registry.FindVm(vmid)->get(), vm.get());
  }
  // Neighbours of a VM on the same page are not it.
  EXPECT_EQ(registry.VmInPass(2), nullptr);
  EXPECT_EQ(registry.VmInPass(0xFFFE), nullptr);
  // A second VM with an id in use is refused and changes nothing.
  VmState* first = registry.VmInPass(300);
  EXPECT_FALSE(registry.AddVm(MakeVm(300)).ok());
  EXPECT_EQ(registry.VmInPass(300), first);
  // Removed: gone from both; removing again is harmless.
  registry.RemoveVm(300);
  EXPECT_EQ(registry.VmInPass(300), nullptr);
  EXPECT_FALSE(registry.FindVm(300).ok());
  registry.RemoveVm(300);
  registry.RemoveVm(12345);  // never added, on a page never made
  EXPECT_NE(registry.VmInPass(256), nullptr);
}

}  // namespace
}  // namespace hsm_internal
}  // namespace ioreq
