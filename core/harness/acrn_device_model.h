// core/harness/acrn_device_model.h: a device model that follows ACRN's
// contract with the HSM.
//
// ACRN's device model (devicemodel/core/main.c) does not trust a bitmap of
// its own requests: after each wake it scans every slot of the shared page
// for PROCESSING && !kernel_handled [kernel-handled], emulates what it finds
// straight in the slot, and reports each one with
// ACRN_IOCTL_NOTIFY_REQUEST_FINISH. While the VM is being reset it emulates
// but leaves the notification to the clear (ACRN_IOCTL_CLEAR_VM_IOREQ),
// since a notification could let a vCPU run again. This is that loop, for
// the `acrn` profile (core/profile/profile.h); the hardened profile uses
// DeviceModelThread (device_model.h), which serves its pending bitmap.
//
// What it counts is what such a device model would suffer: a request it
// emulated whose finish the HSM refused (it was not the default client's:
// either routing let it see an in-process client's request, or a clear got
// there first), and requests whose notification a reset postponed.
//
// Example:
//   ioreq::AcrnDeviceModelThread dm(&hsm, vm, hv.shared_page(vm),
//                                   /*vcpu_num=*/4, pci.DefaultDeviceModel());
//   if (!dm.Start().ok()) ...;
//   dm.ResetVm([&] { return hsm.ResetVm(vm); });  // as ACRN's reset does
//   dm.Stop();
#ifndef IOREQ_CORE_HARNESS_ACRN_DEVICE_MODEL_H_
#define IOREQ_CORE_HARNESS_ACRN_DEVICE_MODEL_H_

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "core/abi/abi.h"
#include "core/harness/device_model.h"
#include "core/hsm/hsm.h"

namespace ioreq {

struct AcrnDeviceModelStats {
  uint64_t scans = 0;            // passes over every slot
  uint64_t emulated = 0;         // requests found and emulated
  uint64_t finish_refused = 0;   // the HSM refused the finish ioctl
  uint64_t postponed = 0;        // emulated during a reset, not notified
  uint64_t unknown_type = 0;     // ACRN's device model exits on these
};

class AcrnDeviceModelThread {
 public:
  // `page`: the VM's shared page, as the device model maps it.
  AcrnDeviceModelThread(Hsm* hsm, uint16_t vmid, SharedPage* page,
                        uint32_t vcpu_num, IoHandler handler,
                        std::vector<int> cpus = {});
  ~AcrnDeviceModelThread() { Stop(); }
  AcrnDeviceModelThread(const AcrnDeviceModelThread&) = delete;
  AcrnDeviceModelThread& operator=(const AcrnDeviceModelThread&) = delete;

  // Attaches as the VM's default client and starts the loop.
  absl::Status Start() { return thread_.Start(); }
  // Interrupts the wait, joins, destroys the client. Idempotent.
  void Stop() { thread_.Stop(); }

  // One scan of every slot, on the caller's thread (the loop calls it after
  // each wake; tests call it directly). Returns how many it emulated. Each
  // finish names the VM (Hsm::NotifyRequestFinish(vmid, vcpu)), or, given
  // the device model's own handle (the loop's), goes through it with no
  // look-up, as ACRN's device model's ioctl goes through its file.
  int ScanOnce();
  int ScanOnce(const ClientHandle& client);

  // Runs `reset` (pause, clear, reset, resume) as ACRN's device model runs
  // its VM reset: marked resetting first, so a scan under way emulates but
  // does not notify, then exclusive with every scan.
  absl::Status ResetVm(const std::function<absl::Status()>& reset);

  ClientId client() const { return thread_.client(); }
  AcrnDeviceModelStats stats() const;
  // A ResetVm() has begun and not ended (for tests that start one while a
  // scan is under way).
  bool resetting() const { return resetting_.load(std::memory_order_acquire); }

  // For tests that change a slot under a scan: called on the scanning
  // thread after the scan read PROCESSING in `vcpu`'s slot and before it
  // reads kernel_handled, the window in which a stalled device model can
  // see one request's state and the next one's owner. Set before scanning.
  void set_after_processing_seen(std::function<void(uint32_t vcpu)> hook) {
    after_processing_seen_ = std::move(hook);
  }

 private:
  // ScanOnce(), finishing through `client` where it is not null.
  int Scan(const ClientHandle* client);

  Hsm* const hsm_;
  const uint16_t vmid_;
  SharedPage* const page_;
  const uint32_t vcpu_num_;
  const IoHandler handler_;
  std::function<void(uint32_t)> after_processing_seen_;
  // The attachment and the wait loop; after each wake it calls ScanOnce()
  // with its handle.
  // ACRN_IOCTL_ATTACH_IOREQ_CLIENT returns 0 there, and the device model
  // looks at no bitmap, so neither does the scan.
  DeviceModelThread thread_;

  // Lock order: scan_mu_ before the HSM's locks (a scan calls the HSM's
  // finish ioctl while holding it; the HSM never calls back into this).
  std::mutex scan_mu_;
  std::condition_variable reset_done_;  // resetting_ back to false
  std::atomic<bool> resetting_{false};
  std::atomic<uint64_t> scans_{0}, emulated_{0}, finish_refused_{0},
      postponed_{0}, unknown_type_{0};
};

}  // namespace ioreq

#endif  // IOREQ_CORE_HARNESS_ACRN_DEVICE_MODEL_H_
