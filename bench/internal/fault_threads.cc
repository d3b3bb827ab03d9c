#include "bench/internal/fault_threads.h"

#include <mutex>
#include <random>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace bench {
namespace stress_internal {

uint64_t GarbageDue(double per_s, absl::Duration elapsed) {
  if (elapsed <= absl::ZeroDuration()) return 0;
  return static_cast<uint64_t>(per_s * absl::ToDoubleSeconds(elapsed));
}

void GarbageThread(RunState& h, Heartbeat& hb, std::atomic<bool>& stop) {
  std::mt19937_64 rng(h.config.seed ^ 0x6A7BA6E);
  // Paced by the clock, not by the loop: a sleep the scheduler ends late,
  // or a wait for a VM reset to finish with reset_mu, is made up by the
  // next pass, so --garbage_per_s holds over the run on a loaded machine
  // (counting 1 ms per pass wrote a third of the rate beside KVM vCPUs).
  const absl::Time start = absl::Now();
  uint64_t written = 0;
  while (!stop.load(std::memory_order_acquire)) {
    hb.Beat("sleeping between garbage writes");
    absl::SleepFor(absl::Milliseconds(1));
    const uint64_t due = GarbageDue(h.config.faults.garbage_per_s,
                                    absl::Now() - start);
    for (; written < due && !stop.load(std::memory_order_relaxed);
         ++written) {
      // With two VMs or more, VM 0 is the control: garbage never reaches it,
      // so its requests keep the strict oracle (exactly once, values) and
      // prove one VM's hostile hypervisor page does not hurt another VM.
      const size_t first = h.rigs.size() > 1 ? 1 : 0;
      VmRig& rig = *h.rigs[first + rng() % (h.rigs.size() - first)];
      const size_t slot = rng() % h.config.vcpus;
      if (h.config.posted_doorbell && rng() % 8 == 0) {
        // The posted ring is shared memory too [posted].
        auto* ring = reinterpret_cast<uint8_t*>(h.hv.posted_ring(rig.vmid));
        const size_t offset = rng() % 128;  // the header and first entries
        hb.Beat("writing garbage into the posted ring");
        std::lock_guard<std::mutex> lock(rig.reset_mu);
        rig.ring_garbage.fetch_add(1, std::memory_order_seq_cst);
        __atomic_store_n(&ring[offset], static_cast<uint8_t>(rng()),
                         __ATOMIC_RELAXED);
        h.Injected(Fault::kGarbage);
        continue;
      }
      // One write in four goes to the state word, the rest anywhere.
      const size_t offset = rng() % 4 == 0 ? kStateOffset + rng() % 4
                                           : rng() % sizeof(ioreq::IoRequest);
      const uint8_t byte = static_cast<uint8_t>(rng());
      hb.Beat("writing garbage (waits for a VM reset)");
      std::lock_guard<std::mutex> lock(rig.reset_mu);
      // Counted before the write: a request that sees the count unchanged
      // after it completes was not touched.
      rig.marks[slot].garbage.fetch_add(1, std::memory_order_seq_cst);
      auto* bytes = reinterpret_cast<uint8_t*>(
          &h.hv.shared_page(rig.vmid)->slots[slot]);
      // Relaxed atomic byte store: a hostile hypervisor races on purpose.
      __atomic_store_n(&bytes[offset], byte, __ATOMIC_RELAXED);
      h.Injected(Fault::kGarbage);
    }
  }
}

void DestroyThread(RunState& h, Heartbeat& hb, std::atomic<bool>& stop) {
  std::mt19937_64 rng(h.config.seed ^ 0xDE57);
  uint64_t next = static_cast<uint64_t>(h.config.faults.destroy_every);
  while (!stop.load(std::memory_order_acquire)) {
    hb.Beat("waiting for the next destroy");
    if (h.issued.load(std::memory_order_relaxed) < next) {
      absl::SleepFor(absl::Milliseconds(1));
      continue;
    }
    next += static_cast<uint64_t>(h.config.faults.destroy_every);
    VmRig& rig = *h.rigs[rng() % h.rigs.size()];
    const size_t bar = rng() % rig.bar_ids.size();
    hb.Beat("destroying and re-creating a BAR client");
    rig.destroy_epoch.fetch_add(1, std::memory_order_seq_cst);  // odd
    h.Injected(Fault::kDestroy);
    absl::Status s = h.hsm->DestroyClient(rig.bar_ids[bar]);
    absl::StatusOr<ioreq::ClientId> id =
        s.ok() ? h.hsm->CreateClient(rig.vmid, absl::StrCat("bar", bar),
                                    h.BarHandler(&rig, bar), false)
               : absl::StatusOr<ioreq::ClientId>(s);
    if (id.ok()) {
      s = h.hsm->AddRange(*id, ioreq::kTypeMmio, rig.bars[bar]->base(),
                         rig.bars[bar]->last());
    }
    if (!id.ok() || !s.ok()) {
      // The epoch stays odd: every BAR access of this VM is now unchecked.
      h.FaultError(absl::StrFormat("VM %u: re-creating BAR client %u: %s",
                                   rig.vmid, bar,
                                   (id.ok() ? s : id.status()).ToString()));
      return;
    }
    rig.bar_ids[bar] = *id;
    rig.destroy_epoch.fetch_add(1, std::memory_order_seq_cst);  // even
  }
}

void ClearThread(RunState& h, Heartbeat& hb, std::atomic<bool>& stop) {
  std::mt19937_64 rng(h.config.seed ^ 0xC1EA);
  while (!stop.load(std::memory_order_acquire)) {
    hb.Beat("sleeping between clears");
    absl::SleepFor(h.config.faults.clear_every);
    if (stop.load(std::memory_order_acquire)) break;
    VmRig& rig = *h.rigs[rng() % h.rigs.size()];
    hb.Beat("resetting a VM (pause, clear, reset, resume)");
    h.Injected(Fault::kClear);
    // A failure (a vCPU still waited) is counted; the next clear retries.
    h.ResetVmCleanly(rig).IgnoreError();
  }
}

void PauseThread(RunState& h, Heartbeat& hb, std::atomic<bool>& stop) {
  while (!stop.load(std::memory_order_acquire)) {
    hb.Beat("sleeping between pauses");
    absl::SleepFor(h.config.faults.pause_every);
    hb.Beat("pausing the dispatcher");
    h.pause_epoch.fetch_add(1, std::memory_order_seq_cst);  // odd
    h.Injected(Fault::kPause);
    h.hsm->Pause();
    absl::SleepFor(h.config.faults.pause_for);
    h.hsm->Resume();
    h.pause_epoch.fetch_add(1, std::memory_order_seq_cst);  // even
  }
}

}  // namespace stress_internal
}  // namespace bench
