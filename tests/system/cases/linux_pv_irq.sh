# System test: physical interrupts of the classic PV dom0 (common/pirq.c).
# Debian's Linux 6.1 boots with dom0=pv as linux-pv-qemu does (cases/linux.sh,
# sourced before this file), and its log must show that the legacy GSIs are
# mapped (no "xen map irq failed", no "Failed to setup GSI"), that the
# i8042 and rtc_cmos probes, which request IRQs 1, 12 and 8, succeed, that
# the hypervisor routed them, and that interrupts arrived: /init prints
# /proc/interrupts, and the keyboard's IRQ 1 (the i8042 answering the
# probe's commands) counts more than 0 on the xen-pirq chip.
t_linux_pv_irq() {
    local log=$LOGDIR/$1.log n
    linux_files || return 1
    LINUX_HV_OPTS="console=com1 dom0=pv dom0_mem=256M loglvl=all" linux_qemu "$log"
    LINUX_MILESTONES=$LINUX_PV_MILESTONES linux_judge "$log" poweroff || return 1
    expect_not "$log" 'xen map irq failed' "a GSI that could not be mapped" || return 1
    expect_not "$log" 'Failed to setup GSI' "a failed PHYSDEVOP_setup_gsi" || return 1
    expect_not "$log" '(i8042|rtc_cmos): probe .* failed' "a failed i8042/rtc_cmos probe" || return 1
    expect "$log" '^\(PXN\) d0: GSI 1 is pirq 1, edge-triggered' "IRQ 1 routed to d0" || return 1
    expect "$log" '^\(PXN\) d0: GSI 9 is pirq 9, level-triggered' "the ACPI SCI routed to d0" || return 1
    expect "$log" 'rtc_cmos .*: registered as rtc0' "the RTC driver bound" || return 1
    n=$(tr -d '\r' < "$log" | sed -n 's/.*PROXENOS-INIT: interrupts: *1: *\([0-9]*\) *xen-pirq.*i8042.*/\1/p' | head -1)
    [ "${n:-0}" -gt 0 ] || fail "no i8042 interrupt counted on IRQ 1 (/proc/interrupts; log: $log)" || return 1
    echo "    IRQ 1 (i8042): $n interrupts delivered through event channels"
}
systest linux-pv-irq t_linux_pv_irq
