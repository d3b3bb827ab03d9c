#include "core/device_model.h"

namespace ioreq {

absl::Status DeviceModelThread::Start() {
  absl::StatusOr<ClientId> id =
      hsm_->CreateClient(vmid_, "dm", handler_, /*is_default=*/true);
  if (!id.ok()) return id.status();
  client_ = *id;
  thread_ = std::thread([this] { Run(); });
  return absl::OkStatus();
}

void DeviceModelThread::Run() {
  for (;;) {
    absl::StatusOr<uint32_t> pending = hsm_->WaitForRequests(client_);
    if (!pending.ok()) return;  // Cancelled: the client is going away
    hsm_->ServeDefaultRequests(client_, handler_).IgnoreError();
  }
}

void DeviceModelThread::Stop() {
  if (client_ == 0) return;
  hsm_->InterruptWait(client_).IgnoreError();
  if (thread_.joinable()) thread_.join();
  hsm_->DestroyClient(client_).IgnoreError();
  client_ = 0;
}

}  // namespace ioreq
