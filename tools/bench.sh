#!/bin/bash
# `make bench`: deterministic instruction counts under the emulators
# (QEMU -icount shift=0: the guest TSC counts instructions). Prints one table
# per benchmark guest found in build/guests/bench_*.elf; none yet means an
# empty table.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
printf '%-28s %-10s %14s %14s\n' "benchmark" "emulator" "insns/op" "Xen 4.17"
printf '%-28s %-10s %14s %14s\n' "---------" "--------" "--------" "--------"
found=0
for g in build/guests/bench_*.elf; do
    [ -e "$g" ] || continue
    found=1
    name=$(basename "$g" .elf)
    log=build/bench-$name.log
    timeout 120 qemu-system-x86_64 -accel tcg -icount shift=0,sleep=off -cpu EPYC,+svm,+npt \
        -m 512M -smp 1 -display none -no-reboot -serial "file:$log" \
        -device isa-debug-exit,iobase=0xf4,iosize=0x04 -kernel build/proxenos.elf \
        -append "console=com1 dom0=pvh" -initrd "$g" </dev/null >/dev/null 2>&1
    # Bench guests print lines "BENCH <name> <insns-per-op> <xen-reference>".
    sed -n 's/.*BENCH \([^ ]*\) \([0-9]*\) \([0-9]*\).*/\1 \2 \3/p' "$log" |
        while read -r b n x; do printf '%-28s %-10s %14s %14s\n' "$b" "svm/qemu" "$n" "$x"; done
done
[ $found -eq 1 ] || echo "(no benchmark guests built yet)"
