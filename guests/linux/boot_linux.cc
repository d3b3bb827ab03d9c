// guests/linux/boot_linux.cc: boots an unmodified Linux kernel on the
// project's KVM hypervisor, with the whole HSM behind its trapped I/O.
//
// `bazel run //guests/linux:boot_linux` (boot_linux.sh fetches Debian's
// linux-image-cloud-amd64 on first use and passes --kernel). The kernel's
// console is the project's 16550 (a client on ports 0x3F8-0x3FF); its PCI
// enumeration goes through 0xCF8/0xCFC, which the HSM folds into PCICFG
// requests for the default client, the project's PCI configuration space
// (a host bridge, virtio-net, a test device, virtio-blk). Every other port
// or MMIO address the kernel touches reaches the default client and reads
// all-ones, as on a bus with nothing there. The interrupt controllers and
// the timer are KVM's, in the kernel. The initramfs's /init
// (guests/linux/init.c) prints the PCI functions Linux found and resets
// the machine.
//
// On a kvm_pvm host (nested KVM that emulates only some instructions: see
// docs/kvm.md) an unmodified kernel stops early; the command says so in one
// line and exits 0 without booting, unless --on_pvm asks to try anyway
// (with the kernel's own clearcpuid= workaround; it then runs for
// --seconds and reports how far the kernel got).
//
// --until=TEXT stops the guest at the first console line holding TEXT
// (a test's or a user's "boot this far").
//
// Exit codes: 0 the init ran and the machine reset, or --until's line came
// (or the boot was skipped on a kvm_pvm host); 1 the kernel did not get
// there within --seconds, or the VMM failed; 2 bad flags or files, or no
// usable KVM.
#include <sys/stat.h>

#include <atomic>
#include <cstdio>
#include <functional>
#include <fstream>
#include <iterator>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "core/harness/device_model.h"
#include "core/harness/devices/pci_config_space.h"
#include "core/harness/devices/uart16550.h"
#include "core/harness/kvm_hypervisor.h"
#include "core/harness/system.h"
#include "core/hsm/hsm.h"
#include "core/kvm/kvm_vm.h"
#include "guests/linux/linux_boot.h"
#include "tools/flags/strict_flags.h"

ABSL_FLAG(std::string, kernel, "", "the bzImage to boot (required)");
ABSL_FLAG(std::string, initrd, "", "the initramfs (required; boot_linux.sh "
                                   "passes the one built from init.c)");
ABSL_FLAG(std::string, append, "", "more of the kernel command line");
ABSL_FLAG(double, seconds, 300, "give up after this long, 1 to 3600");
ABSL_FLAG(int, memory_mib, 256, "guest memory, 128 to 1024 MiB");
ABSL_FLAG(std::string, strategy, "futex", "the HSM's notification strategy");
ABSL_FLAG(std::string, topology, "kernel", "kernel or direct");
ABSL_FLAG(bool, on_pvm, false,
          "on a kvm_pvm host, boot anyway (with clearcpuid=) instead of "
          "skipping");
ABSL_FLAG(bool, quiet, false, "do not echo the guest's console");
ABSL_FLAG(std::string, until, "",
          "stop the guest at the first console line holding this text "
          "(and exit 0); empty: run until the init resets the machine");

namespace {

constexpr char kDoneLine[] = "ioreq-init: done";
// The command line every boot gets: the console on the 16550 (and the
// decompressor's early console), a reset by triple fault (the VMM sees
// KVM_EXIT_SHUTDOWN), no port 0x80 delays (each would be an exit), PCI
// configuration by type 1 cycles, and the initramfs's /init.
constexpr char kCmdline[] =
    "console=ttyS0 earlyprintk=serial,ttyS0,115200 reboot=t panic=-1 "
    "io_delay=none pci=conf1 rdinit=/init tsc=reliable no_timer_check";
// What lets an unmodified kernel go further on a kvm_pvm host, whose
// emulator lacks cmpxchg16b, xsave/xrstor, popcnt and clac (docs/kvm.md):
// the kernel's own switches to leave those features alone.
constexpr char kPvmWorkaround[] =
    "noxsave nosmap nosmep mitigations=off nokaslr "
    "clearcpuid=141,151,154,156,295,308";

absl::StatusOr<std::string> ReadFile(const std::string& flag,
                                     const std::string& path) {
  struct stat st {};
  if (path.empty() || stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) {
    return absl::InvalidArgumentError(
        absl::StrFormat("--%s=%s: not a readable file", flag, path));
  }
  std::ifstream in(path, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)),
                    std::istreambuf_iterator<char>());
  if (!in.good() && !in.eof()) {
    return absl::InvalidArgumentError(
        absl::StrFormat("--%s=%s: cannot be read", flag, path));
  }
  return bytes;
}

// The guest's console, line by line, to stdout; remembers what it saw.
class Console {
 public:
  // `on_until` runs once, on the first line holding `until` (if not empty).
  Console(bool echo, std::string until, std::function<void()> on_until)
      : echo_(echo), until_(std::move(until)), on_until_(std::move(on_until)) {}
  void Put(uint8_t byte) {
    std::lock_guard<std::mutex> lock(mu_);
    ++bytes_;
    if (byte == '\r') return;
    if (byte != '\n') {
      if (line_.size() < 4096) line_.push_back(static_cast<char>(byte));
      return;
    }
    ++lines_;
    if (echo_) std::printf("| %s\n", line_.c_str());
    if (absl::string_view(line_).find(kDoneLine) != absl::string_view::npos) {
      done_ = true;
    }
    if (!until_.empty() && !until_seen_ &&
        absl::string_view(line_).find(until_) != absl::string_view::npos) {
      until_seen_ = true;
      on_until_();
    }
    if (first_.empty() && !line_.empty()) first_ = line_;
    last_ = line_;
    line_.clear();
  }
  bool done() const {
    std::lock_guard<std::mutex> lock(mu_);
    return done_;
  }
  bool until_seen() const {
    std::lock_guard<std::mutex> lock(mu_);
    return until_seen_;
  }
  std::string Summary() const {
    std::lock_guard<std::mutex> lock(mu_);
    return absl::StrFormat("%d console lines (%d bytes); first: \"%s\"; last: \"%s\"",
                           lines_, bytes_, first_, line_.empty() ? last_ : line_);
  }

 private:
  const bool echo_;
  const std::string until_;
  const std::function<void()> on_until_;
  mutable std::mutex mu_;
  std::string line_, first_, last_;
  int64_t lines_ = 0, bytes_ = 0;
  bool done_ = false;
  bool until_seen_ = false;
};

}  // namespace

int main(int argc, char** argv) {
  const std::vector<std::string> rest = tools::ParseFlagsOrExit(
      argc, argv,
      "boot_linux: boot an unmodified Linux kernel on the project's KVM "
      "hypervisor and HSM.\n"
      "usage: bazel run //guests/linux:boot_linux -- [--seconds=S] [--on_pvm] "
      "[--strategy=S] [--topology=T] [--append=ARGS] [--until=TEXT] [--quiet]");
  if (!rest.empty()) {
    std::fprintf(stderr, "boot_linux: unexpected argument '%s' (see --help)\n",
                 rest[0].c_str());
    return tools::kExitUsage;
  }
  const double seconds = absl::GetFlag(FLAGS_seconds);
  if (!(seconds >= 1 && seconds <= 3600)) {
    tools::FlagError("seconds", seconds, "1 to 3600");
  }
  const int memory_mib = absl::GetFlag(FLAGS_memory_mib);
  if (memory_mib < 128 || memory_mib > 1024) {
    tools::FlagError("memory_mib", memory_mib, "128 to 1024");
  }
  absl::StatusOr<ioreq::Strategy> strategy =
      ioreq::ParseStrategy(absl::GetFlag(FLAGS_strategy));
  if (!strategy.ok()) {
    tools::FlagError("strategy", absl::GetFlag(FLAGS_strategy),
                     "a strategy name (see --help)");
  }
  absl::StatusOr<ioreq::Topology> topology =
      ioreq::ParseTopology(absl::GetFlag(FLAGS_topology));
  if (!topology.ok()) {
    tools::FlagError("topology", absl::GetFlag(FLAGS_topology), "kernel or direct");
  }
  absl::StatusOr<std::string> kernel_bytes =
      ReadFile("kernel", absl::GetFlag(FLAGS_kernel));
  absl::StatusOr<std::string> initrd_bytes =
      ReadFile("initrd", absl::GetFlag(FLAGS_initrd));
  for (const auto* s : {&kernel_bytes, &initrd_bytes}) {
    if (!s->ok()) {
      std::fprintf(stderr, "boot_linux: %s\n",
                   std::string(s->status().message()).c_str());
      return tools::kExitUsage;
    }
  }
  const auto span = [](const std::string& s) {
    return absl::MakeConstSpan(reinterpret_cast<const uint8_t*>(s.data()),
                               s.size());
  };
  absl::StatusOr<ioreq::guests::BzImage> image =
      ioreq::guests::ParseBzImage(span(*kernel_bytes));
  if (!image.ok()) {
    std::fprintf(stderr, "boot_linux: --kernel=%s: %s\n",
                 absl::GetFlag(FLAGS_kernel).c_str(),
                 std::string(image.status().message()).c_str());
    return tools::kExitUsage;
  }
  if (absl::Status usable = ioreq::kvm::KvmUsable(); !usable.ok()) {
    std::fprintf(stderr, "boot_linux: %s\n",
                 std::string(usable.message()).c_str());
    return tools::kExitUsage;
  }
  const bool pvm = ioreq::kvm::IsPvmHost();
  if (pvm && !absl::GetFlag(FLAGS_on_pvm)) {
    std::printf(
        "boot_linux: skipped: this host's KVM is kvm_pvm, which stops an "
        "unmodified kernel early (instructions its emulator lacks; "
        "docs/kvm.md); --on_pvm tries anyway\n");
    return 0;
  }

  std::string cmdline = kCmdline;
  if (pvm) absl::StrAppend(&cmdline, " ", kPvmWorkaround);
  if (!absl::GetFlag(FLAGS_append).empty()) {
    absl::StrAppend(&cmdline, " ", absl::GetFlag(FLAGS_append));
  }

  ioreq::KvmHypervisorOptions options;
  options.strategy = *strategy;
  options.memory_bytes = size_t(memory_mib) << 20;
  options.pc_platform = true;
  ioreq::KvmHypervisor hv(options);
  ioreq::HsmOptions hsm_options;
  hsm_options.topology = *topology;
  // The VM to stop when --until's line comes; set before the guest runs.
  std::atomic<int> stop_vm{-1};
  Console console(!absl::GetFlag(FLAGS_quiet), absl::GetFlag(FLAGS_until),
                  [&hv, &stop_vm] {
                    if (const int vm = stop_vm.load(); vm >= 0) {
                      hv.Kick(static_cast<uint16_t>(vm));
                    }
                  });
  ioreq::Uart16550 uart(0x3F8);
  uart.SetTransmitSink([&console](uint8_t b) { console.Put(b); });
  ioreq::PciConfigSpace pci;
  pci.AddStandardDevices();
  int exit_code = 1;
  {
    ioreq::Hsm hsm(&hv, hsm_options, *strategy);
    ioreq::ConnectUpcall(hv, hsm);
    absl::StatusOr<uint16_t> vm = ioreq::CreateWiredVm(hv, hsm, 1);
    if (!vm.ok()) {
      std::fprintf(stderr, "boot_linux: %s\n",
                   std::string(vm.status().message()).c_str());
      return 1;
    }
    absl::StatusOr<ioreq::ClientId> uart_id =
        hsm.CreateClient(*vm, "uart", uart.Handler(), false);
    if (!uart_id.ok() ||
        !hsm.AddRange(*uart_id, ioreq::kTypePortIo, uart.base(), uart.last()).ok()) {
      std::fprintf(stderr, "boot_linux: cannot attach the UART\n");
      return 1;
    }
    ioreq::DeviceModelThread device_model(&hsm, *vm, pci.DefaultDeviceModel());
    if (absl::Status s = device_model.Start(); !s.ok()) {
      std::fprintf(stderr, "boot_linux: %s\n", std::string(s.message()).c_str());
      return 1;
    }
    ioreq::kvm::KvmVm& machine = *hv.kvm_vm(*vm);
    absl::StatusOr<ioreq::guests::LinuxLayout> layout = ioreq::guests::LoadLinux(
        machine.memory(), machine.memory_size(), *image, cmdline,
        span(*initrd_bytes));
    if (!layout.ok()) {
      std::fprintf(stderr, "boot_linux: %s\n",
                   std::string(layout.status().message()).c_str());
      return tools::kExitUsage;
    }
    if (absl::Status s =
            machine.vcpu(0).EnterProtected32(layout->entry, layout->zero_page);
        !s.ok()) {
      std::fprintf(stderr, "boot_linux: %s\n", std::string(s.message()).c_str());
      return 1;
    }
    std::printf("boot_linux: booting %s (protocol %d.%02d, %zu MiB), command "
                "line: %s\n",
                absl::GetFlag(FLAGS_kernel).c_str(), image->version >> 8,
                image->version & 0xFF, machine.memory_size() >> 20,
                cmdline.c_str());
    std::fflush(stdout);
    const absl::Time start = absl::Now();
    stop_vm.store(*vm);
    if (absl::Status s = hv.Start(*vm); !s.ok()) {
      std::fprintf(stderr, "boot_linux: %s\n", std::string(s.message()).c_str());
      return 1;
    }
    // The watchdog: the boot gets --seconds, then the vCPU is kicked.
    absl::Notification finished;
    std::thread watchdog([&] {
      if (!finished.WaitForNotificationWithTimeout(absl::Seconds(seconds))) {
        hv.Kick(*vm);
      }
    });
    const std::vector<ioreq::KvmHypervisor::VcpuResult> results = hv.Join(*vm);
    finished.Notify();
    watchdog.join();
    device_model.Stop();
    const double took = absl::ToDoubleSeconds(absl::Now() - start);
    const ioreq::KvmHypervisor::VcpuResult& r = results.at(0);
    const ioreq::HsmStats counters = hsm.stats();
    std::string ended;
    if (console.until_seen()) {
      ended = absl::StrFormat("stopped at the line holding \"%s\"",
                              absl::GetFlag(FLAGS_until));
    } else if (r.stats.shutdown) {
      ended = "the guest reset";
    } else if (absl::IsUnavailable(r.status)) {
      ended = absl::StrFormat("still running after %.0f s (--seconds)", seconds);
    } else if (!r.status.ok()) {
      ended = absl::StrCat("the vCPU stopped: ", r.status.message());
    } else {
      ended = r.stats.halted ? "the guest halted" : "the vCPU ended";
    }
    std::printf("boot_linux: %s after %.1f s; %llu exits, %llu accesses through "
                "the HSM, %llu PCI configuration requests; %s\n",
                ended.c_str(), took,
                static_cast<unsigned long long>(r.stats.exits),
                static_cast<unsigned long long>(r.stats.accesses),
                static_cast<unsigned long long>(counters.cf8cfc_converted),
                console.Summary().c_str());
    exit_code = console.until_seen() || (r.stats.shutdown && console.done()) ? 0 : 1;
    if (exit_code != 0 && pvm) {
      std::printf("boot_linux: on this kvm_pvm host the kernel is expected to "
                  "stop early; the console above shows how far it got\n");
    }
  }
  return exit_code;
}
