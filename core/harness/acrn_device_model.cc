#include "core/harness/acrn_device_model.h"

#include <cstring>
#include <utility>

#include "core/abi/slot_decode.h"
#include "core/abi/slot_state.h"

namespace ioreq {

AcrnDeviceModelThread::AcrnDeviceModelThread(Hsm* hsm, uint16_t vmid,
                                             SharedPage* page,
                                             uint32_t vcpu_num,
                                             IoHandler handler,
                                             std::vector<int> cpus)
    : hsm_(hsm),
      vmid_(vmid),
      page_(page),
      vcpu_num_(vcpu_num),
      handler_(std::move(handler)),
      thread_(hsm, vmid, handler_, std::move(cpus),
              [this](const ClientHandle& client) { ScanOnce(client); }) {}

int AcrnDeviceModelThread::ScanOnce() { return Scan(nullptr); }

int AcrnDeviceModelThread::ScanOnce(const ClientHandle& client) {
  return Scan(&client);
}

int AcrnDeviceModelThread::Scan(const ClientHandle* client) {
  std::unique_lock<std::mutex> lock(scan_mu_);
  // ACRN's device model runs its reset on the thread that scans: no scan
  // starts while one is under way (it would emulate again what the scan
  // before it left to the clear).
  reset_done_.wait(lock, [this] {
    return !resetting_.load(std::memory_order_acquire);
  });
  scans_.fetch_add(1, std::memory_order_relaxed);
  int found = 0;
  for (uint32_t vcpu = 0; vcpu < vcpu_num_; ++vcpu) {
    IoRequest& slot = page_->slots[vcpu];
    // Acquire pairs with routing's release of PROCESSING (the dispatcher's
    // or a claimer's compare-exchange); kernel_handled's acquire pairs with
    // every release store of it: the dispatcher's before PROCESSING (a scan
    // that read the previous request's PROCESSING and stalled may read the
    // next one's 0), and the 0 stored when a request becomes the device
    // model's after PROCESSING (a direct claim, a hand-over on destroy).
    if (LoadStateAcquire(slot) != kStateProcessing) continue;
    if (after_processing_seen_) after_processing_seen_(vcpu);
    if (LoadKernelHandledAcquire(slot) != 0) continue;
    ++found;
    emulated_.fetch_add(1, std::memory_order_relaxed);
    // A PROCESSING slot is the device model's to read, as ACRN's reads its
    // mapped page; decoded from one copy.
    IoRequest copy;
    std::memcpy(static_cast<void*>(&copy), &slot, sizeof(copy));
    uint64_t value = ~uint64_t{0};
    bool read = true;
    if (CheckRequest(copy) != SlotCheck::kValid) {
      // ACRN's device model exits here; the model answers all-ones.
      unknown_type_.fetch_add(1, std::memory_order_relaxed);
    } else {
      IoAccess access = DecodeAccess(copy);
      read = access.direction == kDirRead;
      if (handler_(access).ok()) value = access.value;
    }
    // Emulated straight in the slot, as the mapped page is written.
    if (read) SetRequestValue(slot, value);
    // Pairs with the release store in ResetVm(): once a reset has begun,
    // the clear completes what this scan emulated.
    if (resetting_.load(std::memory_order_acquire)) {
      postponed_.fetch_add(1, std::memory_order_relaxed);
      continue;
    }
    const absl::Status finished =
        client != nullptr ? hsm_->NotifyRequestFinish(*client, vcpu)
                          : hsm_->NotifyRequestFinish(vmid_, vcpu);
    if (!finished.ok()) {
      finish_refused_.fetch_add(1, std::memory_order_relaxed);
    }
  }
  return found;
}

absl::Status AcrnDeviceModelThread::ResetVm(
    const std::function<absl::Status()>& reset) {
  // Release pairs with the acquire load in ScanOnce().
  resetting_.store(true, std::memory_order_release);
  absl::Status s;
  {
    std::lock_guard<std::mutex> lock(scan_mu_);
    s = reset();
    resetting_.store(false, std::memory_order_release);
  }
  reset_done_.notify_all();
  return s;
}

AcrnDeviceModelStats AcrnDeviceModelThread::stats() const {
  AcrnDeviceModelStats s;
  s.scans = scans_.load(std::memory_order_relaxed);
  s.emulated = emulated_.load(std::memory_order_relaxed);
  s.finish_refused = finish_refused_.load(std::memory_order_relaxed);
  s.postponed = postponed_.load(std::memory_order_relaxed);
  s.unknown_type = unknown_type_.load(std::memory_order_relaxed);
  return s;
}

}  // namespace ioreq
