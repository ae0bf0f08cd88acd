#!/bin/bash
# Boots an image under QEMU TCG with AMD SVM + NPT, the serial console on
# this terminal. Extra arguments go to QEMU.
# Usage: run-qemu.sh build/proxenos.elf [hypervisor options] [-- qemu args]
set -euo pipefail
img=$1; shift
append="console=com1"
if [ $# -gt 0 ] && [ "$1" != "--" ]; then append="$1"; shift; fi
[ "${1:-}" = "--" ] && shift
echo "Proxenos under QEMU: Ctrl-A X quits QEMU; 'h' lists the hypervisor's debug keys."
exec qemu-system-x86_64 -accel tcg -cpu EPYC,+svm,+npt -m 512M -smp 2 \
    -display none -no-reboot -serial mon:stdio \
    -device isa-debug-exit,iobase=0xf4,iosize=0x04 \
    -kernel "$img" -append "$append" "$@"
