# System tests: Debian's unmodified Linux 6.1 (`make linux`: build/linux/vmlinux,
# extracted from the linux-image-amd64 bzImage) boots as Proxenos's PVH
# initial domain (and, linux-pv-*, as its classic PV one) with the busybox initramfs (tools/mkinitramfs.sh), whose
# /init reports on the console and powers off. See docs/linux-boot-notes.md.
#
# A boot is judged by milestones, in the order Linux reaches them:
#   banner    "Linux version 6.1" on the console (earlyprintk=xen: console_io)
#   pvh       "Booting kernel on Xen PVH": Linux took the PVH entry and found Xen
#   evtchn    "Xen HVM callback vector for event delivery is enabled"
#   clock     "clocksource: xen: mask ...": xen_time_init() ran (pvclock, and the
#             Xen clockevent; dom0 then prefers the TSC as its clocksource)
#   init      "PROXENOS-INIT: started": the initramfs's /init runs
#   sysfs     /sys/hypervisor/type reads "xen"
#   sleep     `sleep 1` takes 0.8-1.5 s of guest time (/proc/uptime): timers work
#   poweroff  `poweroff -f` ends the domain and QEMU exits 33 (pass)
# linux-qemu (SVM) and linux-bochs-vmx (Intel VMX) require every milestone
# up to LINUX_MILESTONE, by default all of them; `make test-slow` adds
# linux-bochs-ryzen-slow (SVM under Bochs). A failed run prints the furthest
# milestone, the hypercalls the hypervisor refused and the last console lines.
#
# Runs are bounded: the emulator is stopped when its log stays silent for
# LINUX_QUIET seconds (a hung boot) and after LINUX_TIMEOUT in any case.

LINUX_HV=build/proxenos.elf
LINUX_VMLINUX=build/linux/vmlinux
LINUX_INITRD=build/linux/initramfs.cpio
LINUX_HV_OPTS="console=com1 dom0=pvh dom0_mem=256M loglvl=all"
# No acpi=off: Linux finds its CPUs, and so sets up the Xen timer, only from
# the MADT the builder provides (docs/linux-boot-notes.md, blocker 1).
LINUX_ARGS=${LINUX_ARGS:-console=hvc0 earlyprintk=xen panic=-1}
LINUX_MILESTONES="banner pvh evtchn clock init sysfs sleep poweroff"
LINUX_MILESTONE=${LINUX_MILESTONE:-poweroff}
LINUX_TIMEOUT=${LINUX_TIMEOUT:-180}
LINUX_QUIET=${LINUX_QUIET:-30}

linux_files() {
    [ -f $LINUX_VMLINUX ] && [ -f $LINUX_INITRD ] ||
        fail "$LINUX_VMLINUX or $LINUX_INITRD missing (make linux)"
}

# linux_watch PID LOG: waits for the emulator PID, stopping it when LOG stays
# silent for LINUX_QUIET s or after LINUX_TIMEOUT s; sets RC (124 if stopped).
linux_watch() {
    local pid=$1 log=$2 start=$SECONDS last_size=-1 quiet=0 size
    while kill -0 "$pid" 2>/dev/null; do
        sleep 1
        size=$(stat -c %s "$log" 2>/dev/null || echo 0)
        if [ "$size" = "$last_size" ]; then quiet=$((quiet + 1)); else quiet=0; last_size=$size; fi
        if [ $quiet -ge "$LINUX_QUIET" ] || [ $((SECONDS - start)) -ge "$LINUX_TIMEOUT" ]; then
            echo "(test) stopped the emulator: $quiet s without output, $((SECONDS - start)) s in all" >> "$log"
            kill "$pid" 2>/dev/null
            wait "$pid" 2>/dev/null
            RC=124
            return
        fi
    done
    wait "$pid"
    RC=$?
}

# linux_qemu LOG [QEMU ARGS...]: boots Proxenos + Linux under QEMU TCG
# (SVM + NPT), watched by linux_watch.
linux_qemu() {
    local log=$1; shift
    : > "$log"
    qemu-system-x86_64 -accel tcg -cpu "${QEMU_CPU:-EPYC,+svm,+npt}" -m 1G -smp "${QEMU_SMP:-2}" \
        -display none -no-reboot -serial "file:$log" \
        -device isa-debug-exit,iobase=0xf4,iosize=0x04 \
        -kernel $LINUX_HV -append "$LINUX_HV_OPTS" \
        -initrd "$LINUX_VMLINUX $LINUX_ARGS,$LINUX_INITRD" "$@" </dev/null >"$log.qemu" 2>&1 &
    linux_watch $! "$log"
}

# The guest time `sleep 1` took, from the init's report line.
linux_sleep_elapsed() {
    tr -d '\r' < "$1" | sed -n 's/.*PROXENOS-INIT: sleep 1: .*elapsed \([0-9.]*\) s$/\1/p' | tail -1
}

# linux_milestone LOG NAME: 0 when the run reached it.
linux_milestone() {
    local log=$1 e
    case $2 in
    banner)   grep -Eq '\(d0\) .*Linux version 6\.1' "$log" ;;
    pvh)      grep -Eq '\(d0\) .*Booting (paravirtualized )?kernel on Xen PVH' "$log" ;;
    pv)       tr -d '\r' < "$log" | grep -Eq '^\(d0\) .*Booting (paravirtualized )?kernel on Xen$' ;;
    evtchn)   grep -Eq '\(d0\) .*Xen HVM callback vector for event delivery is enabled' "$log" ;;
    clock)    grep -Eq '\(d0\) .*clocksource: xen: mask' "$log" ;;
    init)     grep -q '(d0) PROXENOS-INIT: started' "$log" ;;
    sysfs)    tr -d '\r' < "$log" | grep -q '^(d0) PROXENOS-INIT: hypervisor type: xen$' ;;
    sleep)    e=$(linux_sleep_elapsed "$log")
              [ -n "$e" ] && awk -v e="$e" 'BEGIN { exit !(e >= 0.8 && e <= 1.5) }' ;;
    poweroff) [ "$RC" = "$QEMU_PASS" ] && grep -q 'd0: shut down: poweroff' "$log" ;;
    esac
}

# What a reader of a failed run needs: how far Linux got and why it stopped.
linux_report() {   # LOG
    local log=$1 m furthest=none
    for m in $LINUX_MILESTONES; do
        linux_milestone "$log" $m || break
        furthest=$m
    done
    echo "    furthest milestone: $furthest (QEMU exit $RC); log: $log"
    tr -d '\r' < "$log" | grep -E '^\(PXN\) .*(not implemented|crashed|FATAL|PANIC|shut down|#GP)' |
        sort | uniq -c | sort -rn | head -12 | sed 's/^/      /'
    tr -d '\r' < "$log" | grep '^(d0)' | tail -6 | sed 's/^/      last: /'
}

# linux_judge LOG UPTO: every milestone up to UPTO, and no hypervisor crash.
linux_judge() {
    local log=$1 upto=$2 m
    for m in $LINUX_MILESTONES; do
        linux_milestone "$log" $m || { fail "milestone '$m' not reached"; linux_report "$log"; return 1; }
        [ $m = "$upto" ] && break
    done
    expect_not "$log" '^\(PXN\) (----\[ Proxenos PANIC|Proxenos halted: fatal)' "a hypervisor panic" ||
        { linux_report "$log"; return 1; }
    linux_report "$log" | head -1
}

t_linux_qemu() {
    local log=$LOGDIR/$1.log
    linux_files || return 1
    linux_qemu "$log"
    linux_judge "$log" "$LINUX_MILESTONE" &&
    echo "    sleep 1 took $(linux_sleep_elapsed "$log") s of guest time"
}
systest linux-qemu t_linux_qemu

# The same kernel image as a classic PV dom0 (dom0=pv: XEN_ELFNOTE_ENTRY, ring
# 3, the direct-paging validator). Milestones: the PVH ones without the HVM
# callback vector, "pv" instead of "pvh".
LINUX_PV_MILESTONES="banner pv clock init sysfs sleep poweroff"
LINUX_PV_MILESTONE=${LINUX_PV_MILESTONE:-poweroff}
t_linux_pv_qemu() {
    local log=$LOGDIR/$1.log
    linux_files || return 1
    LINUX_HV_OPTS="console=com1 dom0=pv dom0_mem=256M loglvl=all" linux_qemu "$log"
    LINUX_MILESTONES=$LINUX_PV_MILESTONES linux_judge "$log" "$LINUX_PV_MILESTONE" &&
    echo "    sleep 1 took $(linux_sleep_elapsed "$log") s of guest time"
}
systest linux-pv-qemu t_linux_pv_qemu

# The PV dom0 with two vCPUs (dom0_max_vcpus=2: VCPUOP_initialise/up for
# Linux's secondary CPU, IPIs and a timer per vCPU); /init must see both.
t_linux_pv_smp_qemu() {
    local log=$LOGDIR/$1.log
    linux_files || return 1
    LINUX_HV_OPTS="console=com1 dom0=pv dom0_max_vcpus=2 dom0_mem=256M loglvl=all" \
        QEMU_SMP=2 linux_qemu "$log"
    LINUX_MILESTONES=$LINUX_PV_MILESTONES linux_judge "$log" "$LINUX_PV_MILESTONE" &&
    expect "$log" '^\(d0\) PROXENOS-INIT: cpus online: 0-1' "Linux sees 2 CPUs" &&
    echo "    sleep 1 took $(linux_sleep_elapsed "$log") s of guest time"
}
systest linux-pv-smp-qemu t_linux_pv_smp_qemu

# The PV dom0 under Bochs (Intel model: PV needs no VT-x; the CPU's own
# SYSCALL/IRET/#PF behaviour is what is checked).
t_linux_pv_bochs() {
    LINUX_HV_OPTS="console=com1 dom0=pv dom0_mem=256M loglvl=all" \
    LINUX_MILESTONES=$LINUX_PV_MILESTONES linux_bochs "$1" corei7_skylake_x "$LINUX_PV_MILESTONE"
}
systest linux-pv-bochs t_linux_pv_bochs

# linux_bochs TESTNAME CPU UPTO: the same boot under Bochs (cpu model CPU:
# corei7_skylake_x is Intel VMX + EPT, ryzen AMD SVM + NPT), from a GRUB
# ISO: ~75 s against QEMU's ~10 s. UPTO as in linux_judge.
linux_bochs() {
    local log=$LOGDIR/$1.log iso rc_file=$LOGDIR/$1.bochsrc
    linux_files || return 1
    iso=$(iso_for "$1" $LINUX_HV "$LINUX_HV_OPTS" $LINUX_VMLINUX "$LINUX_ARGS" \
        $LINUX_INITRD "") || return 1
    sed -e "s|@CPU@|$2|; s|@COUNT@|1|; s|@ISO@|$iso|; s|@SERIAL@|$log|; s|@LOG@|$log.bochs|" \
        -e "s|^megs: .*|megs: 768|" tests/system/bochsrc.in > "$rc_file"
    grep -q '^sound:' "$rc_file" || echo "sound: driver=dummy" >> "$rc_file"
    printf 'continue\nquit\n' > "$log.dbg"
    : > "$log"
    bochs -q -f "$rc_file" -rc "$log.dbg" </dev/null >"$log.stdout" 2>&1 &
    LINUX_TIMEOUT=${LINUX_BOCHS_TIMEOUT:-600} linux_watch $! "$log"
    # Bochs's pass is exit 0 after the magic breakpoint the hypervisor
    # takes at poweroff; judge the milestones with QEMU's pass code.
    [ "$RC" = 0 ] && RC=$QEMU_PASS
    linux_judge "$log" "$3"
}
t_linux_bochs_vmx() { linux_bochs "$1" corei7_skylake_x "$LINUX_MILESTONE"; }
systest linux-bochs-vmx t_linux_bochs_vmx

# make test-slow: the SVM backend under Bochs (stricter VMRUN checks than
# QEMU's, NRIP save and flush-by-ASID on).
t_linux_bochs_ryzen() { linux_bochs "$1" ryzen "${LINUX_RYZEN_MILESTONE:-$LINUX_MILESTONE}"; }
if [ "${PROXENOS_SLOW:-0}" = 1 ]; then
    systest linux-bochs-ryzen-slow t_linux_bochs_ryzen
fi

# --- tools/extract-vmlinux on made-up bzImages (no emulator) ----------------------
# fake_bzimage OUT PAYLOAD [VERSION]: a bzImage whose payload is found only
# through the header (payload_offset/payload_length): an xz magic number
# sits in the protected-mode code before it as a decoy for magic scanners.
fake_bzimage() {
    python3 - "$@" <<'PY'
import struct, sys
out, payload = sys.argv[1], open(sys.argv[2], "rb").read()
version = int(sys.argv[3], 0) if len(sys.argv) > 3 else 0x20f
setup = bytearray(2 * 512)                   # setup_sects = 1
setup[0x1f1] = 1
setup[0x202:0x206] = b"HdrS"
struct.pack_into("<H", setup, 0x206, version)
pm = b"\x90" * 64 + b"\xfd7zXZ\x00decoy" + b"\x90" * 48
struct.pack_into("<II", setup, 0x248, len(pm), len(payload) + 4)
open(out, "wb").write(bytes(setup) + pm + payload + struct.pack("<I", 1234))
PY
}

t_extract_vmlinux() {
    local d=$LOGDIR/$1 x=build/tools/extract-vmlinux elf=build/linux/tsc out
    [ -x $x ] && [ -f $elf ] || { fail "$x or $elf missing (make linux)"; return 1; }
    mkdir -p "$d"
    xz --check=crc32 -c $elf > "$d/p.xz" && gzip -9 -c $elf > "$d/p.gz" &&
        xz --format=lzma -c $elf > "$d/p.lzma" && bzip2 -c $elf > "$d/p.bz2" ||
        { fail "cannot compress the test payloads"; return 1; }
    for f in xz gz lzma; do
        fake_bzimage "$d/bz.$f" "$d/p.$f"
        out=$($x "$d/bz.$f" "$d/vmlinux.$f" 2>&1) || { fail "$f: $out"; return 1; }
        cmp -s $elf "$d/vmlinux.$f" || { fail "$f: the extracted image differs from $elf"; return 1; }
    done
    fake_bzimage "$d/bz.bz2" "$d/p.bz2"
    out=$($x "$d/bz.bz2" "$d/out" 2>&1) && { fail "bzip2 payload accepted"; return 1; }
    grep -q 'bzip2-compressed: only xz, lzma and gzip' <<<"$out" || { fail "bzip2: '$out'"; return 1; }
    fake_bzimage "$d/bz.old" "$d/p.xz" 0x207
    out=$($x "$d/bz.old" "$d/out" 2>&1) && { fail "protocol 2.07 accepted"; return 1; }
    grep -q 'older than 2.08' <<<"$out" || { fail "2.07: '$out'"; return 1; }
    head -c 1500 "$d/bz.xz" > "$d/bz.short"
    out=$($x "$d/bz.short" "$d/out" 2>&1) && { fail "truncated image accepted"; return 1; }
    grep -q 'past the end' <<<"$out" || { fail "truncated: '$out'"; return 1; }
    out=$($x --require-pvh "$d/bz.xz" "$d/out" 2>&1) && { fail "an ELF without PVH note passed --require-pvh"; return 1; }
    grep -q 'no XEN_ELFNOTE_PHYS32_ENTRY' <<<"$out" || { fail "--require-pvh: '$out'"; return 1; }
    out=$($x Makefile "$d/out" 2>&1) && { fail "a text file accepted"; return 1; }
    grep -q 'neither a bzImage' <<<"$out" || { fail "text file: '$out'"; return 1; }
}
systest extract-vmlinux t_extract_vmlinux
