#!/usr/bin/python3
"""Writes the seed corpora under corpus/<target>/ (run from the repo root).

slot_decode gets one hand-made slot per verdict (each valid type and each
named error); dispatch_ops gets the life-cycle scenarios of docs/spec.md in
its record format (fuzz/dispatch_ops_format.h), on every topology and
profile; the FuzzedDataProvider-framed targets get deterministic
pseudo-random byte strings of several lengths, which the provider turns into
varied operation streams. Running it again rewrites the same files.
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
}


def dispatch_ops():
    for name, records in DISPATCH_OPS_SCENARIOS.items():
        for flags in range(4):  # topology bit 0, profile bit 1
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
    random_seeds("range_map", 12, [16, 64, 256, 1024], 1)
    random_seeds("cf8cfc", 12, [8, 32, 128, 512], 2)
    random_seeds("ioeventfd", 12, [16, 64, 256, 1024], 3)
    dispatch_ops()
    random_seeds("concurrent", 6, [8, 40, 120], 5)
