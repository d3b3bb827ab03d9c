#include "core/kvm/kvm_vm.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <mutex>
#include <vector>

#include "absl/strings/str_format.h"

namespace ioreq {
namespace kvm {
namespace {

constexpr size_t kPage = 4096;
constexpr size_t kMaxMemory = size_t{1} << 30;
// Where KVM keeps the TSS and identity map Intel hosts need for protected
// mode; above any memory a guest here has, below 4 GiB.
constexpr uint64_t kTssAddress = 0xFFFBD000;
constexpr uint64_t kIdentityMapAddress = 0xFFFBC000;

// ioctl(), again while a signal interrupts it: KVM_CREATE_VM and the set-up
// ioctls may return EINTR when a signal arrives (seen under load). Not for
// KVM_RUN, whose interruption is how Kick() works.
template <typename Arg>
int Ioctl(int fd, unsigned long request, Arg arg) {
  for (;;) {
    const int r = ioctl(fd, request, arg);
    if (r >= 0 || errno != EINTR) return r;
  }
}

absl::Status Errno(const char* what) {
  const int err = errno;
  return absl::InternalError(
      absl::StrFormat("%s: %s (errno %d)", what, std::strerror(err), err));
}

// The signal Kick() sends: interrupts KVM_RUN. A real-time signal, so it
// collides with neither SIGUSR1/2 (libFuzzer's) nor anything glibc uses.
int KickSignal() { return SIGRTMIN + 3; }

void InstallKickHandler() {
  static std::once_flag once;
  std::call_once(once, [] {
    struct sigaction action {};
    action.sa_handler = [](int) {};  // only to interrupt the ioctl
    sigemptyset(&action.sa_mask);
    action.sa_flags = 0;  // no SA_RESTART: KVM_RUN returns EINTR
    sigaction(KickSignal(), &action, nullptr);
  });
}

absl::Status Probe() {
  const int kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
  if (kvm < 0) {
    const int err = errno;
    return absl::FailedPreconditionError(absl::StrFormat(
        "KVM unusable: cannot open /dev/kvm: %s", std::strerror(err)));
  }
  absl::Status status;
  const int version = Ioctl(kvm, KVM_GET_API_VERSION, 0);
  if (version != KVM_API_VERSION) {
    status = absl::FailedPreconditionError(absl::StrFormat(
        "KVM unusable: /dev/kvm speaks API version %d, not %d", version,
        KVM_API_VERSION));
  } else if (const int vm = Ioctl(kvm, KVM_CREATE_VM, 0); vm < 0) {
    const int err = errno;
    status = absl::FailedPreconditionError(absl::StrFormat(
        "KVM unusable: KVM_CREATE_VM: %s", std::strerror(err)));
  } else {
    if (const int vcpu = Ioctl(vm, KVM_CREATE_VCPU, 0); vcpu < 0) {
      const int err = errno;
      status = absl::FailedPreconditionError(absl::StrFormat(
          "KVM unusable: KVM_CREATE_VCPU: %s", std::strerror(err)));
    } else {
      close(vcpu);
    }
    close(vm);
  }
  close(kvm);
  return status;
}

}  // namespace

absl::Status KvmUsable() {
  static const absl::Status* const status = new absl::Status(Probe());
  return *status;
}

bool IsPvmHost() { return access("/sys/module/kvm_pvm", F_OK) == 0; }

absl::StatusOr<std::unique_ptr<KvmVm>> KvmVm::Create(size_t memory_bytes,
                                                     bool pc_platform) {
  if (memory_bytes == 0 || memory_bytes % kPage != 0 ||
      memory_bytes > kMaxMemory) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "guest memory of %u bytes: a multiple of 4 KiB up to 1 GiB",
        memory_bytes));
  }
  if (absl::Status usable = KvmUsable(); !usable.ok()) return usable;
  const int kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
  if (kvm < 0) return Errno("open /dev/kvm");
  const int run_size = Ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
  if (run_size < static_cast<int>(sizeof(kvm_run))) {
    absl::Status s = Errno("KVM_GET_VCPU_MMAP_SIZE");
    close(kvm);
    return s;
  }
  const int vm = Ioctl(kvm, KVM_CREATE_VM, 0);
  if (vm < 0) {
    absl::Status s = Errno("KVM_CREATE_VM");
    close(kvm);
    return s;
  }
  void* memory = mmap(nullptr, memory_bytes, PROT_READ | PROT_WRITE,
                      MAP_SHARED | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (memory == MAP_FAILED) {
    absl::Status s = Errno("mmap guest memory");
    close(vm);
    close(kvm);
    return s;
  }
  // From here the VM owns the descriptors and the mapping.
  std::unique_ptr<KvmVm> owned(new KvmVm(kvm, vm, static_cast<uint8_t*>(memory),
                                         memory_bytes,
                                         static_cast<size_t>(run_size),
                                         pc_platform));
  // Intel hosts need both before protected-mode code runs; elsewhere they
  // are accepted and unused.
  if (Ioctl(vm, KVM_SET_TSS_ADDR, kTssAddress) < 0) {
    return Errno("KVM_SET_TSS_ADDR");
  }
  uint64_t identity = kIdentityMapAddress;
  if (Ioctl(vm, KVM_SET_IDENTITY_MAP_ADDR, &identity) < 0 && errno != EINVAL &&
      errno != ENOTTY) {
    return Errno("KVM_SET_IDENTITY_MAP_ADDR");
  }
  kvm_userspace_memory_region region{};
  region.slot = 0;
  region.guest_phys_addr = 0;
  region.memory_size = memory_bytes;
  region.userspace_addr = reinterpret_cast<uint64_t>(memory);
  if (Ioctl(vm, KVM_SET_USER_MEMORY_REGION, &region) < 0) {
    return Errno("KVM_SET_USER_MEMORY_REGION");
  }
  if (pc_platform) {
    // Before any vCPU exists, as KVM requires: the PIC, IOAPIC and each
    // vCPU's local APIC, and the PIT, all in the kernel (no exits for them).
    if (Ioctl(vm, KVM_CREATE_IRQCHIP, 0) < 0) return Errno("KVM_CREATE_IRQCHIP");
    kvm_pit_config pit{};
    if (Ioctl(vm, KVM_CREATE_PIT2, &pit) < 0) return Errno("KVM_CREATE_PIT2");
  }
  return owned;
}

KvmVm::~KvmVm() {
  vcpus_.clear();  // each unmaps its run structure and closes its fd
  munmap(memory_, memory_size_);
  close(vm_fd_);
  close(kvm_fd_);
}

absl::Status KvmVm::Load(uint64_t gpa, absl::Span<const uint8_t> bytes) {
  if (gpa > memory_size_ || bytes.size() > memory_size_ - gpa) {
    return absl::OutOfRangeError(absl::StrFormat(
        "%u bytes at guest address %#x do not fit in %u bytes of memory",
        bytes.size(), gpa, memory_size_));
  }
  // An empty span's data() may be null, which memcpy() may not be given.
  if (!bytes.empty()) std::memcpy(memory_ + gpa, bytes.data(), bytes.size());
  return absl::OkStatus();
}

absl::Status KvmVm::WriteIdentityMap(uint64_t gpa) {
  if (gpa % kPage != 0 || gpa > memory_size_ ||
      kIdentityMapBytes > memory_size_ - gpa) {
    return absl::OutOfRangeError(absl::StrFormat(
        "identity map at %#x: needs %u bytes, 4 KiB-aligned, inside %u bytes "
        "of memory",
        gpa, kIdentityMapBytes, memory_size_));
  }
  constexpr uint64_t kPresent = 1, kWritable = 2, kUser = 4, kHuge = 0x80;
  constexpr uint64_t kTable = kPresent | kWritable | kUser;
  uint64_t* pml4 = reinterpret_cast<uint64_t*>(memory_ + gpa);
  uint64_t* pdpt = pml4 + 512;
  std::memset(pml4, 0, kIdentityMapBytes);
  pml4[0] = (gpa + kPage) | kTable;
  for (uint64_t gib = 0; gib < 4; ++gib) {
    const uint64_t pd_gpa = gpa + (2 + gib) * kPage;
    pdpt[gib] = pd_gpa | kTable;
    uint64_t* pd = reinterpret_cast<uint64_t*>(memory_ + pd_gpa);
    for (uint64_t i = 0; i < 512; ++i) {
      pd[i] = (((gib << 9) + i) << 21) | kTable | kHuge;
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<KvmVcpu*> KvmVm::AddVcpu() {
  if (vcpus_.size() >= kMaxVcpus) {
    return absl::ResourceExhaustedError(
        absl::StrFormat("a VM has at most %u vCPUs", kMaxVcpus));
  }
  const uint32_t index = static_cast<uint32_t>(vcpus_.size());
  const int fd = Ioctl(vm_fd_, KVM_CREATE_VCPU, index);
  if (fd < 0) return Errno("KVM_CREATE_VCPU");
  void* run = mmap(nullptr, run_size_, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (run == MAP_FAILED) {
    absl::Status s = Errno("mmap kvm_run");
    close(fd);
    return s;
  }
  vcpus_.push_back(std::unique_ptr<KvmVcpu>(
      new KvmVcpu(fd, index, static_cast<kvm_run*>(run), run_size_)));
  if (pc_platform_) {
    if (absl::Status s = SetSupportedCpuid(fd); !s.ok()) return s;
  }
  return vcpus_.back().get();
}

// struct kvm_cpuid2 as C lays it out and the kernel reads it: nent, 4
// bytes of padding, then the entries at byte 8. Under g++ the header's
// flexible array puts the entries at byte 12 and sizeof at 12, so neither
// the struct nor the header's ioctl numbers (which encode that size) are
// used: the buffer is written by hand and the numbers built with C's 8.
constexpr size_t kCpuid2Header = 8;
constexpr unsigned long kGetSupportedCpuid =
    _IOC(_IOC_READ | _IOC_WRITE, KVMIO, 0x05, kCpuid2Header);
constexpr unsigned long kSetCpuid2 = _IOC(_IOC_WRITE, KVMIO, 0x90, kCpuid2Header);

absl::Status KvmVm::SetSupportedCpuid(int vcpu_fd) const {
  constexpr uint32_t kEntries = 256;  // KVM_MAX_CPUID_ENTRIES
  std::vector<uint8_t> buffer(kCpuid2Header +
                              kEntries * sizeof(kvm_cpuid_entry2));
  std::memcpy(buffer.data(), &kEntries, sizeof(kEntries));  // nent
  uint8_t* cpuid = buffer.data();
  if (Ioctl(kvm_fd_, kGetSupportedCpuid, cpuid) < 0) {
    return Errno("KVM_GET_SUPPORTED_CPUID");
  }
  if (Ioctl(vcpu_fd, kSetCpuid2, cpuid) < 0) return Errno("KVM_SET_CPUID2");
  return absl::OkStatus();
}

absl::Status KvmVm::AddIoeventfd(uint64_t address, uint32_t len, int fd,
                                 bool port) {
  kvm_ioeventfd args{};
  args.addr = address;
  args.len = len;
  args.fd = fd;
  args.flags = port ? KVM_IOEVENTFD_FLAG_PIO : 0;
  if (Ioctl(vm_fd_, KVM_IOEVENTFD, &args) < 0) return Errno("KVM_IOEVENTFD");
  return absl::OkStatus();
}

// struct kvm_coalesced_mmio_ring as C lays it out and the kernel writes it:
// `first` and `last` (4 bytes each), then the entries from byte 8. Under g++
// the header's flexible array (__DECLARE_FLEX_ARRAY) sits at byte 16 and the
// struct's size is 16, so the struct would read every entry 8 bytes late
// (its address from the length, its data from the next entry) and count 169
// entries, not 170: the ring is read by hand, as the cpuid buffer above.
constexpr size_t kCoalescedFirst = 0, kCoalescedLast = 4, kCoalescedEntries = 8;
static_assert(sizeof(kvm_coalesced_mmio) == 24, "phys_addr, len, pad, data[8]");
static_assert(offsetof(kvm_coalesced_mmio, data) == 16, "as the kernel's");

absl::Status KvmVm::AddCoalescedMmio(uint64_t address, uint32_t size) {
  const int page = Ioctl(kvm_fd_, KVM_CHECK_EXTENSION, KVM_CAP_COALESCED_MMIO);
  if (page <= 0) {
    return absl::UnimplementedError(
        "this host's KVM has no coalesced MMIO (KVM_CAP_COALESCED_MMIO)");
  }
  if (vcpus_.empty()) {
    return absl::FailedPreconditionError(
        "coalesced MMIO needs a vCPU first (the ring is in its mapping)");
  }
  if (static_cast<size_t>(page + 1) * kPage > run_size_) {
    return absl::InternalError("the coalesced MMIO page is outside kvm_run");
  }
  kvm_coalesced_mmio_zone zone{};
  zone.addr = address;
  zone.size = size;
  if (Ioctl(vm_fd_, KVM_REGISTER_COALESCED_MMIO, &zone) < 0) {
    return Errno("KVM_REGISTER_COALESCED_MMIO");
  }
  coalesced_ = reinterpret_cast<uint8_t*>(vcpus_[0]->run()) + page * kPage;
  coalesced_max_ = static_cast<uint32_t>((kPage - kCoalescedEntries) /
                                         sizeof(kvm_coalesced_mmio));
  return absl::OkStatus();
}

size_t KvmVm::DrainCoalesced(
    const std::function<void(uint64_t, uint32_t, uint64_t)>& take) {
  if (coalesced_ == nullptr) return 0;
  size_t taken = 0;
  // The kernel fills an entry, then advances `last` after a write barrier:
  // the acquire load of `last` pairs with it, so the entries before it are
  // whole. `first` is ours; the release store gives the entries back after
  // they are read (the kernel reads `first` to see the ring's free space).
  uint32_t* const first_at =
      reinterpret_cast<uint32_t*>(coalesced_ + kCoalescedFirst);
  const uint32_t last = __atomic_load_n(
      reinterpret_cast<uint32_t*>(coalesced_ + kCoalescedLast), __ATOMIC_ACQUIRE);
  uint32_t first = *first_at;
  // An index past the ring would never meet the other: nothing is read.
  if (last >= coalesced_max_) return 0;
  while (first != last && first < coalesced_max_) {
    const kvm_coalesced_mmio& e = *reinterpret_cast<const kvm_coalesced_mmio*>(
        coalesced_ + kCoalescedEntries + first * sizeof(kvm_coalesced_mmio));
    uint64_t value = 0;
    std::memcpy(&value, e.data, std::min<uint32_t>(e.len, sizeof(value)));
    take(e.phys_addr, e.len, value);
    first = (first + 1) % coalesced_max_;
    ++taken;
  }
  __atomic_store_n(first_at, first, __ATOMIC_RELEASE);
  return taken;
}

KvmVcpu::~KvmVcpu() {
  munmap(run_, run_size_);
  close(fd_);
}

namespace {

// Flat 4 GiB segments, 32-bit: code (execute/read) in CS, data
// (read/write) in every other segment register.
void SetFlatSegments(kvm_sregs& sregs, uint16_t code_selector,
                     uint16_t data_selector, uint8_t dpl) {
  kvm_segment data{};
  data.base = 0;
  data.limit = 0xFFFFFFFF;
  data.selector = data_selector;
  data.type = 3;  // read/write, accessed
  data.present = 1;
  data.dpl = dpl;
  data.db = 1;
  data.s = 1;
  data.g = 1;
  sregs.ds = sregs.es = sregs.fs = sregs.gs = sregs.ss = data;
  sregs.cs = data;
  sregs.cs.selector = code_selector;
  sregs.cs.type = 11;  // execute/read, accessed
}

}  // namespace

absl::Status KvmVcpu::EnterUser64(uint64_t rip, uint64_t rsp, uint64_t rbx,
                                  uint64_t page_tables) {
  kvm_sregs sregs{};
  if (Ioctl(fd_, KVM_GET_SREGS, &sregs) < 0) return Errno("KVM_GET_SREGS");
  // A user data selector and a user code selector (RPL 3); no GDT is read.
  SetFlatSegments(sregs, /*code_selector=*/0x1B, /*data_selector=*/0x23,
                  /*dpl=*/3);
  sregs.cs.db = 0;
  sregs.cs.l = 1;  // 64-bit
  constexpr uint64_t kCr0Pe = 1, kCr0Et = 1u << 4, kCr0Pg = 1ull << 31;
  constexpr uint64_t kCr4Pae = 1u << 5;
  constexpr uint64_t kEferLme = 1u << 8, kEferLma = 1u << 10;
  sregs.cr0 = kCr0Pe | kCr0Et | kCr0Pg;
  sregs.cr3 = page_tables;
  sregs.cr4 = kCr4Pae;
  sregs.efer = kEferLme | kEferLma;
  if (Ioctl(fd_, KVM_SET_SREGS, &sregs) < 0) return Errno("KVM_SET_SREGS");
  kvm_regs regs{};
  regs.rip = rip;
  regs.rsp = rsp;
  regs.rbx = rbx;
  regs.rflags = 0x2 | (3u << 12);  // the reserved bit, IOPL 3; IF clear
  if (Ioctl(fd_, KVM_SET_REGS, &regs) < 0) return Errno("KVM_SET_REGS");
  return absl::OkStatus();
}

absl::Status KvmVcpu::EnterProtected32(uint32_t eip, uint32_t esi) {
  kvm_sregs sregs{};
  if (Ioctl(fd_, KVM_GET_SREGS, &sregs) < 0) return Errno("KVM_GET_SREGS");
  // __BOOT_CS and __BOOT_DS of the boot protocol.
  SetFlatSegments(sregs, /*code_selector=*/0x10, /*data_selector=*/0x18,
                  /*dpl=*/0);
  constexpr uint64_t kCr0Pe = 1, kCr0Et = 1u << 4;
  sregs.cr0 = kCr0Pe | kCr0Et;
  sregs.cr3 = 0;
  sregs.cr4 = 0;
  sregs.efer = 0;
  if (Ioctl(fd_, KVM_SET_SREGS, &sregs) < 0) return Errno("KVM_SET_SREGS");
  kvm_regs regs{};
  regs.rip = eip;
  regs.rsi = esi;
  regs.rflags = 0x2;  // the reserved bit; IF clear
  if (Ioctl(fd_, KVM_SET_REGS, &regs) < 0) return Errno("KVM_SET_REGS");
  return absl::OkStatus();
}

absl::Status KvmVcpu::Run() {
  InstallKickHandler();
  {
    std::lock_guard<std::mutex> lock(runner_mu_);
    runner_ = pthread_self();
  }
  absl::Status status;
  for (;;) {
    // Pairs with the release store in Kick(): once kicked, never re-enter.
    if (kicked_.load(std::memory_order_acquire)) {
      status = absl::UnavailableError("vCPU kicked");
      break;
    }
    if (ioctl(fd_, KVM_RUN, 0) == 0) break;
    if (errno != EINTR && errno != EAGAIN) {
      status = Errno("KVM_RUN");
      break;
    }
    // A kick, or a signal for some other purpose: look at the flag again.
    // Atomic, as Kick() stores it from another thread; the kernel reads it
    // when KVM_RUN starts. A kick's 1 overwritten here is harmless: kicked_
    // is checked next.
    __atomic_store_n(&run_->immediate_exit, 0, __ATOMIC_RELAXED);
  }
  std::lock_guard<std::mutex> lock(runner_mu_);
  runner_ = 0;
  return status;
}

absl::StatusOr<uint64_t> KvmVcpu::Rip() const {
  kvm_regs regs{};
  if (Ioctl(fd_, KVM_GET_REGS, &regs) < 0) return Errno("KVM_GET_REGS");
  return regs.rip;
}

void KvmVcpu::Kick() {
  InstallKickHandler();
  std::lock_guard<std::mutex> lock(runner_mu_);
  // Release pairs with the acquire load in Run().
  kicked_.store(true, std::memory_order_release);
  // A thread about to enter KVM_RUN returns at once; one inside it gets
  // the signal. Under runner_mu_, the thread cannot leave Run() meanwhile.
  // Atomic: pairs with the reset in Run(); the kernel reads it on entry.
  __atomic_store_n(&run_->immediate_exit, 1, __ATOMIC_RELEASE);
  if (runner_ != 0) pthread_kill(runner_, KickSignal());
}

}  // namespace kvm
}  // namespace ioreq
