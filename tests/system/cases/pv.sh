# System tests of classic 64-bit PV guests (hypervisor/dombuild/pv.c, pv/,
# tests/guests/t_pv_*.c -> build/guests/pv_NAME.elf).
#
# pv-dom0-build: dom0=pv builds the PV domain (RAM, P2M/M2P, kernel,
# start_info, hypercall page, bootstrap tables pinned through the
# validator), prints its layout, and, since PV vCPUs cannot run yet, tears
# it down with every frame released and refuses clearly. The test image
# (selftest=boot) then powers off, so the run ends with the pass status.
#
# pv-basic: the t_pv_basic guest run as dom0. Registered only once the
# hypervisor can run PV vCPUs (the release image no longer carries the
# "not supported" refusal).

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
    expect "$log" "d0: PV start_info 0x[0-9a-f]+, P2M list 0x407000, [0-9]+ page-table frames at 0x[0-9a-f]+ \(pinned\), stack top 0x[0-9a-f]+, cmdline 'pvarg=1'" \
        "tables pinned through the validator" &&
    expect "$log" "built and validated, then torn down \(0 frames left referenced\)" \
        "every frame released at teardown" &&
    expect_not "$log" "pages not returned at teardown|FATAL|PANIC|panic" "no leak, no crash" &&
    expect "$log" "SELFTEST boot: PASS" "boot carried on"
}
systest pv-dom0-build t_pv_dom0_build

t_pv_basic() {
    local log=$LOGDIR/$1.log g=build/guests/pv_basic.elf
    [ -f $g ] || { fail "$g missing (make guests)"; return 1; }
    qemu_boot "$log" 60 $PV_REL_IMG "console=com1 dom0=pv" -initrd "$g"
    expect_rc $QEMU_PASS "$log" &&
    expect "$log" "\(d0\) Test result: PASS" "the guest's verdict"
}
if [ -f $PV_REL_IMG ] && ! grep -qa "PV guests are not supported by this build yet" $PV_REL_IMG; then
    systest pv-basic t_pv_basic
fi
