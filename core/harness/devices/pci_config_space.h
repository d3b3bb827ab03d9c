// core/harness/devices/pci_config_space.h: PCI configuration space of a few devices.
//
// What the default client (the device model in user space) emulates for
// PCICFG requests, which the HSM folds out of 0xCF8/0xCFC port pairs
// [cf8cfc]. Each function has 4 KiB of configuration space. The header is
// read-only except Command (0x04..0x05) and Interrupt Line (0x3C); from 0x40
// on, the space is plain read/write memory. A function that does not exist
// reads all-ones and ignores writes, as on real hardware.
//
// DefaultDeviceModel() wraps it as the default client's handler: PCICFG goes
// to the configuration space; any other request reaching the default client
// (an address no range owns) reads all-ones and is otherwise ignored.
//
// Example:
//   ioreq::PciConfigSpace pci;
//   pci.AddDevice(0, 3, 0, /*vendor=*/0x1af4, /*device=*/0x1000, 0x020000);
//   uint32_t id = pci.Read(0, 3, 0, 0x00, 4);  // 0x10001af4
#ifndef IOREQ_CORE_HARNESS_DEVICES_PCI_CONFIG_SPACE_H_
#define IOREQ_CORE_HARNESS_DEVICES_PCI_CONFIG_SPACE_H_

#include <array>
#include <cstdint>
#include <map>
#include <mutex>
#include <tuple>

#include "absl/status/status.h"
#include "core/abi/abi.h"
#include "core/abi/slot_decode.h"
#include "core/hsm/client.h"
#include "core/profile/profile.h"

namespace ioreq {

class PciConfigSpace {
 public:
  static constexpr uint32_t kConfigSize = 4096;

  // Under Profile::kAcrn it answers as ACRN's PCI core
  // (devicemodel/hw/pci/core.c, pci_cfgrw()) [acrn-devices]: an access of a
  // size other than 1, 2 or 4, or not aligned to its size, reads all-ones
  // and writes nothing; at or above 0x100 (no extended space on an emulated
  // device) reads all-ones, except 0x100..0x103 (up to PCI_REGMAX + 4),
  // which read 0 (no extended capability), and writes nothing.
  explicit PciConfigSpace(Profile profile = Profile::kHardened)
      : profile_(profile) {}

  // Adds the devices every stress VM has: a host bridge (00:00.0),
  // virtio-net (00:03.0), a test device (00:04.0), virtio-blk (01:00.0).
  void AddStandardDevices();

  void AddDevice(uint32_t bus, uint32_t dev, uint32_t func, uint16_t vendor,
                 uint16_t device, uint32_t class_code);

  uint32_t Read(uint32_t bus, uint32_t dev, uint32_t func, uint32_t reg,
                uint32_t size) const;
  void Write(uint32_t bus, uint32_t dev, uint32_t func, uint32_t reg,
             uint32_t size, uint32_t value);

  // Emulates a PCICFG request.
  absl::Status Handle(IoAccess& access);

  uint64_t unclaimed() const;  // non-PCICFG requests seen by DefaultDeviceModel
  IoHandler DefaultDeviceModel();

 private:
  using Key = std::tuple<uint32_t, uint32_t, uint32_t>;
  using Space = std::array<uint8_t, kConfigSize>;
  static bool Writable(uint32_t reg);
  // [acrn-devices] What ACRN's PCI core answers itself, without the space.
  bool AcrnRefuses(uint32_t reg, uint32_t size) const {
    return profile_ == Profile::kAcrn &&
           (reg >= 0x100 || (reg & (size - 1)) != 0);
  }

  const Profile profile_;

  mutable std::mutex mu_;
  std::map<Key, Space> functions_;  // guarded by mu_
  uint64_t unclaimed_ = 0;          // guarded by mu_
};

}  // namespace ioreq

#endif  // IOREQ_CORE_HARNESS_DEVICES_PCI_CONFIG_SPACE_H_
