#!/usr/bin/env python3
"""Writes a directory tree as a newc cpio archive (the initramfs format Linux
unpacks, Documentation/driver-api/early-userspace/buffer-format.rst), with
no root rights needed: owners are 0, times are 0 (reproducible archives), and
device nodes are described on the command line instead of being created.

Usage: mkcpio.py ROOTDIR OUT [--node PATH:c|b:MAJOR:MINOR:MODE]...
   e.g. --node dev/console:c:5:1:600
"""
import os
import stat
import sys

TRAILER = "TRAILER!!!"


class Writer:
    def __init__(self, out):
        self.out = out
        self.ino = 0
        self.pos = 0

    def _put(self, data):
        self.out.write(data)
        self.pos += len(data)

    def _pad(self):
        self._put(b"\0" * (-self.pos % 4))

    def entry(self, name, mode, data=b"", nlink=1, rdev=(0, 0)):
        self.ino += 1
        name_b = name.encode() + b"\0"
        fields = [self.ino, mode, 0, 0, nlink, 0, len(data), 0, 0,
                  rdev[0], rdev[1], len(name_b), 0]
        self._put(b"070701" + "".join("%08X" % f for f in fields).encode())
        self._put(name_b)
        self._pad()
        self._put(data)
        self._pad()


def add_tree(w, root):
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        rel_dir = os.path.relpath(dirpath, root)
        names = sorted(dirnames + filenames)
        for n in names:
            path = os.path.join(dirpath, n)
            rel = n if rel_dir == "." else os.path.join(rel_dir, n)
            st = os.lstat(path)
            perm = stat.S_IMODE(st.st_mode)
            if stat.S_ISLNK(st.st_mode):
                w.entry(rel, stat.S_IFLNK | 0o777, os.readlink(path).encode())
            elif stat.S_ISDIR(st.st_mode):
                w.entry(rel, stat.S_IFDIR | perm, nlink=2)
            elif stat.S_ISREG(st.st_mode):
                with open(path, "rb") as f:
                    w.entry(rel, stat.S_IFREG | perm, f.read())
            else:
                sys.exit("mkcpio: %s: not a file, directory or symlink "
                         "(describe device nodes with --node)" % path)


def add_node(w, spec):
    try:
        path, kind, major, minor, mode = spec.split(":")
        kind_bits = {"c": stat.S_IFCHR, "b": stat.S_IFBLK}[kind]
        w.entry(path, kind_bits | int(mode, 8), rdev=(int(major), int(minor)))
    except (ValueError, KeyError):
        sys.exit("mkcpio: bad --node %r (want PATH:c|b:MAJOR:MINOR:MODE)" % spec)


def main(argv):
    if len(argv) < 3 or not os.path.isdir(argv[1]):
        sys.exit(__doc__)
    root, out, rest = argv[1], argv[2], argv[3:]
    if len(rest) % 2 or any(r != "--node" for r in rest[::2]):
        sys.exit(__doc__)
    tmp = out + ".tmp"
    with open(tmp, "wb") as f:
        w = Writer(f)
        add_tree(w, root)
        for spec in rest[1::2]:
            add_node(w, spec)
        w.entry(TRAILER, 0)
    os.replace(tmp, out)


if __name__ == "__main__":
    main(sys.argv)
