# System tests of classic 64-bit PV guests (hypervisor/dombuild/pv.c, pv/,
# tests/guests/t_pv_*.c -> build/guests/pv_NAME.elf).
#
# pv-dom0-build: dom0=pv builds the PV domain (RAM, P2M/M2P, kernel,
# start_info, hypercall page, bootstrap tables pinned through the
# validator) and prints its layout; the test image (selftest=boot) then
# powers off, so the run ends with the pass status.
# pv-dom0-too-small: a PV dom0 that does not fit its RAM is refused with
# the reason, torn down, and Proxenos carries on.
# pv-qemu-NAME: each PV test guest as dom0 under QEMU TCG (the guest's own
# verdict, "(d0) Test result: PASS", exit 33, and a line or two that prove
# the area ran): pv_discovery, pv_console, pv_pagetable, pv_traps, pv_desc,
# pv_emul, pv_usermode, pv_shutdown, and pv_all (all of them in one boot).
# pv-qemu-shutdown-crash, -shutdown-watchdog, -traps-unhandled: runs that
# must end as crashed domains (exit 35) with the hypervisor saying why: a
# SHUTDOWN_crash request, a watchdog that expired, a #UD with no trap table.
# pv-bochs-skylake-all, pv-bochs-ryzen-all: pv_all under Bochs, both CPU
# models (PV needs no VT-x or AMD-V; Bochs is stricter than QEMU about
# segments, IRET and SYSCALL, and pushes the architectural INT n error
# code). One boot each: a Bochs boot costs ~20 s.
# QEMU runs pass `tcg` (pv_traps, pv_usermode: TCG's INT n error code).

PV_TEST_IMG=build/proxenos-test.elf
PV_REL_IMG=build/proxenos.elf
PV_OPTS="console=com1 dom0=pv"
PV_GUESTS="discovery console pagetable traps desc emul usermode shutdown all"

t_pv_dom0_build() {
    local log=$LOGDIR/$1.log g=build/guests/pv_discovery.elf
    [ -f $g ] || { fail "$g missing (make guests)"; return 1; }
    qemu_boot "$log" 90 $PV_TEST_IMG "console=com1 selftest=boot dom0=pv" -initrd "$g pvarg=1"
    expect_rc $QEMU_PASS "$log" &&
    expect "$log" "d0: PV ELF64 kernel, guest OS 'Proxenos-test'" "the PV image was read" &&
    expect "$log" "pv: M2P of [0-9]+ frames .* mapped read-only for guests" "the M2P" &&
    expect "$log" "d0: PV kernel entry 0x400000, virt_base 0x400000, [0-9]+ MiB RAM, region 0x400000-0x800000" \
        "the PV layout" &&
    expect "$log" "d0: PV start_info 0x[0-9a-f]+, P2M list 0x[0-9a-f]+, [0-9]+ page-table frames at 0x[0-9a-f]+ \(pinned\), stack top 0x[0-9a-f]+, cmdline 'pvarg=1'" \
        "tables pinned through the validator" &&
    expect_not "$log" "FATAL|PANIC|panic" "no crash" &&
    expect "$log" "SELFTEST boot: PASS" "boot carried on"
}
systest pv-dom0-build t_pv_dom0_build

t_pv_dom0_too_small() {
    local log=$LOGDIR/$1.log g=build/guests/pv_discovery.elf
    [ -f $g ] || { fail "$g missing (make guests)"; return 1; }
    qemu_boot "$log" 90 $PV_TEST_IMG "console=com1 selftest=boot dom0=pv dom0_mem=2M" -initrd "$g"
    expect_rc $QEMU_PASS "$log" &&
    expect "$log" "dom0=pv: cannot build the PV domain with 2 MiB of RAM: the RAM is smaller than the initial virtual region .*0 frames left referenced" \
        "the refusal" &&
    expect "$log" "d0: no dom0 was built: Proxenos idles" "idle message" &&
    expect_not "$log" "pages not returned at teardown|FATAL|PANIC|panic" "no leak, no crash" &&
    expect "$log" "SELFTEST boot: PASS" "boot carried on"
}
systest pv-dom0-too-small t_pv_dom0_too_small

# An ok line of the guest's, proving its area ran: "(d0)   ok: TEXT".
pv_ok() {   # LOG TEXT (a regex)
    expect "$1" "\(d0\)   ok: $2" "(d0)   ok: $2"
}

# What each guest must have printed besides its verdict (pv_all: all of it).
pv_marks() {   # LOG GUEST
    local log=$1 rc=0
    case $2 in
    discovery|all)
        pv_ok "$log" "start_info magic is xen-3.0-x86_64" &&
        pv_ok "$log" "M2P\[P2M\[i\]\] == i for every page" &&
        pv_ok "$log" "all 128 hypercall page stubs are Xen's 64-bit PV stubs" || rc=1 ;;&
    console|all)
        expect "$log" "^\(d0\) console_io marker: plain write.?$" "the plain write's marker" &&
        expect "$log" "^\(d0\) console_io marker: long abc.*mno.?$" "the whole 300-byte line" &&
        expect "$log" "^\(d0\) console_io marker: multi-line 15 " "the 16-line write's last line" &&
        pv_ok "$log" "write from an unmapped buffer -EFAULT" &&
        expect "$log" "^\(d0\) console_io marker: 5120-byte write, line 79 " \
            "the last line of the 5120-byte write (continued after 4096 bytes)" || rc=1 ;;&
    pagetable|all)
        pv_ok "$log" "mmu_update of L4 slot 256 refused with -EINVAL" &&
        pv_ok "$log" "mmu_update mapping the L4 writable refused -EBUSY" &&
        pv_ok "$log" "its mapping reads the data page" &&
        pv_ok "$log" "entry 1 mmu_update of slot 256: -EINVAL" &&
        pv_ok "$log" "all 70 xen_version results are 4.17 \(across a continuation\)" || rc=1 ;;&
    traps|all)
        pv_ok "$log" "#UD bounced to the registered handler and returned by iret" &&
        pv_ok "$log" "#PF \(read of an unmapped address\) bounced" &&
        pv_ok "$log" "the event upcall reached the event callback once" &&
        pv_ok "$log" "a long computation survives preemption" || rc=1 ;;&
    desc|all)
        pv_ok "$log" "kernel CS fixed to DPL 3 in the frame" &&
        pv_ok "$log" "LSL of CPUNODE \(0x7b\)" &&
        pv_ok "$log" "%gs after GS_USER_SEL 0x63" || rc=1 ;;&
    emul|all)
        pv_ok "$log" "TF: #DB after the emulated out" || rc=1 ;;&
    usermode|all)
        pv_ok "$log" "user-mode SYSCALL reached the kernel's syscall callback" &&
        pv_ok "$log" "user mode: %gs:0 through the user GS base" &&
        pv_ok "$log" "#UD in user mode bounced to the kernel's handler" || rc=1 ;;&
    shutdown|all)
        pv_ok "$log" "SCHEDOP_block with an event pending returns 0" &&
        expect "$log" "\(d0\) pv_shutdown: SCHEDOP_shutdown\(SHUTDOWN_crash\) after shutdown_code\(poweroff\)" \
            "the final crash request" &&
        expect "$log" "d0: shut down: poweroff" "shutdown_code's poweroff winning over it" || rc=1 ;;
    esac
    return $rc
}

pv_passed() {   # LOG GUEST
    expect "$1" "\(d0\) Test result: PASS" "the guest's verdict" &&
    expect_not "$1" "\(d0\) FAIL" "no failed check" &&
    pv_marks "$1" "$2"
}

pv_show_failures() {   # LOG
    grep -E '\(d0\) (FAIL|WARN|SKIP)' "$1" | head -12 | sed 's/^/      /'
    grep -q '(d0) Test result' "$1" || tail -3 "$1" | sed 's/^/      last: /'
    return 1
}

t_pv_qemu() {   # TESTNAME GUEST
    local log=$LOGDIR/$1.log g=build/guests/pv_$2.elf
    [ -f $g ] || { fail "$g missing (make guests)"; return 1; }
    qemu_boot "$log" 60 $PV_REL_IMG "$PV_OPTS" -initrd "$g tcg"
    { expect_rc $QEMU_PASS "$log" && pv_passed "$log" $2; } || pv_show_failures "$log"
}

# Runs that must end with the domain crashed, for the reason given.
t_pv_qemu_crash() {   # TESTNAME GUEST OPTION "GUEST'S LAST WORDS" "HYPERVISOR LINE"
    local log=$LOGDIR/$1.log g=build/guests/pv_$2.elf
    [ -f $g ] || { fail "$g missing (make guests)"; return 1; }
    qemu_boot "$log" 60 $PV_REL_IMG "$PV_OPTS" -initrd "$g tcg $3"
    { expect_rc $QEMU_FAIL "$log" &&
      expect_not "$log" "\(d0\) FAIL" "no failed check before the end" &&
      expect "$log" "\(d0\) $4" "the guest's last words" &&
      expect "$log" "^\(PXN\) $5" "the hypervisor's reason" &&
      expect_not "$log" "\(d0\) Test result" "a verdict from a guest that should have been ended"; } ||
        pv_show_failures "$log"
}
t_pv_shutdown_crash() {
    t_pv_qemu_crash "$1" shutdown crash "pv_shutdown: SCHEDOP_shutdown\(SHUTDOWN_crash\)" \
        "d0: shut down: crash, guest request"
}
t_pv_shutdown_watchdog() {
    t_pv_qemu_crash "$1" shutdown watchdog "pv_shutdown: watchdog [12] armed" \
        "d0: shut down: watchdog, watchdog expired"
}
t_pv_traps_unhandled() {
    t_pv_qemu_crash "$1" traps unhandled "pv_traps: a #UD with no trap table" \
        "d0 crashed: .*no handler"
}

t_pv_bochs() {   # TESTNAME CPU
    local log=$LOGDIR/$1.log g=build/guests/pv_all.elf iso
    [ -f $g ] || { fail "$g missing (make guests)"; return 1; }
    iso=$(iso_for "$1" $PV_REL_IMG "$PV_OPTS" $g "") || return 1
    bochs_boot "$log" 240 "$iso" "$2" 1
    { expect_rc 0 "$log" && pv_passed "$log" all; } || pv_show_failures "$log"
}
t_pv_bochs_skylake() { t_pv_bochs "$1" corei7_skylake_x; }
t_pv_bochs_ryzen()   { t_pv_bochs "$1" ryzen; }

register_pv_runs() {
    local g
    for g in $PV_GUESTS; do
        eval "t_pv_qemu_$g() { t_pv_qemu \"\$1\" $g; }"
        systest "pv-qemu-$g" "t_pv_qemu_$g"
    done
    systest pv-qemu-shutdown-crash t_pv_shutdown_crash
    systest pv-qemu-shutdown-watchdog t_pv_shutdown_watchdog
    systest pv-qemu-traps-unhandled t_pv_traps_unhandled
    systest pv-bochs-skylake-all t_pv_bochs_skylake
    systest pv-bochs-ryzen-all t_pv_bochs_ryzen
}
register_pv_runs
