#!/bin/bash
# `make bench`: deterministic instruction counts under the emulators
# (QEMU -icount shift=0: the guest TSC counts instructions).
#
# --- the benchmark guests --------------------------------------------------------
# build/guests/bench_pvh.elf (tests/guests/t_bench_pvh.c, booted with dom0=pvh)
# and build/guests/bench_pv.elf (tests/guests/bench_pv.c, dom0=pv) time loops
# of exits and hypercalls with RDTSC and print lines
#     BENCH <name> <instructions per op> <Xen 4.17's, or ->
# Each runs under QEMU TCG (-cpu EPYC,+svm,+npt, -icount shift=0,sleep=off:
# one TSC tick per instruction) and under Bochs corei7_skylake_x (Intel VMX;
# one CPU, clock sync=none: its TSC is its instruction count too, see
# tests/system/bochsrc.in) through a GRUB ISO; the PVH guest also under
# Bochs ryzen (AMD SVM with NRIP save). One CPU everywhere. The counts
# take in every instruction the machine executes, hypervisor and world
# switches included (a VMRUN or VM exit is one). docs/benchmarks.md says what
# each loop does and records the figures. BENCH_BOCHS=0 leaves Bochs out,
# BENCH_LINUX=0 the Linux boots below.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
LOGDIR=build/bench-logs
. tests/system/lib.sh

# The project's targets (docs/benchmarks.md), by benchmark and emulator.
bench_target() {   # NAME EMULATOR
    case $1/$2 in
    pvh_*/svm/qemu) echo "<= 1200" ;;
    pvh_*/vmx/bochs) echo "<= 450" ;;
    pvh_*/svm/bochs) echo "-" ;;
    pv_null_hypercall/*) echo "<= 170" ;;
    pv_mmu_update_per_pte/*) echo "<= 360" ;;
    *) echo "-" ;;
    esac
}

bench_row() {   # NAME EMULATOR INSNS XEN
    local verdict=""
    local t; t=$(bench_target "$1" "$2")
    case $t in "<= "*) [ "$3" -le "${t#<= }" ] && verdict=met || verdict="not met" ;; esac
    printf '%-24s %-10s %10s %10s %10s  %s\n' "$1" "$2" "$3" "$t" "$4" "$verdict"
}

bench_rows() {   # LOG EMULATOR
    local rows
    rows=$(tr -d '\r' < "$1" | sed -n 's/.*BENCH \([^ ]*\) \([0-9]*\) \([0-9-]*\).*/\1 \2 \3/p' |
        while read -r b n x; do
            # Xen's PVH figures were taken on QEMU (SVM) and Bochs skylake (VMX).
            [ "$2" = svm/bochs ] && x=-
            bench_row "$b" "$2" "$n" "$x"
        done)
    if [ -n "$rows" ]; then echo "$rows"; else echo "($1: no BENCH lines under $2)"; fi
}

bench_guests() {
    local g name dom0 log iso found=0
    printf '%-24s %-10s %10s %10s %10s  %s\n' "benchmark" "emulator" "insns/op" "target" "Xen 4.17" ""
    printf '%-24s %-10s %10s %10s %10s  %s\n' "---------" "--------" "--------" "------" "--------" ""
    for g in build/guests/bench_*.elf; do
        [ -e "$g" ] || continue
        found=1
        name=$(basename "$g" .elf)
        case $name in bench_pvh*) dom0=pvh ;; *) dom0=pv ;; esac
        log=$LOGDIR/$name-qemu.log
        timeout 120 qemu-system-x86_64 -accel tcg -icount shift=0,sleep=off -cpu EPYC,+svm,+npt \
            -m 512M -smp 1 -display none -no-reboot -serial "file:$log" \
            -device isa-debug-exit,iobase=0xf4,iosize=0x04 -kernel build/proxenos.elf \
            -append "console=com1 dom0=$dom0" -initrd "$g" </dev/null >/dev/null 2>&1
        bench_rows "$log" svm/qemu
        [ "${BENCH_BOCHS:-1}" = 1 ] || continue
        iso=$(iso_for "$name-bochs" build/proxenos.elf "console=com1 dom0=$dom0" "$g" "") || continue
        log=$LOGDIR/$name-bochs-vmx.log
        bochs_boot "$log" 300 "$iso" corei7_skylake_x 1
        bench_rows "$log" vmx/bochs
        # The PVH guest on Bochs's SVM too: unlike QEMU's, it saves the next
        # RIP on exits (NRIP), so the cost of decoding the exiting
        # instruction shows as the difference.
        [ $dom0 = pvh ] || continue
        log=$LOGDIR/$name-bochs-svm.log
        bochs_boot "$log" 300 "$iso" ryzen 1
        bench_rows "$log" svm/bochs
    done
    [ $found -eq 1 ] || echo "(no benchmark guests built: make guests)"
}
bench_guests

# --- Linux: boot to init -------------------------------------------------------
# Debian's Linux 6.1 (`make linux`) with the busybox initramfs, booted two
# ways under QEMU TCG with -icount shift=0,sleep=off (the TSC counts guest
# instructions, 1 per virtual ns; idle time is skipped ahead) and one CPU:
#   - natively: QEMU's own PVH boot of the same vmlinux (-kernel vmlinux);
#   - on Proxenos (SVM + NPT) as its PVH dom0;
#   - on Proxenos as its classic PV dom0 (ring 3, direct paging: no SVM used).
# "insns to init" is the TSC that /init reads first thing (tools/initramfs/
# tsc.c): everything the machine executed since power-on, firmware and
# hypervisor included. "uptime" is Linux's own clock at that point. Then
# the exit and hypercall counts Proxenos prints when dom0 ends (they cover
# the whole run: boot, /init's work and the power-off). A boot that stalls
# (LINUX_BENCH_QUIET s without output) gets the debug key 'c' (counters so
# far) and is stopped.
LINUX_BENCH_TIMEOUT=${LINUX_BENCH_TIMEOUT:-300}
LINUX_BENCH_QUIET=${LINUX_BENCH_QUIET:-30}
linux_cmdline="console=hvc0 earlyprintk=xen panic=-1"

# bench_linux_run LOG INPUT-FIFO-DIR QEMU-ARGS...: runs QEMU with the serial
# line on a pipe pair; prints "WALL-TO-INIT TOTAL-WALL" (seconds).
bench_linux_run() {
    local log=$1 dir=$2; shift 2
    local t0 t_init="" pid catpid quiet=0 last=-1 size
    rm -f "$dir/ser.in" "$dir/ser.out"
    mkfifo "$dir/ser.in" "$dir/ser.out"
    : > "$log"
    t0=$(date +%s.%N)
    qemu-system-x86_64 -accel tcg -icount shift=0,sleep=off -smp 1 -m 1G -display none \
        -no-reboot -chardev "pipe,id=ser,path=$dir/ser" -serial chardev:ser \
        -device isa-debug-exit,iobase=0xf4,iosize=0x04 "$@" </dev/null >"$log.qemu" 2>&1 &
    pid=$!
    cat "$dir/ser.out" > "$log" &
    catpid=$!
    exec 3>"$dir/ser.in"
    while kill -0 $pid 2>/dev/null; do
        sleep 0.1
        if [ -z "$t_init" ] && grep -q 'PROXENOS-INIT: started' "$log"; then
            t_init=$(date +%s.%N)
        fi
        # Linux halted (no power-off method on Proxenos yet): nothing more comes.
        if grep -Eq 'reboot: (System halted|Power down)' "$log"; then
            sleep 2
            kill $pid 2>/dev/null
            break
        fi
        size=$(stat -c %s "$log")
        if [ "$size" = "$last" ]; then quiet=$((quiet + 1)); else quiet=0; last=$size; fi
        if [ $quiet -ge $((LINUX_BENCH_QUIET * 10)) ] ||
           awk -v a="$t0" -v b="$(date +%s.%N)" -v t="$LINUX_BENCH_TIMEOUT" 'BEGIN { exit !(b - a > t) }'; then
            printf 'c' >&3              # Proxenos's counters so far (a no-op natively)
            sleep 2
            kill $pid 2>/dev/null
            break
        fi
    done
    wait $pid 2>/dev/null
    exec 3>&-
    sleep 0.2
    kill $catpid 2>/dev/null
    wait $catpid 2>/dev/null
    awk -v a="$t0" -v i="${t_init:-}" -v b="$(date +%s.%N)" \
        'BEGIN { printf "%s %.1f\n", i == "" ? "-" : sprintf("%.1f", i - a), b - a }'
}

init_value() {   # LOG FIELD: a value /init printed ("tsc at init", "uptime at init")
    tr -d '\r' < "$1" | sed -n "s/.*PROXENOS-INIT: $2: \([0-9.]*\).*/\1/p" | head -1
}

bench_linux() {
    local dir log_native log_pxn log_pv w_native w_pxn w_pv
    if [ ! -f build/linux/vmlinux ] || [ ! -f build/linux/initramfs.cpio ]; then
        echo "(no build/linux/vmlinux: 'make linux')"
        return
    fi
    dir=$(mktemp -d "${TMPDIR:-/tmp}/proxenos-bench.XXXXXX")
    log_native=build/bench-linux-native.log log_pxn=build/bench-linux-proxenos.log
    log_pv=build/bench-linux-proxenos-pv.log
    w_native=$(bench_linux_run $log_native "$dir" -cpu EPYC -kernel build/linux/vmlinux \
        -initrd build/linux/initramfs.cpio -append "console=ttyS0 panic=-1")
    w_pxn=$(bench_linux_run $log_pxn "$dir" -cpu EPYC,+svm,+npt -kernel build/proxenos.elf \
        -append "console=com1 dom0=pvh dom0_mem=256M" \
        -initrd "build/linux/vmlinux $linux_cmdline,build/linux/initramfs.cpio")
    w_pv=$(bench_linux_run $log_pv "$dir" -cpu EPYC,+svm,+npt -kernel build/proxenos.elf \
        -append "console=com1 dom0=pv dom0_mem=256M" \
        -initrd "build/linux/vmlinux $linux_cmdline,build/linux/initramfs.cpio")
    rm -rf "$dir"

    echo
    echo "Linux $(cut -d' ' -f2 build/linux/kernel.id 2>/dev/null) boot to /init" \
         "(QEMU TCG, -icount shift=0,sleep=off, 1 CPU)"
    printf '%-26s %12s %12s %18s %14s\n' "boot" "wall to init" "wall total" "insns to init" "Linux uptime"
    printf '%-26s %12s %12s %18s %14s\n' "----" "------------" "----------" "-------------" "------------"
    set -- $w_native
    printf '%-26s %11ss %11ss %18s %13ss\n' "QEMU direct PVH (native)" "$1" "$2" \
        "$(init_value $log_native 'tsc at init' || true)" "$(init_value $log_native 'uptime at init')"
    set -- $w_pxn
    printf '%-26s %11ss %11ss %18s %13ss\n' "Proxenos dom0 (SVM/NPT)" "$1" "$2" \
        "$(init_value $log_pxn 'tsc at init')" "$(init_value $log_pxn 'uptime at init')"
    set -- $w_pv
    printf '%-26s %11ss %11ss %18s %13ss\n' "Proxenos PV dom0 (ring 3)" "$1" "$2" \
        "$(init_value $log_pv 'tsc at init')" "$(init_value $log_pv 'uptime at init')"
    for l in $log_pxn $log_pv; do
        if ! grep -q 'PROXENOS-INIT: started' $l; then
            echo "  $l: Linux did not reach /init; its last line:"
            tr -d '\r' < $l | grep '^(d0)' | tail -1 | sed 's/^/    /'
        fi
    done
    for l in $log_pxn $log_pv; do
        echo
        echo "Proxenos: dom0's VM exits (PVH) or traps (PV) and hypercalls (${l})"
        tr -d '\r' < $l | sed -n 's/^(PXN) \(d0 v[0-9]* \(exits\|hypercalls\|traps[^:]*\|emulated\):.*\)/  \1/p' |
            tail -n 8 | grep . || echo "  (no counters printed)"
    done
}
# BENCH_LINUX=0: the benchmark guests alone.
[ "${BENCH_LINUX:-1}" = 1 ] && bench_linux
