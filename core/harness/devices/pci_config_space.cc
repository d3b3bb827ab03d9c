#include "core/harness/devices/pci_config_space.h"

#include "absl/strings/str_format.h"
#include "core/abi/slot_decode.h"

namespace ioreq {

void PciConfigSpace::AddStandardDevices() {
  AddDevice(0, 0, 0, 0x8086, 0x1237, 0x060000);  // host bridge
  AddDevice(0, 3, 0, 0x1AF4, 0x1000, 0x020000);  // virtio-net
  AddDevice(0, 4, 0, 0x1B36, 0x0005, 0x00FF00);  // test device
  AddDevice(1, 0, 0, 0x1AF4, 0x1001, 0x010000);  // virtio-blk, bus 1
}

void PciConfigSpace::AddDevice(uint32_t bus, uint32_t dev, uint32_t func,
                               uint16_t vendor, uint16_t device,
                               uint32_t class_code) {
  Space space{};
  space[0x00] = vendor & 0xFF;
  space[0x01] = vendor >> 8;
  space[0x02] = device & 0xFF;
  space[0x03] = device >> 8;
  space[0x09] = class_code & 0xFF;          // programming interface
  space[0x0A] = (class_code >> 8) & 0xFF;   // subclass
  space[0x0B] = (class_code >> 16) & 0xFF;  // class
  space[0x3D] = 0x01;                       // interrupt pin INTA#
  std::lock_guard<std::mutex> lock(mu_);
  functions_[Key{bus, dev, func}] = space;
}

bool PciConfigSpace::Writable(uint32_t reg) {
  return reg == 0x04 || reg == 0x05 || reg == 0x3C || reg >= 0x40;
}

uint32_t PciConfigSpace::Read(uint32_t bus, uint32_t dev, uint32_t func,
                              uint32_t reg, uint32_t size) const {
  std::lock_guard<std::mutex> lock(mu_);
  // Checked without overflow: a hostile request may carry any reg and size.
  if (size < 1 || size > 4 || reg >= kConfigSize || size > kConfigSize - reg) {
    return ~uint32_t{0};
  }
  auto it = functions_.find(Key{bus, dev, func});
  if (it == functions_.end()) return static_cast<uint32_t>(SizeMask(size));
  if (size == 3 && profile_ == Profile::kAcrn) return ~uint32_t{0};
  if (AcrnRefuses(reg, size)) {
    // pci_cfgrw(): `coff <= PCI_REGMAX + 4` reads 0, PCI_REGMAX being 255.
    constexpr uint32_t kNoExtendedCapabilityLast = 0xFF + 4;
    return reg >= 0x100 && reg <= kNoExtendedCapabilityLast ? 0 : ~uint32_t{0};
  }
  uint32_t value = 0;
  for (uint32_t i = 0; i < size; ++i) {
    value |= uint32_t{it->second[reg + i]} << (8 * i);
  }
  return value;
}

void PciConfigSpace::Write(uint32_t bus, uint32_t dev, uint32_t func,
                           uint32_t reg, uint32_t size, uint32_t value) {
  if (size < 1 || size > 4 || reg >= kConfigSize || size > kConfigSize - reg) {
    return;
  }
  if ((size == 3 && profile_ == Profile::kAcrn) || AcrnRefuses(reg, size)) {
    return;
  }
  std::lock_guard<std::mutex> lock(mu_);
  auto it = functions_.find(Key{bus, dev, func});
  if (it == functions_.end()) return;
  for (uint32_t i = 0; i < size; ++i) {
    if (Writable(reg + i)) {
      it->second[reg + i] = static_cast<uint8_t>(value >> (8 * i));
    }
  }
}

absl::Status PciConfigSpace::Handle(IoAccess& a) {
  if (a.type != kTypePciCfg) {
    return absl::InvalidArgumentError("not a PCICFG request");
  }
  const uint32_t size = static_cast<uint32_t>(a.size);
  const uint32_t reg = static_cast<uint32_t>(a.address);
  if (a.direction == kDirRead) {
    a.value = Read(a.bus, a.dev, a.func, reg, size);
  } else {
    Write(a.bus, a.dev, a.func, reg, size, static_cast<uint32_t>(a.value));
  }
  return absl::OkStatus();
}

uint64_t PciConfigSpace::unclaimed() const {
  std::lock_guard<std::mutex> lock(mu_);
  return unclaimed_;
}

IoHandler PciConfigSpace::DefaultDeviceModel() {
  return [this](IoAccess& a) -> absl::Status {
    if (a.type == kTypePciCfg) return Handle(a);
    {
      std::lock_guard<std::mutex> lock(mu_);
      ++unclaimed_;
    }
    if (a.direction == kDirRead) a.value = ~uint64_t{0};
    return absl::OkStatus();
  };
}

}  // namespace ioreq
