/* guests/guest_abi.h: what a guest and its host agree on.
 *
 * Shared, as plain C, by the guest programs (guests/guest.c, built for
 * x86-64 with no library) and the host (guests/guest_vm.h, the tests, the
 * stress command and the benchmarks). The guest runs in 64-bit mode at
 * CPL 3 with IOPL 3 (core/kvm/kvm_vm.h says why), in GUEST_MEMORY_BYTES of
 * memory at physical address 0 mapped one to one; every other address
 * below 4 GiB traps as MMIO.
 *
 *   0x00001000  page tables           the identity map (host-written)
 *   0x00008000  struct guest_params   written by the host before any vCPU
 *                                     runs; `relaxed` and `stop` also while
 *                                     they run
 *   0x00009000  struct guest_report[] one per vCPU, written by its guest
 *   0x00010000  the guest image       entry point at its first byte
 *   0x00100000  stacks                16 KiB per vCPU, below the top
 *
 * A vCPU starts at GUEST_IMAGE_BASE with its index in RBX. When its program
 * ends it fills its report and writes its index to GUEST_REPORT_PORT (a
 * port the host answers itself and never forwards); the host does not run
 * it again. A guest has no interrupt table: a fault ends its VM.
 *
 * Example (host):
 *   guest_params* p = (guest_params*)(memory + GUEST_PARAMS);
 *   p->magic = GUEST_MAGIC; p->program = GUEST_PROGRAM_MIX; ...
 */
#ifndef IOREQ_GUESTS_GUEST_ABI_H_
#define IOREQ_GUESTS_GUEST_ABI_H_

#include <stdint.h>

#define GUEST_PAGE_TABLES 0x1000u
#define GUEST_PARAMS 0x8000u
#define GUEST_REPORTS 0x9000u
#define GUEST_IMAGE_BASE 0x10000u
#define GUEST_IMAGE_MAX 0x40000u
#define GUEST_STACKS 0x100000u
#define GUEST_STACK_BYTES 0x4000u
#define GUEST_MEMORY_BYTES 0x200000u
#define GUEST_MAX_VCPUS 16u
#define GUEST_MAX_BARS 8u
#define GUEST_SHADOW_BYTES 256u

#define GUEST_MAGIC 0x51455147u /* "GQEQ" */
#define GUEST_REPORT_PORT 0x510u
#define GUEST_MESSAGE_BYTES 96u

/* The top of vCPU v's stack. */
#define GUEST_STACK_TOP(v) (GUEST_STACKS + ((v) + 1u) * GUEST_STACK_BYTES)

enum guest_program {
  /* One access of every kind and size against the probe device, whose
   * reads answer guest_probe_value(); checks each value. */
  GUEST_PROGRAM_PROBE = 1,
  /* A seeded mix over the stress command's device map; checks every read
   * against what the devices must hold. */
  GUEST_PROGRAM_MIX = 2,
  /* `iterations` port writes then reads at probe_port (no checks): the
   * exit loop the benchmarks time; each access's guest-side time goes to
   * last_ticks. */
  GUEST_PROGRAM_PORT_LOOP = 3,
  /* The same with MMIO stores and loads at probe_mmio. */
  GUEST_PROGRAM_MMIO_LOOP = 4,
  /* Batches of `iterations` 4-byte doorbell writes, each batch followed by
   * a 1-byte write to probe_port, until `stop`: the write-only path the
   * benchmarks time with and without an exit per write. */
  GUEST_PROGRAM_DOORBELL_LOOP = 5,
};

/* Kinds of access in GUEST_PROGRAM_MIX; `mix` in guest_params enables a
 * set of them. */
enum guest_mix_kind {
  GUEST_MIX_BAR_WRITE = 1u << 0,
  GUEST_MIX_BAR_READ = 1u << 1,
  GUEST_MIX_UART_STATUS = 1u << 2,
  GUEST_MIX_UART_TRANSMIT = 1u << 3,
  GUEST_MIX_PCI_ID = 1u << 4,
  GUEST_MIX_PCI_SCRATCH = 1u << 5,
  GUEST_MIX_PCI_DISABLED = 1u << 6,
  GUEST_MIX_DOORBELL_WRITE = 1u << 7,
  GUEST_MIX_DOORBELL_READ = 1u << 8,
  GUEST_MIX_UNCLAIMED = 1u << 9,
  GUEST_MIX_ALL = (1u << 10) - 1u,
};

struct guest_params {
  uint32_t magic;
  uint32_t program;    /* enum guest_program */
  uint32_t seed;
  uint32_t iterations; /* accesses (mix) or loop rounds, per vCPU */
  uint32_t vcpus;
  uint32_t mix;        /* enum guest_mix_kind bits */
  /* The device map (GUEST_PROGRAM_MIX). BAR b's vCPU v window starts at
   * bar_base + b * bar_size + v * bar_window. */
  uint32_t bar_base, bar_count, bar_size, bar_window;
  uint32_t uart_base;
  uint32_t doorbell;       /* an ioeventfd: writes signal it, reads give 0 */
  uint32_t unclaimed_port; /* no client: reads all-ones */
  uint32_t scratch_dev;    /* 00:dev.0 has a read/write register per vCPU */
  uint32_t scratch_base;   /* ... at scratch_base + 4 * vCPU */
  /* The probe device (GUEST_PROGRAM_PROBE and the loops). */
  uint32_t probe_port;
  uint32_t probe_mmio;
  /* Set by the host to end a timed run: the mix stops before its next
   * access and reports. */
  volatile uint32_t stop;
  /* The guest's pci_config_lock: one configuration cycle at a time. */
  volatile uint32_t pci_lock;
  /* Bumped by the host when a fault may have changed a request of vCPU v
   * (a reset, a destroyed client, garbage in its slot): the guest then
   * neither trusts nor checks that access. */
  volatile uint32_t relaxed[GUEST_MAX_VCPUS];
};

struct guest_report {
  uint32_t magic;           /* GUEST_MAGIC once written */
  uint32_t accesses;        /* trapped accesses made, string elements each */
  uint32_t checked;         /* reads whose value was checked */
  uint32_t failures;        /* reads that did not match */
  uint32_t relaxed;         /* accesses a fault touched, not checked */
  uint32_t thr_bytes;       /* UART bytes sent, untouched by faults */
  uint32_t thr_sum;         /* ... and their sum */
  uint32_t thr_uncertain;   /* UART bytes a fault touched */
  uint32_t doorbell_writes; /* ioeventfd writes, untouched */
  uint32_t doorbell_uncertain;
  /* The loops (GUEST_PROGRAM_PORT_LOOP, _MMIO_LOOP): how long the last
   * access took as the guest saw it, in TSC ticks (rdtsc before and after
   * the instruction), written before the next access traps. */
  volatile uint64_t last_ticks;
  char message[GUEST_MESSAGE_BYTES]; /* the first failure, NUL-terminated */
};

/* What the probe device answers to the n-th read (counting from 0) of
 * `size` bytes at `address`, before masking to the size. */
static inline uint64_t guest_probe_value(uint32_t address, uint32_t size,
                                         uint32_t n) {
  const uint32_t low = (address * 0x9E3779B1u) ^ (size << 24) ^ (n * 0x01000193u);
  return ((uint64_t)(low * 0x85EBCA6Bu) << 32) | low;
}

#endif /* IOREQ_GUESTS_GUEST_ABI_H_ */
