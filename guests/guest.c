/* guests/guest.c: the programs a KVM vCPU runs (guests/guest_abi.h).
 *
 * Plain integer C for x86-64 user mode, no library, no floating point, no
 * vector registers: what runs natively on a nested kvm_pvm host and on
 * hardware virtualization alike (docs/kvm.md). Every access to a device is a port instruction or a load
 * or store through a volatile pointer, so that each one traps exactly
 * once; every value a read returns is checked here, in the guest, against
 * what the device must answer, and the report says what was done. */
#include "guests/guest_abi.h"

#define PARAMS ((volatile struct guest_params*)(uintptr_t)GUEST_PARAMS)
#define REPORT(v) ((volatile struct guest_report*)(uintptr_t)GUEST_REPORTS + (v))

/* ---- instructions -------------------------------------------------- */

static inline void out8(uint32_t port, uint8_t v) {
  __asm__ volatile("outb %0, %w1" : : "a"(v), "Nd"((uint16_t)port));
}
static inline void out16(uint32_t port, uint16_t v) {
  __asm__ volatile("outw %0, %w1" : : "a"(v), "Nd"((uint16_t)port));
}
static inline void out32(uint32_t port, uint32_t v) {
  __asm__ volatile("outl %0, %w1" : : "a"(v), "Nd"((uint16_t)port));
}
static inline uint8_t in8(uint32_t port) {
  uint8_t v;
  __asm__ volatile("inb %w1, %0" : "=a"(v) : "Nd"((uint16_t)port));
  return v;
}
static inline uint16_t in16(uint32_t port) {
  uint16_t v;
  __asm__ volatile("inw %w1, %0" : "=a"(v) : "Nd"((uint16_t)port));
  return v;
}
static inline uint32_t in32(uint32_t port) {
  uint32_t v;
  __asm__ volatile("inl %w1, %0" : "=a"(v) : "Nd"((uint16_t)port));
  return v;
}

static uint32_t port_in(uint32_t port, uint32_t size) {
  return size == 1 ? in8(port) : size == 2 ? in16(port) : in32(port);
}
static void port_out(uint32_t port, uint32_t size, uint32_t v) {
  if (size == 1) out8(port, (uint8_t)v);
  else if (size == 2) out16(port, (uint16_t)v);
  else out32(port, v);
}
/* One load or store of `size` bytes: a single instruction, so one exit. */
static uint64_t mmio_in(uint32_t address, uint32_t size) {
  const uintptr_t a = address;
  if (size == 1) return *(volatile uint8_t*)a;
  if (size == 2) return *(volatile uint16_t*)a;
  if (size == 4) return *(volatile uint32_t*)a;
  return *(volatile uint64_t*)a;
}
static void mmio_out(uint32_t address, uint32_t size, uint64_t v) {
  const uintptr_t a = address;
  if (size == 1) *(volatile uint8_t*)a = (uint8_t)v;
  else if (size == 2) *(volatile uint16_t*)a = (uint16_t)v;
  else if (size == 4) *(volatile uint32_t*)a = (uint32_t)v;
  else *(volatile uint64_t*)a = v;
}

static uint64_t mask(uint32_t size) {
  return size >= 8 ? ~(uint64_t)0 : ((uint64_t)1 << (8 * size)) - 1u;
}

/* ---- the report ---------------------------------------------------- */

static void append(volatile char* m, uint32_t* at, const char* s) {
  while (*s && *at + 1 < GUEST_MESSAGE_BYTES) m[(*at)++] = *s++;
  m[*at] = 0;
}
static void append_hex(volatile char* m, uint32_t* at, uint64_t v) {
  char digits[19];
  int n = 0;
  digits[n++] = '0';
  digits[n++] = 'x';
  int started = 0;
  for (int shift = 60; shift >= 0; shift -= 4) {
    uint32_t d = (v >> shift) & 0xF;
    if (d || started || shift == 0) {
      digits[n++] = (char)(d < 10 ? '0' + d : 'a' + d - 10);
      started = 1;
    }
  }
  digits[n] = 0;
  append(m, at, digits);
}

/* Checks one read; the first mismatch is described in the report. */
static void check(uint32_t vcpu, const char* what, uint32_t address,
                  uint32_t size, uint64_t got, uint64_t want) {
  volatile struct guest_report* r = REPORT(vcpu);
  r->checked++;
  if (got == want) return;
  if (r->failures++ != 0) return;
  uint32_t at = 0;
  append(r->message, &at, what);
  append(r->message, &at, " at ");
  append_hex(r->message, &at, address);
  append(r->message, &at, " size ");
  append_hex(r->message, &at, size);
  append(r->message, &at, ": got ");
  append_hex(r->message, &at, got);
  append(r->message, &at, ", want ");
  append_hex(r->message, &at, want);
}

static void finish(uint32_t vcpu) {
  REPORT(vcpu)->magic = GUEST_MAGIC;
  __asm__ volatile("" : : : "memory");
  out32(GUEST_REPORT_PORT, vcpu);
  for (;;) __asm__ volatile("pause");  /* never run again by the host */
}

/* ---- GUEST_PROGRAM_PROBE ------------------------------------------- */

static uint32_t probe_reads[GUEST_MAX_VCPUS];

static uint64_t probe_want(uint32_t vcpu, uint32_t address, uint32_t size) {
  return guest_probe_value(address, size, probe_reads[vcpu]++) & mask(size);
}

static void probe(uint32_t vcpu) {
  volatile struct guest_report* r = REPORT(vcpu);
  const uint32_t port = PARAMS->probe_port;
  const uint32_t mmio = PARAMS->probe_mmio;
  static const uint64_t writes[4] = {0xA1u, 0xB2C3u, 0xD4E5F607u,
                                     0x0123456789ABCDEFull};
  for (uint32_t s = 1, i = 0; s <= 4; s *= 2, ++i) {
    port_out(port, s, (uint32_t)writes[i]);
    r->accesses++;
  }
  for (uint32_t s = 1; s <= 4; s *= 2) {
    uint32_t got = port_in(port + 4, s);
    r->accesses++;
    check(vcpu, "port in", port + 4, s, got, probe_want(vcpu, port + 4, s));
  }
  for (uint32_t s = 1, i = 0; s <= 8; s *= 2, ++i) {
    mmio_out(mmio + 0x10 * s, s, writes[i]);
    r->accesses++;
  }
  for (uint32_t s = 1; s <= 8; s *= 2) {
    uint64_t got = mmio_in(mmio + 0x100 + 0x10 * s, s);
    r->accesses++;
    check(vcpu, "MMIO load", mmio + 0x100 + 0x10 * s, s, got,
          probe_want(vcpu, mmio + 0x100 + 0x10 * s, s));
  }
  /* String I/O: one request per element, in order. */
  static const char text[4] = {'I', 'O', 'r', 'q'};
  const char* src = text;
  uint32_t count = 4;
  __asm__ volatile("rep outsb" : "+S"(src), "+c"(count) : "d"((uint16_t)port)
                   : "memory");
  r->accesses += 4;
  static const uint16_t words[2] = {0x1234, 0xABCD};
  const uint16_t* wsrc = words;
  count = 2;
  __asm__ volatile("rep outsw" : "+S"(wsrc), "+c"(count) : "d"((uint16_t)port)
                   : "memory");
  r->accesses += 2;
  uint8_t in_bytes[4];
  uint8_t* dst = in_bytes;
  count = 4;
  __asm__ volatile("rep insb" : "+D"(dst), "+c"(count)
                   : "d"((uint16_t)(port + 4)) : "memory");
  r->accesses += 4;
  for (int i = 0; i < 4; ++i) {
    check(vcpu, "rep insb", port + 4, 1, in_bytes[i],
          probe_want(vcpu, port + 4, 1));
  }
  uint32_t in_dwords[2];
  uint32_t* dd = in_dwords;
  count = 2;
  __asm__ volatile("rep insl" : "+D"(dd), "+c"(count)
                   : "d"((uint16_t)(port + 4)) : "memory");
  r->accesses += 2;
  for (int i = 0; i < 2; ++i) {
    check(vcpu, "rep insl", port + 4, 4, in_dwords[i],
          probe_want(vcpu, port + 4, 4));
  }
  /* A configuration cycle's shape: address, then data of each width. */
  out32(0xCF8, 0x80001800u);
  r->accesses++;
  check(vcpu, "0xCFC", 0xCFC, 4, in32(0xCFC), probe_want(vcpu, 0xCFC, 4));
  check(vcpu, "0xCFE", 0xCFE, 2, in16(0xCFE), probe_want(vcpu, 0xCFE, 2));
  check(vcpu, "0xCFF", 0xCFF, 1, in8(0xCFF), probe_want(vcpu, 0xCFF, 1));
  r->accesses += 3;
}

/* ---- GUEST_PROGRAM_PORT_LOOP / MMIO_LOOP --------------------------- */

/* The time-stamp counter, after every earlier instruction has completed
 * (user mode may read it: the host leaves CR4.TSD clear). */
static inline uint64_t ticks(void) {
  uint32_t lo, hi;
  __asm__ volatile("lfence; rdtsc" : "=a"(lo), "=d"(hi) : : "memory");
  return ((uint64_t)hi << 32) | lo;
}

static void port_loop(uint32_t vcpu) {
  volatile struct guest_report* r = REPORT(vcpu);
  const uint32_t port = PARAMS->probe_port;
  const uint32_t n = PARAMS->iterations;
  for (uint32_t i = 0; i < n; ++i) {
    uint64_t t0 = ticks();
    out8(port, (uint8_t)i);
    r->last_ticks = ticks() - t0;
    t0 = ticks();
    (void)in8(port);
    r->last_ticks = ticks() - t0;
  }
  r->accesses = 2 * n;
}

static void mmio_loop(uint32_t vcpu) {
  volatile struct guest_report* r = REPORT(vcpu);
  volatile uint32_t* cell = (volatile uint32_t*)(uintptr_t)PARAMS->probe_mmio;
  const uint32_t n = PARAMS->iterations;
  for (uint32_t i = 0; i < n; ++i) {
    uint64_t t0 = ticks();
    *cell = i;
    r->last_ticks = ticks() - t0;
    t0 = ticks();
    (void)*cell;
    r->last_ticks = ticks() - t0;
  }
  r->accesses = 2 * n;
}

static void doorbell_loop(uint32_t vcpu) {
  volatile uint32_t* doorbell = (volatile uint32_t*)(uintptr_t)PARAMS->doorbell;
  const uint32_t n = PARAMS->iterations;
  uint32_t made = 0;
  while (!PARAMS->stop) {
    for (uint32_t i = 0; i < n; ++i) *doorbell = i;
    out8(PARAMS->probe_port, 0);
    made += n + 1;
  }
  REPORT(vcpu)->accesses = made;
}

/* ---- GUEST_PROGRAM_MIX --------------------------------------------- */

/* What the PCI configuration space answers at register 0 (vendor and
 * device), as core/harness/devices/pci_config_space.h's standard devices
 * have it, and one function that is absent. */
static const struct {
  uint32_t bus, dev, func, id;
} kPciIds[5] = {
    {0, 0, 0, 0x12378086u},
    {0, 3, 0, 0x10001AF4u},
    {0, 4, 0, 0x00051B36u},
    {1, 0, 0, 0x10011AF4u},
    {0, 7, 0, 0xFFFFFFFFu},
};

/* Each vCPU's picture of its own BAR windows; `unknown` is set where a
 * fault may have changed what the BAR holds. Zero (the BARs' reset value,
 * known) to start with. */
static uint8_t shadow[GUEST_MAX_VCPUS][GUEST_MAX_BARS][GUEST_SHADOW_BYTES];
static uint8_t unknown[GUEST_MAX_VCPUS][GUEST_MAX_BARS][GUEST_SHADOW_BYTES];
static uint32_t scratch[GUEST_MAX_VCPUS];
static uint8_t scratch_unknown[GUEST_MAX_VCPUS];
static uint32_t rng_state[GUEST_MAX_VCPUS];

static uint32_t rnd(uint32_t vcpu) { /* xorshift32 */
  uint32_t x = rng_state[vcpu];
  x ^= x << 13;
  x ^= x >> 17;
  x ^= x << 5;
  return rng_state[vcpu] = x;
}

static uint32_t config_address(uint32_t bus, uint32_t dev, uint32_t func,
                               uint32_t reg, int enable) {
  return (enable ? 0x80000000u : 0) | (bus << 16) | (dev << 11) |
         (func << 8) | (reg & 0xFCu);
}

static void pci_lock(void) {
  for (;;) {
    uint32_t taken = 1;
    __asm__ volatile("xchgl %0, %1" : "+r"(taken), "+m"(PARAMS->pci_lock)
                     : : "memory");
    if (!taken) return;
    while (PARAMS->pci_lock) __asm__ volatile("pause");
  }
}
static void pci_unlock(void) {
  __asm__ volatile("" : : : "memory");
  PARAMS->pci_lock = 0;
}

/* One mix access: `touched` says whether a fault touched it (the host
 * bumped relaxed[vcpu] while it was in flight). */
struct mix {
  uint32_t vcpu;
  volatile struct guest_report* r;
  uint32_t mark;
};
static void begin(struct mix* m) { m->mark = PARAMS->relaxed[m->vcpu]; }
static int touched(struct mix* m) {
  m->r->accesses++;
  if (PARAMS->relaxed[m->vcpu] == m->mark) return 0;
  m->r->relaxed++;
  return 1;
}

static uint32_t pick_size(uint32_t vcpu) { return 1u << (rnd(vcpu) % 3); }
static uint32_t pick_bar_size(uint32_t vcpu) { return 1u << (rnd(vcpu) % 4); }

static void bar_access(struct mix* m, int write) {
  const uint32_t v = m->vcpu;
  const uint32_t bar = rnd(v) % PARAMS->bar_count;
  const uint32_t size = pick_bar_size(v);
  const uint32_t offset = (rnd(v) % GUEST_SHADOW_BYTES) & ~(size - 1);
  const uint32_t address = PARAMS->bar_base + bar * PARAMS->bar_size +
                           v * PARAMS->bar_window + offset;
  if (write) {
    const uint64_t value = (((uint64_t)rnd(v) << 32) | rnd(v)) & mask(size);
    begin(m);
    mmio_out(address, size, value);
    const int t = touched(m);
    for (uint32_t i = 0; i < size; ++i) {
      shadow[v][bar][offset + i] = (uint8_t)(value >> (8 * i));
      unknown[v][bar][offset + i] = (uint8_t)t;
    }
    return;
  }
  uint64_t want = 0;
  int known = 1;
  for (uint32_t i = 0; i < size; ++i) {
    want |= (uint64_t)shadow[v][bar][offset + i] << (8 * i);
    known &= !unknown[v][bar][offset + i];
  }
  begin(m);
  const uint64_t got = mmio_in(address, size);
  if (touched(m) || !known) {
    for (uint32_t i = 0; i < size; ++i) {  /* learned, unless touched */
      shadow[v][bar][offset + i] = (uint8_t)(got >> (8 * i));
      unknown[v][bar][offset + i] = (uint8_t)(PARAMS->relaxed[v] != m->mark);
    }
    return;
  }
  check(v, "BAR read", address, size, got, want);
}

static void uart_status(struct mix* m) {
  begin(m);
  const uint32_t got = in8(PARAMS->uart_base + 5);
  if (!touched(m)) {
    check(m->vcpu, "UART LSR", PARAMS->uart_base + 5, 1, got, 0x60);
  }
}

static void uart_transmit(struct mix* m) {
  const uint8_t byte = (uint8_t)rnd(m->vcpu);
  begin(m);
  out8(PARAMS->uart_base, byte);
  if (touched(m)) {
    m->r->thr_uncertain++;
  } else {
    m->r->thr_bytes++;
    m->r->thr_sum += byte;
  }
}

static void pci_id(struct mix* m) {
  const uint32_t v = m->vcpu;
  const uint32_t d = rnd(v) % 5;
  const int device_id = rnd(v) & 1; /* register 2, size 2, through 0xCFE */
  pci_lock();
  begin(m);
  out32(0xCF8, config_address(kPciIds[d].bus, kPciIds[d].dev,
                              kPciIds[d].func, 0, 1));
  if (touched(m)) {  /* the latch is not known: abandon the cycle */
    pci_unlock();
    return;
  }
  begin(m);
  const uint32_t got = device_id ? in16(0xCFE) : in32(0xCFC);
  const int t = touched(m);
  pci_unlock();
  if (!t) {
    check(v, "PCI ID", device_id ? 0xCFE : 0xCFC, device_id ? 2 : 4, got,
          device_id ? kPciIds[d].id >> 16 : kPciIds[d].id);
  }
}

static void pci_scratch(struct mix* m) {
  const uint32_t v = m->vcpu;
  const uint32_t reg = PARAMS->scratch_base + 4 * v;
  const int write = rnd(v) & 1;
  pci_lock();
  begin(m);
  out32(0xCF8, config_address(0, PARAMS->scratch_dev, 0, reg, 1));
  if (touched(m)) {
    pci_unlock();
    return;
  }
  if (write) {
    const uint32_t value = rnd(v);
    begin(m);
    out32(0xCFC, value);
    scratch_unknown[v] = (uint8_t)touched(m);
    scratch[v] = value;
    pci_unlock();
    return;
  }
  const uint32_t byte = rnd(v) % 4;
  begin(m);
  const uint32_t got = in8(0xCFC + byte);
  const int t = touched(m);
  pci_unlock();
  if (!t && !scratch_unknown[v]) {
    check(v, "PCI scratch", 0xCFC + byte, 1, got,
          (scratch[v] >> (8 * byte)) & 0xFF);
  }
}

static void pci_disabled(struct mix* m) {
  const uint32_t v = m->vcpu;
  pci_lock();
  begin(m);
  out32(0xCF8, config_address(0, 3, 0, 0, 0));
  if (touched(m)) {
    pci_unlock();
    return;
  }
  const uint32_t size = pick_size(v);
  begin(m);
  const uint32_t got = port_in(0xCFC, size);
  const int t = touched(m);
  pci_unlock();
  if (!t) check(v, "disabled config cycle", 0xCFC, size, got, mask(size));
}

static void doorbell_write(struct mix* m) {
  begin(m);
  mmio_out(PARAMS->doorbell, 4, rnd(m->vcpu));
  if (touched(m)) {
    m->r->doorbell_uncertain++;
  } else {
    m->r->doorbell_writes++;
  }
}

static void doorbell_read(struct mix* m) {
  begin(m);
  const uint64_t got = mmio_in(PARAMS->doorbell, 4);
  if (!touched(m)) check(m->vcpu, "ioeventfd read", PARAMS->doorbell, 4, got, 0);
}

static void unclaimed(struct mix* m) {
  begin(m);
  const uint32_t got = in8(PARAMS->unclaimed_port);
  if (!touched(m)) {
    check(m->vcpu, "unclaimed port", PARAMS->unclaimed_port, 1, got, 0xFF);
  }
}

static void run_mix(uint32_t vcpu) {
  /* Weights out of 100, as the emulated stress load has them
   * (bench/internal/vcpu_load.cc). */
  static const struct {
    uint32_t kind, weight;
    void (*op)(struct mix*);
  } kMix[10] = {
      {GUEST_MIX_BAR_WRITE, 30, 0},        {GUEST_MIX_BAR_READ, 30, 0},
      {GUEST_MIX_UART_STATUS, 5, uart_status},
      {GUEST_MIX_UART_TRANSMIT, 5, uart_transmit},
      {GUEST_MIX_PCI_ID, 8, pci_id},        {GUEST_MIX_PCI_SCRATCH, 8, pci_scratch},
      {GUEST_MIX_PCI_DISABLED, 3, pci_disabled},
      {GUEST_MIX_DOORBELL_WRITE, 5, doorbell_write},
      {GUEST_MIX_DOORBELL_READ, 3, doorbell_read},
      {GUEST_MIX_UNCLAIMED, 3, unclaimed},
  };
  const uint32_t enabled = PARAMS->mix;
  uint32_t total = 0;
  for (int k = 0; k < 10; ++k) {
    if (enabled & kMix[k].kind) total += kMix[k].weight;
  }
  if (total == 0 || PARAMS->bar_count > GUEST_MAX_BARS) return;
  rng_state[vcpu] = PARAMS->seed * 0x9E3779B1u + vcpu * 64u + 1u;
  if (rng_state[vcpu] == 0) rng_state[vcpu] = 1;
  struct mix m = {vcpu, REPORT(vcpu), 0};
  while (m.r->accesses < PARAMS->iterations && !PARAMS->stop) {
    uint32_t pick = rnd(vcpu) % total;
    for (int k = 0; k < 10; ++k) {
      if (!(enabled & kMix[k].kind)) continue;
      if (pick >= kMix[k].weight) {
        pick -= kMix[k].weight;
        continue;
      }
      if (kMix[k].kind == GUEST_MIX_BAR_WRITE) bar_access(&m, 1);
      else if (kMix[k].kind == GUEST_MIX_BAR_READ) bar_access(&m, 0);
      else kMix[k].op(&m);
      break;
    }
  }
}

/* ---- entry --------------------------------------------------------- */

void guest_main(uint32_t vcpu) {
  if (vcpu >= GUEST_MAX_VCPUS || PARAMS->magic != GUEST_MAGIC) {
    out32(GUEST_REPORT_PORT, vcpu);  /* reports nothing: the host says so */
    for (;;) __asm__ volatile("pause");
  }
  switch (PARAMS->program) {
    case GUEST_PROGRAM_PROBE: probe(vcpu); break;
    case GUEST_PROGRAM_MIX: run_mix(vcpu); break;
    case GUEST_PROGRAM_PORT_LOOP: port_loop(vcpu); break;
    case GUEST_PROGRAM_MMIO_LOOP: mmio_loop(vcpu); break;
    case GUEST_PROGRAM_DOORBELL_LOOP: doorbell_loop(vcpu); break;
    default: {
      uint32_t at = 0;
      REPORT(vcpu)->failures = 1;
      append(REPORT(vcpu)->message, &at, "unknown program");
    }
  }
  finish(vcpu);
}
