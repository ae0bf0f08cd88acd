#!/bin/bash
# Boots Proxenos under QEMU TCG with AMD SVM + NPT, the serial console on
# this terminal. By default its initial domain is Debian's Linux (`make
# linux`: build/linux/vmlinux with build/linux/initramfs.cpio), which ends
# in a busybox shell on hvc0; without those files Proxenos boots alone.
#
# Usage: run-qemu.sh IMAGE [HYPERVISOR OPTIONS] [-- QEMU ARGS]
# Environment:
#   LINUX_CMDLINE   the kernel's command line (default below)
#   DOM0=none       boot the hypervisor without a guest
#   QEMU_MEM, QEMU_SMP  the machine (default 1G, 2)
#
# The console: QEMU's multiplexer is on Ctrl-A (Ctrl-A x quits, Ctrl-A h
# helps); input goes to the hypervisor's debug keys ('h' lists them) until
# Ctrl-A is typed three times, which switches it to dom0's hvc0 and back,
# as on Xen.
set -euo pipefail
img=$1; shift
linux=build/linux/vmlinux initrd=build/linux/initramfs.cpio
append="console=com1 dom0=pvh dom0_mem=256M"
cmdline=${LINUX_CMDLINE:-console=hvc0 earlyprintk=xen panic=-1 acpi=off proxenos.shell}
if [ $# -gt 0 ] && [ "$1" != "--" ]; then append="$1"; shift; fi
[ "${1:-}" = "--" ] && shift

mods=()
if [ "${DOM0:-linux}" != none ] && [ -f "$linux" ] && [ -f "$initrd" ]; then
    # QEMU's Multiboot loader: modules are "FILE ARGS" separated by commas
    # (a comma inside ARGS is written twice).
    mods=(-initrd "$linux ${cmdline//,/,,},$initrd")
    echo "Proxenos under QEMU with Linux as dom0 ($(cat build/linux/kernel.id 2>/dev/null || echo "$linux"))."
    echo "Ctrl-A x quits QEMU; Ctrl-A three times switches input between Proxenos ('h' lists"
    echo "its debug keys) and dom0's console. Exit the shell to power dom0 off."
else
    echo "Proxenos under QEMU (no dom0: 'make linux' builds one): Ctrl-A x quits QEMU;" \
         "'h' lists the hypervisor's debug keys."
fi
exec qemu-system-x86_64 -accel tcg -cpu EPYC,+svm,+npt -m "${QEMU_MEM:-1G}" -smp "${QEMU_SMP:-2}" \
    -display none -no-reboot -serial mon:stdio \
    -device isa-debug-exit,iobase=0xf4,iosize=0x04 \
    -kernel "$img" -append "$append" "${mods[@]}" "$@"
