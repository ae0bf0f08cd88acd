#!/bin/bash
# Builds the test initramfs Proxenos boots Linux with: Debian's static
# busybox, /init (tools/initramfs/init) and the small TSC reader
# (tools/initramfs/tsc.c, built by the Makefile), as a newc cpio written by
# tools/mkcpio.py (no root needed: /dev/console is described, not created).
#
# Usage: tools/mkinitramfs.sh OUT.cpio TSC-BINARY [DEBDIR]
#   DEBDIR (default: OUT's directory) caches busybox-static's .deb; the
#   package is fetched with `apt-get download` when none is there.
set -euo pipefail
out=$1 tsc=$2
debdir=${3:-$(dirname "$out")}
mkdir -p "$debdir"

deb=$(ls "$debdir"/busybox-static_*.deb 2>/dev/null | head -1 || true)
if [ -z "$deb" ]; then
    echo "  FETCH busybox-static"
    (cd "$debdir" && apt-get download -q busybox-static 2>&1 |
        grep -v -e '^W: Download is performed unsandboxed' -e '^Get:' || true)
    deb=$(ls "$debdir"/busybox-static_*.deb 2>/dev/null | head -1 || true)
    [ -n "$deb" ] || { echo "mkinitramfs: apt-get download busybox-static fetched nothing" >&2; exit 1; }
fi

root=$(mktemp -d "${TMPDIR:-/tmp}/proxenos-initramfs.XXXXXX")
trap 'rm -rf "$root"' EXIT
pkg=$root/pkg
dpkg-deb -x "$deb" "$pkg"
[ -x "$pkg/bin/busybox" ] || { echo "mkinitramfs: $deb holds no bin/busybox" >&2; exit 1; }

fs=$root/fs
mkdir -p "$fs"/{bin,sbin,usr/bin,usr/sbin,dev,proc,sys,tmp,root,etc}
install -m 755 "$pkg/bin/busybox" "$fs/bin/busybox"
install -m 755 "$tsc" "$fs/bin/tsc"
ln -s busybox "$fs/bin/sh"
install -m 755 tools/initramfs/init "$fs/init"
echo "root:x:0:0:root:/:/bin/sh" > "$fs/etc/passwd"
python3 tools/mkcpio.py "$fs" "$out" --node dev/console:c:5:1:600 --node dev/null:c:1:3:666
echo "  CPIO $out ($(( $(stat -c %s "$out") / 1024 )) KiB, $(basename "$deb"))"
