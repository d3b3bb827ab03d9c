#!/usr/bin/python3
"""Writes the seed corpora under corpus/<target>/ (run from the repo root).

slot_decode gets one hand-made slot per verdict (each valid type and each
named error); dispatch_ops gets the life-cycle scenarios of docs/spec.md in
its record format (fuzz/dispatch_ops_format.h), on every topology and
profile; range_map gets overlap, adjacency and top-of-space scenarios in its
16-byte records; concurrent gets garbage at chosen points of a threaded
run; the FuzzedDataProvider-framed targets get deterministic pseudo-random
byte strings of several lengths, which the provider turns into varied
operation streams. Running it again rewrites the same files.
"""
import os
import random
import struct

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "corpus")


def write(target, name, data):
    folder = os.path.join(ROOT, target)
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, name), "wb") as f:
        f.write(data)


def slot(type_, union, processed=0):
    head = struct.pack("<II", type_, 0) + b"\0" * 56
    union = union.ljust(64, b"\0")
    tail = struct.pack("<III", 0, 0, processed)
    return (head + union + tail).ljust(256, b"\0")


def pio(direction, addr, size, value=0, reserved=0):
    return struct.pack("<IIQQI", direction, reserved, addr, size, value)


def mmio(direction, addr, size, value=0, reserved=0):
    return struct.pack("<IIQQQ", direction, reserved, addr, size, value)


def pci(direction, size, value, bus, dev, func, reg):
    return struct.pack("<IIIIQIIIII", direction, 0, 0, 0, size, value, bus, dev, func, reg)


def slot_decode():
    seeds = {
        "valid_pio_read": slot(0, pio(0, 0x3FD, 1)),
        "valid_pio_write_cf8": slot(0, pio(1, 0xCF8, 4, 0x80001800)),
        "valid_mmio_write": slot(1, mmio(1, 0xE0000010, 8, 0x1122334455667788)),
        "valid_pci_read": slot(2, pci(0, 4, 0, 0, 3, 0, 0)),
        "unknown_type": slot(7, pio(0, 0x60, 1)),
        "bad_direction": slot(1, mmio(2, 0x1000, 4)),
        "bad_size": slot(0, pio(0, 0x60, 3)),
        "address_wraps_mmio": slot(1, mmio(0, 0xFFFFFFFFFFFFFFFE, 4)),
        "address_wraps_pio": slot(0, pio(0, 0xFFFF, 2)),
        "bad_pci_address": slot(2, pci(0, 4, 0, 0, 32, 0, 0)),
        "reserved_nonzero": slot(0, pio(0, 0x60, 1, reserved=1)),
        "unknown_state": slot(0, pio(0, 0x60, 1), processed=9),
        "state_free": slot(1, mmio(0, 0x1000, 4), processed=3),
        "short_input": b"\x01\x00\x00\x00",
    }
    for name, data in seeds.items():
        write("slot_decode", name, data)


def kvm_run(exit_reason, union, data=b""):
    """A kvm_run as the kernel lays it out: exit_reason at 8, the exit's
    union at 32; port I/O data at 4096 (where data_offset points)."""
    head = b"\0" * 8 + struct.pack("<I", exit_reason) + b"\0" * 20
    run = head + union
    if data:
        run = run.ljust(4096, b"\0") + data
    return run


def trapped_exit():
    io, mmio_exit, hlt = 2, 6, 5  # KVM_EXIT_IO, KVM_EXIT_MMIO, KVM_EXIT_HLT

    def port(direction, size, port_, count, offset=4096):
        return struct.pack("<BBHIQ", direction, size, port_, count, offset)

    def mmio_(addr, data, length, is_write):
        return struct.pack("<Q8sIB", addr, data, length, is_write)

    seeds = {
        "port_out_1": kvm_run(io, port(1, 1, 0x3F8, 1), b"A"),
        "port_in_4": kvm_run(io, port(0, 4, 0xCFC, 1), b"\0" * 4),
        "rep_outsw_3": kvm_run(io, port(1, 2, 0x3F8, 3), b"\x11\x11\x22\x22\x33\x33"),
        "rep_insb_4": kvm_run(io, port(0, 1, 0x3FC, 4), b"\0" * 4),
        "port_past_ffff": kvm_run(io, port(0, 4, 0xFFFE, 1), b"\0" * 4),
        "port_data_outside": kvm_run(io, port(1, 4, 0x80, 2049), b"\0" * 4),
        "port_offset_inside_struct": kvm_run(io, port(1, 1, 0x80, 1, 8)),
        "mmio_write_8": kvm_run(mmio_exit, mmio_(0xE0000010, b"\x88\x77\x66\x55\x44\x33\x22\x11", 8, 1)),
        "mmio_read_2": kvm_run(mmio_exit, mmio_(0xD0000000, b"\0" * 8, 2, 0)),
        "mmio_len_9": kvm_run(mmio_exit, mmio_(0x1000, b"\0" * 8, 9, 0)),
        "mmio_wraps": kvm_run(mmio_exit, mmio_(0xFFFFFFFFFFFFFFFE, b"\0" * 8, 4, 0)),
        "hlt": kvm_run(hlt, b"\0" * 32),
    }
    for name, data in seeds.items():
        write("trapped_exit", name, data)


def posted_ring():
    """Fixed 8-byte records: op (0 put, 1 drain, 2 byte, 3 word, 4 reset),
    argument, padding, value."""
    def rec(op, arg=0, value=0):
        return struct.pack("<BBHI", op, arg, 0, value)
    seeds = {
        "put_drain": rec(0) * 3 + rec(1),
        "fill_and_wrap": rec(0) * 503 + rec(0) + rec(1) + rec(0) * 10 + rec(1),
        "tail_out_of_range": rec(0) + rec(3, 1, 4096) + rec(1) + rec(0) + rec(4) + rec(0) + rec(1),
        "misaligned_head": rec(0) * 2 + rec(3, 0, 3) + rec(1) + rec(0),
        "wrapped_head": rec(0) + rec(3, 0, 0xFFFFFFF8) + rec(1),
        "bad_geometry": rec(3, 2, 1 << 20) + rec(0) + rec(1) + rec(3, 3, 16) + rec(1),
        "byte_in_entry": rec(0) * 2 + rec(2, 64, 0xAB) + rec(1),
    }
    for name, data in seeds.items():
        write("posted_ring", name, data)


def range_map():
    """A 1-byte header (bit 0: wide) and 16-byte records
    (fuzz/range_map_fuzzer.cc): op, client - 1, flags, size/which, u64
    address, u32 length."""
    def rec(op, client=1, flags=0, which=0, addr=0, length=0):
        return struct.pack("<BBBBQI", op, client - 1, flags, which, addr, length)
    def add(client, start, length, mmio=True):
        return rec(0, client, 1 if mmio else 0, 0, start, length)
    def find(addr, size_log2=0, mmio=True):
        return rec(4, 1, 1 if mmio else 0, size_log2, addr)
    top = (1 << 64) - 1
    seeds = {
        # Nested ranges of two clients: the newest client wins inside.
        "newest_client_wins": add(1, 0, 100) + add(2, 10, 10) + find(15)
        + find(5) + find(25) + rec(3, 2) + find(15),
        # One client, overlapping ranges; removing one leaves the other.
        "overlap_then_remove": add(3, 100, 50) + add(3, 120, 50) + find(130, 2)
        + rec(2, 3, 1, 0) + find(130, 2) + find(160) + rec(2, 3, 1, 0) + find(130),
        # An access that straddles two adjacent ranges matches neither.
        "straddle_adjacent": add(1, 0, 9) + add(1, 10, 9) + find(8, 2) + find(8, 1)
        + find(10, 3),
        # Port and MMIO ranges at the same addresses are separate.
        "types_apart": add(1, 0x3f8, 7, mmio=False) + add(2, 0x3f8, 7)
        + find(0x3f8, 0, mmio=False) + find(0x3f8) + rec(4, 1, 2, 0, 0x3f8),
        # Removing a range that does not exist, of a client that does not.
        "remove_missing": add(4, 16, 7) + rec(2, 4, 0, 0, 16) + rec(2, 5, 0, 0, 16)
        + find(16),
        # Zero-length ranges hold one byte.
        "one_byte_range": add(1, 64, 0) + find(64) + find(64, 1) + find(63),
    }
    for name, records in seeds.items():
        write("range_map", name, b"\x00" + records)
    wide = {
        # A range reaching 2^64 - 1, and accesses at the very top.
        "reaches_the_top": rec(0, 1, 1 | (32 << 1), 0, top - 0xfff, 0xffffffff)
        + rec(4, 1, 1, 3, top - 7) + rec(4, 1, 1, 0, top) + rec(4, 1, 1, 3, top - 3),
        "far_apart": add(1, 1 << 40, 0xfff) + add(2, 1 << 63, 0xfff)
        + rec(4, 1, 1, 2, (1 << 40) + 0x10) + rec(4, 1, 1, 2, (1 << 63) + 0xffe),
    }
    for name, records in wide.items():
        write("range_map", name, b"\x01" + records)
    rng = random.Random(1)
    for i in range(8):
        n = rng.choice([4, 16, 64])
        header = bytes([rng.getrandbits(8)])
        write("range_map", "seed_%02d" % i,
              header + bytes(rng.getrandbits(8) for _ in range(16 * n)))


def concurrent():
    """A 3-byte header (topology bit 0, strategy bits 1-2; vCPUs - 1;
    requests per vCPU - 1) and 4-byte garbage records (vCPU, offset in the
    slot, byte, after how many completions), fuzz/concurrent_fuzzer.cc; on
    both topologies and every blocking strategy."""
    def g(vcpu, offset, byte, after):
        return bytes([vcpu, offset, byte, after])
    state, kernel_handled, type_ = 0x88, 0x84, 0x00
    scenarios = {  # name: (vCPUs, requests, garbage)
        "clean": (4, 8, b""),
        # The state word made FREE (3), PENDING (0), COMPLETE (1) or
        # PROCESSING (2) under a request in flight or between two.
        "state_free_mid": (2, 4, g(1, state, 3, 3)),
        "state_pending_between": (1, 4, g(0, state, 0, 1) + g(0, state, 0, 2)),
        "state_complete_early": (2, 6, g(0, state, 1, 0) + g(1, state, 1, 5)),
        "state_processing": (3, 4, g(2, state, 2, 4)),
        # An insert refused because garbage left the slot not FREE is the
        # hypervisor's documented outcome, not a bug.
        "refused_after_garbage": (1, 3, g(0, state, 2, 1)),
        "type_and_handled": (2, 4, g(0, type_, 7, 1) + g(1, kernel_handled, 1, 2)),
    }
    for name, (vcpus, requests, records) in scenarios.items():
        for topology in range(2):
            for strategy in range(3):
                header = bytes([topology | strategy << 1, vcpus - 1, requests - 1])
                write("concurrent", "%s_%d%d" % (name, topology, strategy),
                      header + records)


def acrn_vpci():
    """Fixed 8-byte records: op (bit 0: write), port (0xCF4 + n), size
    (bit 7: plus 2^32), padding, value. The hypervisor owns 00:03.0."""
    def rec(write, port, size, value=0):
        return struct.pack("<BBBBI", write, port - 0xCF4, size, 0, value)
    cf8 = lambda value: rec(1, 0xCF8, 4, value)  # noqa: E731
    seeds = {
        "owned_read": cf8(0x80001800) + rec(0, 0xCFC, 4) + rec(0, 0xCF8, 4),
        "owned_write": cf8(0x80001804) + rec(1, 0xCFE, 2, 0x1234),
        "forwarded": cf8(0x80002000) + rec(0, 0xCFC, 4) + cf8(0x80002010) + rec(1, 0xCFC, 4, 7),
        "disabled": cf8(0x00001800) + rec(0, 0xCFC, 4),
        "unaligned": cf8(0x80000000) + rec(0, 0xCFD, 2) + cf8(0x80000000) + rec(0, 0xCFE, 4),
        "huge_size": cf8(0x80000000) + rec(0, 0xCFC, 0x81) + cf8(0x80000000) + rec(1, 0xCFC, 0x84, 1),
        "cf8_sizes": cf8(0x8000FFFF) + rec(0, 0xCF8, 2) + rec(1, 0xCF8, 1, 0xFF) + rec(0, 0xCF8, 4),
        "reserved_bits": cf8(0xFF001803) + rec(0, 0xCF8, 4) + rec(0, 0xCFC, 4),
        "other_ports": rec(0, 0xCF4, 4) + rec(1, 0xD00, 1, 1) + rec(0, 0xCF9, 1),
        "latch_cleared": cf8(0x80001800) + rec(0, 0xCFC, 4) + rec(0, 0xCFC, 4),
    }
    for name, data in seeds.items():
        write("acrn_vpci", name, data)


# dispatch_ops records (fuzz/dispatch_ops_format.h): opcode, then 7 bytes.
def op(code, *args):
    return bytes([code] + list(args) + [0] * (7 - len(args)))


def insert_uart_read(vcpu):      # port 0x3f8, 1 byte, read
    return op(0, vcpu, 2, 0x08, 0, 0, 0)


def insert_mmio_read(vcpu):      # 0x1000, 4 bytes
    return op(0, vcpu, 0, 0, 0, 2, 0)


def insert_cf8(vcpu, latch):     # a 4-byte write of the latch
    return op(0, vcpu, 3, *struct.pack("<I", latch))


def insert_cfc(vcpu, port, write):
    return op(0, vcpu, 4, port & 3, 0x5a, 0, 1 if write else 0)


DISPATCH, SERVE_DEFAULT, CLEAR, RESET = op(3), op(6), op(12), op(15)
CREATE, CREATE_DEFAULT = op(10, 0), op(10, 0x80)
UART_RANGE = op(8, 0, 1, 0x08, 0, 8)   # port 0x3f8..0x3ff to client 0


def serve(i): return op(5, i)
def destroy(i): return op(11, i, 0)
def destroy_default(): return op(11, 0, 1)
def take(v): return op(14, v)
def finish(v): return op(7, v)
def pause(): return op(13, 0)
def resume(): return op(13, 1)
def unmark(v): return op(2, v, 0x84, 3, 0, 0, 0, 0)  # kernel_handled = 0


DISPATCH_OPS_SCENARIOS = {
    # [find-client] and [client-wait]: one client, one default, both served.
    "route_and_serve": [CREATE, UART_RANGE, CREATE_DEFAULT,
                        insert_uart_read(0), insert_mmio_read(1), DISPATCH,
                        serve(0), SERVE_DEFAULT, take(0), take(1)],
    # [destroy] a client destroyed holding a request: handed to the default.
    "destroy_hands_over": [CREATE, UART_RANGE, CREATE_DEFAULT,
                           insert_uart_read(0), DISPATCH, destroy(0),
                           SERVE_DEFAULT, take(0)],
    # [destroy] without a default client: answered all-ones.
    "destroy_answers": [CREATE, UART_RANGE, insert_uart_read(0), DISPATCH,
                        destroy(0), take(0)],
    # [clear] during a destroy while a completion waits for its vCPU.
    "clear_in_destroy": [CREATE, UART_RANGE, CREATE_DEFAULT,
                         insert_uart_read(0), insert_mmio_read(1),
                         insert_uart_read(2), DISPATCH, serve(0), pause(),
                         destroy(0), CLEAR, resume(), take(0), take(1),
                         take(2)],
    # [cf8cfc] latch, folded read, disabled read, register past the end.
    "cf8cfc": [CREATE_DEFAULT, insert_cf8(0, 0x80001810), DISPATCH, take(0),
               insert_cfc(0, 2, False), DISPATCH, SERVE_DEFAULT, take(0),
               insert_cf8(0, 0x8F0018FC), DISPATCH, take(0),
               insert_cfc(0, 3, False), DISPATCH, take(0),
               insert_cf8(0, 0), DISPATCH, take(0), insert_cfc(1, 0, True),
               DISPATCH, take(1)],
    # [notify-finish] the device model's finish, refused where not held.
    "notify_finish": [CREATE_DEFAULT, insert_mmio_read(0), DISPATCH,
                      finish(1), finish(0), finish(0),
                      op(7, 0x80, 0, 0, 1, 0), take(0)],
    # [pause] nested; the last resume routes.
    "pause_nests": [CREATE_DEFAULT, pause(), pause(), insert_mmio_read(0),
                    DISPATCH, resume(), DISPATCH, resume(), SERVE_DEFAULT,
                    take(0)],
    # [hv-reset] garbage makes a request no vCPU waits for; reset drops it.
    "reset_after_garbage": [CREATE, UART_RANGE, insert_uart_read(1),
                            take(1), op(2, 1, 0x08, 1, 0xf8), DISPATCH,
                            op(2, 1, 252, 3, 0, 0, 0, 0), DISPATCH, RESET,
                            insert_uart_read(1), DISPATCH, serve(0), take(1)],
    # [kernel-handled] the hypervisor writes kernel_handled 0 alone: the
    # owner's own scan leaves the request to the default client, whose claim
    # (or a pass for every client) marks it; under `acrn` a 0 written into
    # a FREE slot outlives the insert.
    "kernel_handled_written": [CREATE, UART_RANGE, CREATE_DEFAULT,
                               insert_uart_read(0), unmark(0), serve(0),
                               SERVE_DEFAULT, serve(0), take(0), unmark(0),
                               insert_uart_read(0), serve(0), DISPATCH,
                               serve(0), take(0)],
}


def dispatch_ops():
    for name, records in DISPATCH_OPS_SCENARIOS.items():
        # topology bit 0, profile bit 1, routing bit 2 (1: as in production)
        for flags in range(8):
            header = bytes([3, flags])  # 4 vCPUs
            write("dispatch_ops", "%s_%d" % (name, flags),
                  header + b"".join(records))


def random_seeds(target, count, sizes, seed):
    rng = random.Random(seed)
    for i in range(count):
        n = rng.choice(sizes)
        write(target, "seed_%02d" % i, bytes(rng.getrandbits(8) for _ in range(n)))


if __name__ == "__main__":
    slot_decode()
    trapped_exit()
    posted_ring()
    acrn_vpci()
    range_map()
    random_seeds("cf8cfc", 12, [8, 32, 128, 512], 2)
    random_seeds("ioeventfd", 12, [16, 64, 256, 1024], 3)
    dispatch_ops()
    concurrent()
