// core/harness/device_model.h: the user-space device model behind the default client.
//
// In ACRN the default client is the device model, a user-space process that
// attaches to the HSM (ACRN_IOCTL_ATTACH_IOREQ_CLIENT), is woken with the
// requests no range owns, emulates them and reports each one finished
// (ACRN_IOCTL_NOTIFY_REQUEST_FINISH). DeviceModelThread is that loop on a
// thread of its own: it creates the default client, serves it until Stop(),
// then destroys it.
//
// Example:
//   ioreq::PciConfigSpace pci;
//   pci.AddStandardDevices();
//   ioreq::DeviceModelThread dm(&hsm, vm, pci.DefaultDeviceModel());
//   if (!dm.Start().ok()) ...;
//   ...
//   dm.Stop();
#ifndef IOREQ_CORE_HARNESS_DEVICE_MODEL_H_
#define IOREQ_CORE_HARNESS_DEVICE_MODEL_H_

#include <pthread.h>

#include <cstdint>
#include <functional>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "core/hsm/hsm.h"
#include "core/placement/placement.h"

namespace ioreq {

class DeviceModelThread {
 public:
  // What the device model does after each wake; by default it serves the
  // requests pending for it (ServeDefaultRequests()). ACRN's device model
  // scans the page instead (acrn_device_model.h).
  using ServeFn = std::function<void(const ClientHandle& client)>;

  // `cpus`: where the thread runs (core/placement/); empty: anywhere.
  DeviceModelThread(Hsm* hsm, uint16_t vmid, IoHandler handler,
                    std::vector<int> cpus = {}, ServeFn serve = nullptr)
      : hsm_(hsm), vmid_(vmid), handler_(std::move(handler)),
        cpus_(std::move(cpus)), serve_(std::move(serve)) {}
  ~DeviceModelThread() { Stop(); }
  DeviceModelThread(const DeviceModelThread&) = delete;
  DeviceModelThread& operator=(const DeviceModelThread&) = delete;

  // Creates the VM's default client and starts serving it.
  absl::Status Start() {
    absl::StatusOr<ClientId> id =
        hsm_->CreateClient(vmid_, "dm", handler_, /*is_default=*/true);
    if (!id.ok()) return id.status();
    client_ = *id;
    absl::StatusOr<ClientHandle> handle = hsm_->Resolve(client_);
    if (!handle.ok()) return handle.status();
    handle_ = *handle;  // resolved once: no look-up per request
    thread_ = std::thread([this] { Run(); });
    pthread_setname_np(thread_.native_handle(), "device-model");
    return absl::OkStatus();
  }

  // Interrupts the wait, joins the thread, destroys the client (requests it
  // still held are completed by the HSM). Idempotent.
  void Stop() {
    if (client_ == 0) return;
    hsm_->InterruptWait(client_).IgnoreError();
    if (thread_.joinable()) thread_.join();
    hsm_->DestroyClient(client_).IgnoreError();
    handle_ = ClientHandle();
    client_ = 0;
  }

  ClientId client() const { return client_; }

 private:
  void Run() {
    if (!cpus_.empty()) PinCurrentThread(cpus_).IgnoreError();  // best effort
    for (;;) {
      absl::StatusOr<uint32_t> pending = hsm_->WaitForRequests(handle_);
      if (!pending.ok()) return;  // Cancelled: the client is going away
      if (serve_) {
        serve_(handle_);
      } else {
        hsm_->ServeDefaultRequests(handle_, handler_).IgnoreError();
      }
    }
  }

  Hsm* const hsm_;
  const uint16_t vmid_;
  const IoHandler handler_;
  const std::vector<int> cpus_;
  const ServeFn serve_;
  ClientId client_ = 0;
  ClientHandle handle_;
  std::thread thread_;
};

}  // namespace ioreq

#endif  // IOREQ_CORE_HARNESS_DEVICE_MODEL_H_
