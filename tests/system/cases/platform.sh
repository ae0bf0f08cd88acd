# System tests of the platform layer: SMP bring-up, IPIs, the IOAPIC and the
# timer measured against an independent emulator clock (HPET or PIT), on
# QEMU and on both Bochs CPU models.

t_platform_qemu() {   # NAME SELFTEST [SMP]
    local log=$LOGDIR/$1.log
    QEMU_SMP=${3:-4} qemu_boot "$log" 90 build/proxenos-test.elf "selftest=$2"
    expect_rc $QEMU_PASS "$log" && expect "$log" "SELFTEST $2: PASS" "the $2 verdict"
}
t_qemu_smp4()   { t_platform_qemu "$1" smp 4 && expect "$LOGDIR/$1.log" "SMP: 4 CPUs online"; }
t_qemu_ipi()    { t_platform_qemu "$1" ipi 4; }
t_qemu_ioapic() { t_platform_qemu "$1" ioapic 2; }
t_qemu_timer()  {
    t_platform_qemu "$1" timer 2 &&
    expect "$LOGDIR/$1.log" "timer: 20 ticks of 10 ms took [0-9]+ ms by (HPET|PIT)" "the measured ticks"
}
t_qemu_timer_pit() {
    local log=$LOGDIR/$1.log
    qemu_boot "$log" 90 build/proxenos-test.elf "selftest=timer clocksource=pit"
    expect_rc $QEMU_PASS "$log" && expect "$log" "calibrated against PIT" "PIT calibration" &&
    expect "$log" "took [0-9]+ ms by PIT" "ticks measured by the PIT"
}
systest qemu-smp-4cpus t_qemu_smp4
systest qemu-ipi t_qemu_ipi
systest qemu-ioapic t_qemu_ioapic
systest qemu-timer-hpet t_qemu_timer
systest qemu-timer-pit t_qemu_timer_pit

t_platform_bochs() {  # NAME CPU SELFTEST
    local log=$LOGDIR/$1.log iso
    iso=$(iso_for "$1" build/proxenos-test.elf "selftest=$3") || return 1
    bochs_boot "$log" 240 "$iso" "$2" 2
    expect_rc 0 "$log" && expect "$log" "SELFTEST $3: PASS" "the $3 verdict"
}
t_bochs_skylake_timer() { t_platform_bochs "$1" corei7_skylake_x timer && expect "$LOGDIR/$1.log" "x2APIC"; }
t_bochs_ryzen_timer()   { t_platform_bochs "$1" ryzen timer; }
t_bochs_skylake_ipi()   { t_platform_bochs "$1" corei7_skylake_x ipi; }
systest bochs-skylake-timer t_bochs_skylake_timer
systest bochs-ryzen-timer t_bochs_ryzen_timer
systest bochs-skylake-ipi t_bochs_skylake_ipi
