# System tests of classic 64-bit PV guests (hypervisor/dombuild/pv.c, pv/,
# tests/guests/t_pv_*.c -> build/guests/pv_NAME.elf).
#
# pv-dom0-build: dom0=pv builds the PV domain (RAM, P2M/M2P, kernel,
# start_info, hypercall page, bootstrap tables pinned through the
# validator) and prints its layout; the test image (selftest=boot) then
# powers off, so the run ends with the pass status.
# pv-dom0-too-small: a PV dom0 that does not fit its RAM is refused with
# the reason, torn down, and Proxenos carries on.
# pv-basic: the t_pv_basic guest run as dom0 in ring 3 (start_info, console,
# mmu_update accepted and refused, a #UD bounced to its handler and back
# through HYPERVISOR_iret, segment bases and callbacks, a computation the
# scheduler preempts, a user L4 and a trip to user mode and back through
# the syscall callback, a continued multicall, an event channel upcall,
# SCHEDOP_shutdown).

PV_TEST_IMG=build/proxenos-test.elf
PV_REL_IMG=build/proxenos.elf

t_pv_dom0_build() {
    local log=$LOGDIR/$1.log g=build/guests/pv_basic.elf
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
    local log=$LOGDIR/$1.log g=build/guests/pv_basic.elf
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

t_pv_basic() {
    local log=$LOGDIR/$1.log g=build/guests/pv_basic.elf
    [ -f $g ] || { fail "$g missing (make guests)"; return 1; }
    qemu_boot "$log" 60 $PV_REL_IMG "console=com1 dom0=pv" -initrd "$g"
    expect_rc $QEMU_PASS "$log" &&
    expect "$log" "\(d0\)   ok: #UD bounced to the registered handler and returned by iret" "the bounce" &&
    expect "$log" "\(d0\)   ok: mmu_update of L4 slot 256 refused with -EINVAL" "mmu_update refusal" &&
    expect "$log" "\(d0\)   ok: a long computation survives preemption" "preempted and resumed" &&
    expect "$log" "\(d0\)   ok: user-mode SYSCALL reached the kernel's syscall callback" "user mode" &&
    expect "$log" "\(d0\)   ok: all 70 xen_version results are 4.17 \(across a continuation\)" "multicall" &&
    expect "$log" "\(d0\)   ok: the event upcall reached the event callback once" "event upcall" &&
    expect_not "$log" "\(d0\) FAIL" "no failed check" &&
    expect "$log" "\(d0\) Test result: PASS" "the guest's verdict"
}
systest pv-basic t_pv_basic

# The same guest under Bochs: PV needs no VT-x or AMD-V, so both CPU models
# run it (Bochs is stricter than QEMU about segments, IRET and SYSCALL).
t_pv_basic_bochs() {  # NAME CPU
    local log=$LOGDIR/$1.log g=build/guests/pv_basic.elf iso
    [ -f $g ] || { fail "$g missing (make guests)"; return 1; }
    iso=$(iso_for "$1" $PV_REL_IMG "console=com1 dom0=pv" $g "") || return 1
    bochs_boot "$log" 240 "$iso" "$2" 1
    expect_rc 0 "$log" &&
    expect "$log" "\(d0\)   ok: #UD bounced to the registered handler and returned by iret" "the bounce" &&
    expect "$log" "\(d0\)   ok: user-mode SYSCALL reached the kernel's syscall callback" "user mode" &&
    expect_not "$log" "\(d0\) FAIL" "no failed check" &&
    expect "$log" "\(d0\) Test result: PASS" "the guest's verdict"
}
t_pv_basic_skylake() { t_pv_basic_bochs "$1" corei7_skylake_x; }
t_pv_basic_ryzen()   { t_pv_basic_bochs "$1" ryzen; }
systest pv-basic-bochs-skylake t_pv_basic_skylake
systest pv-basic-bochs-ryzen t_pv_basic_ryzen
