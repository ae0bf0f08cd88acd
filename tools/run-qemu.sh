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
#   DOM0=pv         Linux as a classic PV dom0 (default: pvh)
#   QEMU_MEM, QEMU_SMP  the machine (default 1G, 2)
#
# The console: input goes to the hypervisor's debug keys ('h' lists them)
# until Ctrl-A is typed three times, which switches it to dom0's hvc0 and
# back, as on Xen (conswitch=). QEMU's own escape key moves from Ctrl-A to
# Ctrl-] (-echr 0x1d) so that Ctrl-A reaches Proxenos: Ctrl-] x quits QEMU,
# Ctrl-] c opens its monitor, Ctrl-] h lists the rest.
set -euo pipefail
img=$1; shift
linux=build/linux/vmlinux initrd=build/linux/initramfs.cpio
mode=pvh
[ "${DOM0:-}" = pv ] && mode=pv
append="console=com1 dom0=$mode dom0_mem=256M"
# No acpi=off: the MADT of the builder's ACPI tables is what gives Linux its
# Xen timer (docs/linux-boot-notes.md).
cmdline=${LINUX_CMDLINE:-console=hvc0 earlyprintk=xen panic=-1 proxenos.shell}
if [ $# -gt 0 ] && [ "$1" != "--" ]; then append="$1"; shift; fi
[ "${1:-}" = "--" ] && shift

mods=()
if [ "${DOM0:-linux}" != none ] && [ -f "$linux" ] && [ -f "$initrd" ]; then
    # QEMU's Multiboot loader: modules are "FILE ARGS" separated by commas
    # (a comma inside ARGS is written twice).
    mods=(-initrd "$linux ${cmdline//,/,,},$initrd")
    echo "Proxenos under QEMU with Linux as $mode dom0 ($(cat build/linux/kernel.id 2>/dev/null || echo "$linux"))."
    echo "Ctrl-A three times switches input between Proxenos ('h' lists its debug keys) and"
    echo "dom0's console (hvc0). Ctrl-] x quits QEMU. Exit the shell to power dom0 off."
else
    echo "Proxenos under QEMU (no dom0: 'make linux' builds one): Ctrl-] x quits QEMU;" \
         "'h' lists the hypervisor's debug keys."
fi
exec qemu-system-x86_64 -accel tcg -cpu EPYC,+svm,+npt -m "${QEMU_MEM:-1G}" -smp "${QEMU_SMP:-2}" \
    -display none -no-reboot -serial mon:stdio -echr 0x1d \
    -device isa-debug-exit,iobase=0xf4,iosize=0x04 \
    -kernel "$img" -append "$append" "${mods[@]}" "$@"
