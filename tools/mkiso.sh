#!/bin/bash
# Builds a BIOS GRUB ISO that boots Proxenos with Xen's module convention.
# Usage: mkiso.sh OUT.iso IMAGE "HYPERVISOR OPTIONS" [--mb1] [MODULE "CMDLINE"]...
#   --mb1   use GRUB's `multiboot`/`module` (default: `multiboot2`/`module2`)
set -euo pipefail
out=$1 image=$2 opts=$3; shift 3
mb=multiboot2 mod=module2
if [ "${1:-}" = "--mb1" ]; then mb=multiboot mod=module; shift; fi
dir=$(mktemp -d "${TMPDIR:-/tmp}/proxenos-iso.XXXXXX")
trap 'rm -rf "$dir"' EXIT
mkdir -p "$dir/boot/grub"
cp "$image" "$dir/boot/proxenos.elf"
{
    echo "set timeout=0"
    echo "set default=0"
    echo "menuentry \"Proxenos\" {"
    echo "    $mb /boot/proxenos.elf $opts"
    i=0
    while [ $# -ge 2 ]; do
        cp "$1" "$dir/boot/mod$i"
        echo "    $mod /boot/mod$i $2"
        i=$((i + 1)); shift 2
    done
    echo "    boot"
    echo "}"
} > "$dir/boot/grub/grub.cfg"
mkdir -p "$(dirname "$out")"
grub-mkrescue -d /usr/lib/grub/i386-pc -o "$out" "$dir" >/dev/null 2>&1 || {
    echo "mkiso: grub-mkrescue failed (are grub-pc-bin, xorriso and mtools installed? 'make deps')" >&2
    exit 1
}
