#!/usr/bin/python3
"""make_initramfs.py INIT OUT.cpio: an initramfs (the kernel's "newc" cpio
format, uncompressed) holding /init (INIT, mode 0755), the folders /dev,
/proc and /sys, and /dev/console (character device 5:1), which the kernel
opens as the init's standard input and output."""
import os
import sys


def entry(name, mode, data=b"", rdev=(0, 0), ino=[0]):
    ino[0] += 1
    fields = [ino[0], mode, 0, 0, 1, 0, len(data), 0, 0, rdev[0], rdev[1],
              len(name) + 1, 0]
    head = b"070701" + b"".join(b"%08X" % f for f in fields)
    out = head + name.encode() + b"\0"
    out += b"\0" * (-len(out) % 4)
    out += data + b"\0" * (-len(data) % 4)
    return out


def main(argv):
    if len(argv) != 2:
        print("usage: make_initramfs.py INIT OUT.cpio", file=sys.stderr)
        return 2
    with open(argv[0], "rb") as f:
        init = f.read()
    archive = b"".join([
        entry("dev", 0o040755), entry("proc", 0o040755), entry("sys", 0o040755),
        entry("dev/console", 0o020600, rdev=(5, 1)),
        entry("init", 0o100755, init),
        entry("TRAILER!!!", 0),
    ])
    archive += b"\0" * (-len(archive) % 512)
    with open(argv[1], "wb") as f:
        f.write(archive)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
