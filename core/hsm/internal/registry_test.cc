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

std::shared_ptr<ClientState> MakeClient(const char* name, bool is_default) {
  auto client = std::make_shared<ClientState>();
  client->name = name;
  client->is_default = is_default;
  return client;
}

// [destroy] A detached client is gone from its VM's list, its id map and
// its ranges, and the VM no longer keeps it alive; its neighbours stay.
TEST(Registry, ADetachedClientLeavesItsVmAndIsFreed) {
  Registry registry;
  std::shared_ptr<VmState> vm = MakeVm(1);
  ASSERT_TRUE(registry.AddVm(vm).ok());
  std::shared_ptr<ClientState> older = MakeClient("older", false);
  std::shared_ptr<ClientState> leaving = MakeClient("leaving", false);
  std::shared_ptr<ClientState> dm = MakeClient("dm", true);
  const ClientId older_id = *registry.Attach(*vm, older);
  const ClientId leaving_id = *registry.Attach(*vm, leaving);
  ASSERT_TRUE(registry.Attach(*vm, dm).ok());
  ASSERT_EQ(vm->clients.size(), 2u);
  EXPECT_EQ(vm->clients.front(), leaving);  // newest first
  vm->range_index.Add(leaving_id, {kTypePortIo, 0x60, 0x60});
  vm->range_index.Add(older_id, {kTypePortIo, 0x70, 0x70});

  const std::weak_ptr<ClientState> watch = leaving;
  {
    std::lock_guard<std::mutex> lock(vm->clients_mu);
    Registry::DetachLocked(*vm, *leaving);
  }
  ASSERT_TRUE(registry.TakeClient(leaving_id).ok());
  leaving.reset();
  EXPECT_TRUE(watch.expired());
  ASSERT_EQ(vm->clients.size(), 1u);
  EXPECT_EQ(vm->clients.front(), older);
  EXPECT_EQ(vm->by_id.count(leaving_id), 0u);
  EXPECT_EQ(vm->range_index.Find(kTypePortIo, 0x60, 1), std::nullopt);
  EXPECT_EQ(vm->range_index.Find(kTypePortIo, 0x70, 1), older_id);
  EXPECT_EQ(vm->default_client, dm);
}

}  // namespace
}  // namespace hsm_internal
}  // namespace ioreq
