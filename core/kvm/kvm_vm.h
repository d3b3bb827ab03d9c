// core/kvm/kvm_vm.h: a KVM virtual machine, its memory and its vCPUs.
//
// A thin owner of the file descriptors and mappings of /dev/kvm: one VM
// with one slot of guest memory at physical address 0, and vCPUs that start
// directly in 64-bit mode at CPL 3 (guest user mode) with IOPL 3, paging on
// through an identity map of the low 4 GiB (2 MiB pages): the smallest world
// in which the project's guests (guests/) run plain integer code at native
// speed and may still use port I/O. Why user mode: on a nested kvm_pvm host
// every instruction a guest runs in supervisor mode, or without paging, is
// interpreted by KVM's emulator (about 0.5 µs each, measured: a 2-million
// iteration `dec; jnz` loop took 2.3 s in 32-bit protected mode and 3.3 s
// in 64-bit supervisor mode, 1.7 ms at CPL 3); on hardware virtualization
// the mode makes no difference. Everything outside the memory slot traps:
// port I/O as KVM_EXIT_IO, loads and stores as KVM_EXIT_MMIO (decoded by
// core/kvm/trapped_exit.h). There is no IDT: a guest that faults or halts
// ends in KVM_EXIT_SHUTDOWN.
//
// Create(bytes, /*pc_platform=*/true) makes the VM an unmodified operating
// system expects instead (guests/linux/): the interrupt controllers and the
// timer in the kernel (KVM_CREATE_IRQCHIP, KVM_CREATE_PIT2), every vCPU
// given the CPUID KVM supports, and vCPUs entered in 32-bit protected mode
// as the x86 boot protocol asks (EnterProtected32()).
//
// Every ioctl's result is checked; a failure names the ioctl and errno.
// KvmUsable() says, once per process, whether this machine can run a VM at
// all, and if not why, so a test skips and a command exits 2 with that line.
//
// Example:
//   if (absl::Status s = ioreq::kvm::KvmUsable(); !s.ok()) Skip(s.message());
//   auto vm = *ioreq::kvm::KvmVm::Create(/*memory_bytes=*/2 << 20);
//   vm->WriteIdentityMap(/*gpa=*/0x1000);
//   vm->Load(0x10000, image);
//   ioreq::kvm::KvmVcpu& cpu = **vm->AddVcpu();
//   cpu.EnterUser64(/*rip=*/0x10000, /*rsp=*/0x104000, /*rbx=*/0, 0x1000);
//   while (cpu.Run().ok()) {...}
#ifndef IOREQ_CORE_KVM_KVM_VM_H_
#define IOREQ_CORE_KVM_KVM_VM_H_

#include <linux/kvm.h>
#include <pthread.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"

namespace ioreq {
namespace kvm {

// OK if /dev/kvm opens, speaks API version 12 and creates a VM with a vCPU;
// otherwise FailedPrecondition with one line saying which step failed and
// why. Probed once per process.
absl::Status KvmUsable();

// True when the host's KVM is kvm_pvm (a nested KVM that interprets some
// guest instructions and runs no unmodified operating system; see
// docs/kvm.md).
bool IsPvmHost();

class KvmVcpu {
 public:
  ~KvmVcpu();
  KvmVcpu(const KvmVcpu&) = delete;
  KvmVcpu& operator=(const KvmVcpu&) = delete;

  uint32_t index() const { return index_; }

  // 64-bit mode at CPL 3 with IOPL 3 (port I/O allowed), interrupts off,
  // paging through the identity map at `page_tables`
  // (KvmVm::WriteIdentityMap()); execution starts at `rip` with the stack at
  // `rsp` and `rbx` as the guest's argument.
  absl::Status EnterUser64(uint64_t rip, uint64_t rsp, uint64_t rbx,
                           uint64_t page_tables);

  // 32-bit protected mode, paging off, interrupts off, flat 4 GiB code
  // (selector 0x10) and data (0x18) segments, as the x86 boot protocol's
  // 32-bit entry asks: execution starts at `eip` with `esi` (the zero
  // page's address, for Linux) and every other register 0.
  absl::Status EnterProtected32(uint32_t eip, uint32_t esi);

  // One KVM_RUN. Unavailable (the run was interrupted) after Kick(); the
  // exit is then in run()->exit_reason only if KVM got to it.
  absl::Status Run();

  // Makes the thread in Run() (or its next Run()) return: sets
  // immediate_exit and signals the thread that called Run() last. Safe
  // from any thread.
  void Kick();

  // The guest's instruction pointer, for messages.
  absl::StatusOr<uint64_t> Rip() const;

  // The shared run structure; a read's value goes back into it before the
  // next Run().
  kvm_run* run() const { return run_; }
  size_t run_size() const { return run_size_; }

 private:
  friend class KvmVm;
  KvmVcpu(int fd, uint32_t index, kvm_run* run, size_t run_size)
      : fd_(fd), index_(index), run_(run), run_size_(run_size) {}

  const int fd_;
  const uint32_t index_;
  kvm_run* const run_;
  const size_t run_size_;
  // The thread inside Run(), 0 outside it: Kick() signals only a thread
  // that is there (a thread that has returned may have exited).
  std::mutex runner_mu_;
  pthread_t runner_ = 0;  // guarded by runner_mu_
  std::atomic<bool> kicked_{false};
};

class KvmVm {
 public:
  // Up to 16 vCPUs per VM, as ACRN's shared page has slots.
  static constexpr uint32_t kMaxVcpus = 16;

  // A VM whose `memory_bytes` (a multiple of 4 KiB, at most 1 GiB) of
  // guest memory start at guest physical address 0.
  static absl::StatusOr<std::unique_ptr<KvmVm>> Create(size_t memory_bytes,
                                                       bool pc_platform = false);
  bool pc_platform() const { return pc_platform_; }
  ~KvmVm();
  KvmVm(const KvmVm&) = delete;
  KvmVm& operator=(const KvmVm&) = delete;

  uint8_t* memory() const { return memory_; }
  size_t memory_size() const { return memory_size_; }

  // Bytes of page tables WriteIdentityMap() writes.
  static constexpr size_t kIdentityMapBytes = 6 * 4096;

  // Writes page tables at `gpa` (4 KiB-aligned) that map guest virtual
  // [0, 4 GiB) to the same physical addresses, user-accessible and
  // writable, in 2 MiB pages: memory and every MMIO address alike.
  absl::Status WriteIdentityMap(uint64_t gpa);

  // Copies `bytes` into guest memory at `gpa`; OutOfRange if they do not
  // fit.
  absl::Status Load(uint64_t gpa, absl::Span<const uint8_t> bytes);

  absl::StatusOr<KvmVcpu*> AddVcpu();

  // KVM_IOEVENTFD: a guest write of `len` bytes at `address` (an MMIO
  // address, or a port if `port`) signals the eventfd `fd` inside the
  // kernel, with no exit to user space.
  absl::Status AddIoeventfd(uint64_t address, uint32_t len, int fd, bool port);

  // KVM_REGISTER_COALESCED_MMIO: guest writes to [address, address + size)
  // are queued in a ring shared with the kernel instead of exiting;
  // DrainCoalesced() takes them. Unimplemented where the host lacks the
  // capability; FailedPrecondition before the first vCPU is added (the ring
  // is mapped with it).
  absl::Status AddCoalescedMmio(uint64_t address, uint32_t size);
  // Hands every queued write to `take`, oldest first; returns how many.
  size_t DrainCoalesced(
      const std::function<void(uint64_t address, uint32_t len,
                               uint64_t value)>& take);
  size_t vcpu_count() const { return vcpus_.size(); }
  KvmVcpu& vcpu(size_t i) const { return *vcpus_[i]; }

 private:
  KvmVm(int kvm_fd, int vm_fd, uint8_t* memory, size_t memory_size,
        size_t run_size, bool pc_platform)
      : kvm_fd_(kvm_fd), vm_fd_(vm_fd), memory_(memory),
        memory_size_(memory_size), run_size_(run_size),
        pc_platform_(pc_platform) {}
  // KVM_SET_CPUID2 of what KVM_GET_SUPPORTED_CPUID offers.
  absl::Status SetSupportedCpuid(int vcpu_fd) const;

  const int kvm_fd_;
  const int vm_fd_;
  uint8_t* const memory_;
  const size_t memory_size_;
  const size_t run_size_;
  const bool pc_platform_;
  std::vector<std::unique_ptr<KvmVcpu>> vcpus_;
  // The coalesced MMIO ring's page, in vCPU 0's mapping (read by hand:
  // DrainCoalesced()); null until AddCoalescedMmio().
  uint8_t* coalesced_ = nullptr;
  uint32_t coalesced_max_ = 0;  // entries in the ring
};

}  // namespace kvm
}  // namespace ioreq

#endif  // IOREQ_CORE_KVM_KVM_VM_H_
