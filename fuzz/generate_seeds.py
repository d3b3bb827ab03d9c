#!/usr/bin/python3
"""Writes the seed corpora under corpus/<target>/ (run from the repo root).

slot_decode gets one hand-made slot per verdict (each valid type and each
named error); the FuzzedDataProvider-framed targets get deterministic
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


def random_seeds(target, count, sizes, seed):
    rng = random.Random(seed)
    for i in range(count):
        n = rng.choice(sizes)
        write(target, "seed_%02d" % i, bytes(rng.getrandbits(8) for _ in range(n)))


if __name__ == "__main__":
    slot_decode()
    random_seeds("range_map", 12, [16, 64, 256, 1024], 1)
    random_seeds("cf8cfc", 12, [8, 32, 128, 512], 2)
    random_seeds("ioeventfd", 12, [16, 64, 256, 1024], 3)
    random_seeds("dispatch_ops", 16, [32, 128, 512, 2048], 4)
    random_seeds("concurrent", 6, [8, 40, 120], 5)
