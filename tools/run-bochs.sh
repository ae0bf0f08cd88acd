#!/bin/bash
# Boots Proxenos under Bochs with Intel VMX + EPT (cpu model corei7_skylake_x,
# see /work/shared/platform.md) from a GRUB ISO, with a guest as its PVH dom0
# and the serial console on this terminal. Bochs has no -kernel: the ISO is
# built by tools/mkiso.sh.
#
# Usage: run-bochs.sh IMAGE [GUEST.elf ["GUEST ARGS"]] [-- "HYPERVISOR OPTIONS"]
#   GUEST defaults to $DEMO_GUEST or build/guests/xen_version.elf (none if absent).
# Environment: BXCPU (default corei7_skylake_x), BXCOUNT (CPUs, default 1),
#   BXTIMEOUT (seconds, default: none), BXDIR (work files, default a temp dir).
#
# The console: COM1 goes to a file that is followed with tail on this
# terminal (output only: the debug keys need input, use QEMU's `make run`
# for them). Bochs's `mode=term` on a pseudo-terminal hangs Bochs 2.7 in its
# serial set-up here, so it is not used. Bochs's own messages go to
# $BXDIR/bochs.out. Ctrl-C stops Bochs; so does the last domain ending.
set -euo pipefail
img=${1:?usage: run-bochs.sh IMAGE [GUEST.elf [\"GUEST ARGS\"]] [-- \"HYPERVISOR OPTIONS\"]}
shift
guest=${DEMO_GUEST:-build/guests/xen_version.elf} gargs="vendor=GenuineIntel"
opts="console=com1 dom0=pvh dom0_mem=64M"
if [ $# -gt 0 ] && [ "$1" != "--" ]; then guest=$1; shift; fi
if [ $# -gt 0 ] && [ "$1" != "--" ]; then gargs=$1; shift; fi
if [ "${1:-}" = "--" ]; then opts=$2; fi
command -v bochs >/dev/null || { echo "run-bochs: bochs is not installed ('make deps')" >&2; exit 1; }

dir=${BXDIR:-$(mktemp -d "${TMPDIR:-/tmp}/proxenos-bochs.XXXXXX")}
mkdir -p "$dir"
mods=()
if [ -f "$guest" ]; then
    mods=("$guest" "$gargs")
else
    echo "run-bochs: no guest ($guest missing: 'make guests'): booting the hypervisor alone"
fi
tools/mkiso.sh "$dir/proxenos.iso" "$img" "$opts" "${mods[@]}"

: > "$dir/serial.log"
sed -e "s|@CPU@|${BXCPU:-corei7_skylake_x}|; s|@COUNT@|${BXCOUNT:-1}|; s|@ISO@|$dir/proxenos.iso|" \
    -e "s|@LOG@|$dir/bochs.log|; s|@SERIAL@|$dir/serial.log|" \
    tests/system/bochsrc.in > "$dir/bochsrc"
# No sound card in the emulated machine: Bochs's ALSA probe can abort it.
echo "sound: driver=dummy" >> "$dir/bochsrc"
printf 'continue\nquit\n' > "$dir/dbg.rc"

echo "Proxenos under Bochs (${BXCPU:-corei7_skylake_x}, Intel VMX): ~2 s of BIOS and GRUB" \
     "first. Ctrl-C stops Bochs; files in $dir"
run=(bochs -q -f "$dir/bochsrc" -rc "$dir/dbg.rc")
[ -n "${BXTIMEOUT:-}" ] && run=(timeout "$BXTIMEOUT" "${run[@]}")
tail -n +1 -F "$dir/serial.log" 2>/dev/null &
tail_pid=$!
trap 'kill $tail_pid 2>/dev/null' EXIT
rc=0
"${run[@]}" </dev/null >"$dir/bochs.out" 2>&1 || rc=$?
sleep 0.5                      # let tail print the last lines
exit $rc
