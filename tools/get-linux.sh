#!/bin/bash
# Fetches Debian's stock x86-64 kernel and turns it into what Proxenos boots:
#   OUTDIR/vmlinuz    the bzImage from the package, as Debian ships it
#   OUTDIR/config     its build configuration
#   OUTDIR/kernel.id  "PACKAGE VERSION" of what was fetched
# `make linux` then runs build/tools/extract-vmlinux on vmlinuz to get
# OUTDIR/vmlinux, the ELF image with the PVH entry note.
#
# The package is the one the metapackage linux-image-amd64 depends on
# (linux-image-6.1.0-N-amd64 on Debian 12), fetched with `apt-get download`:
# no root, nothing installed on the host. Only ./boot of the package is
# unpacked (its modules are of no use to an initramfs-only boot).
#
# Usage: tools/get-linux.sh [--refresh] [OUTDIR]     (OUTDIR: build/linux)
#   Without --refresh a kernel already fetched is kept, so `make` works
#   offline once it has run. LINUX_PKG=linux-image-... picks another package.
set -euo pipefail
refresh=0
if [ "${1:-}" = "--refresh" ]; then refresh=1; shift; fi
out=${1:-build/linux}
mkdir -p "$out"

if [ $refresh -eq 0 ] && [ -s "$out/vmlinuz" ] && [ -s "$out/kernel.id" ]; then
    touch "$out/vmlinuz"            # up to date for make
    exit 0
fi

sudo_if_needed() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

# The versioned package behind linux-image-amd64, from the local apt lists
# (fetched once if this machine never ran apt-get update).
resolve_package() {
    apt-cache depends linux-image-amd64 2>/dev/null |
        awk '$1 == "Depends:" && $2 ~ /^linux-image-[0-9]/ { print $2; exit }'
}
pkg=${LINUX_PKG:-$(resolve_package)}
if [ -z "$pkg" ]; then
    echo "get-linux: no linux-image-amd64 in the apt lists: running apt-get update"
    sudo_if_needed apt-get update -qq
    pkg=$(resolve_package)
fi
[ -n "$pkg" ] || { echo "get-linux: cannot resolve linux-image-amd64 to a kernel package" >&2; exit 1; }
version=$(apt-cache policy "$pkg" | awk '$1 == "Candidate:" { print $2 }')
[ -n "$version" ] && [ "$version" != "(none)" ] ||
    { echo "get-linux: apt knows no version of $pkg" >&2; exit 1; }

work=$(mktemp -d "${TMPDIR:-/tmp}/proxenos-linux.XXXXXX")
trap 'rm -rf "$work"' EXIT
echo "  FETCH $pkg $version"
# apt-get download writes to the current directory; as root it warns that
# the download is unsandboxed (the _apt user cannot write $work): harmless.
(cd "$work" && apt-get download -q "$pkg=$version" 2>&1 | grep -v -e '^W: Download is performed unsandboxed' -e '^Get:' || true)
deb=$(ls "$work"/*.deb 2>/dev/null | head -1)
[ -n "$deb" ] || { echo "get-linux: apt-get download $pkg=$version fetched nothing" >&2; exit 1; }

# Only ./boot: vmlinuz-*, config-*, System.map-* (a stub in Debian's package).
dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$work" --wildcards './boot/*'
vmlinuz=$(ls "$work"/boot/vmlinuz-* 2>/dev/null | head -1)
[ -n "$vmlinuz" ] || { echo "get-linux: $deb holds no boot/vmlinuz-*" >&2; exit 1; }
cp "$vmlinuz" "$out/vmlinuz.tmp" && mv "$out/vmlinuz.tmp" "$out/vmlinuz"
cp "$work"/boot/config-* "$out/config" 2>/dev/null || true
echo "$pkg $version" > "$out/kernel.id"
echo "  LINUX $out/vmlinuz ($(basename "$vmlinuz"), $(( $(stat -c %s "$out/vmlinuz") / 1024 )) KiB)"
