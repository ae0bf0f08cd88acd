# System tests of the foundation: booting by every path on both emulators,
# memory totals, CPUs, the timer, fatal-trap dumps and clean poweroff.

TEST_IMG=build/proxenos-test.elf
REL_IMG=build/proxenos.elf
MOD_A=Makefile MOD_B=hypervisor/proxenos.lds

# Memory reported by Proxenos must be the emulator's RAM less the holes
# (640K-1M, ACPI tables): within 4 MiB of it, never above.
check_memory() {
    local log=$1 want=$2 got
    got=$(sed -n 's/.*Memory: \([0-9]*\) MiB RAM.*/\1/p' "$log" | head -1)
    [ -n "$got" ] || { fail "no 'Memory: N MiB RAM' line in $log"; return 1; }
    (( got <= want && got >= want - 4 )) || fail "Memory: $got MiB reported, emulator has $want MiB"
}

boot_checks() {   # LOG LOADER-REGEX MB-VERSION CPUS MEM-MIB
    local log=$1
    expect "$log" "Proxenos [0-9.]+ \(x86-64\) booted by $2 via Multiboot $3" "banner" &&
    check_memory "$log" "$5" &&
    expect "$log" "SMP: $4 CPUs? online" "all $4 CPUs online" &&
    expect "$log" "SELFTEST boot: PASS" "boot self test verdict"
}

t_qemu_kernel() {
    local log=$LOGDIR/$1.log
    qemu_boot "$log" 60 $TEST_IMG "selftest=boot bogus_option=1" -initrd "$MOD_A dom0 arg,$MOD_B"
    expect_rc $QEMU_PASS "$log" && boot_checks "$log" qemu 1 2 512 &&
    expect "$log" "Module 0: .* '$MOD_A dom0 arg'" "first module with its command line" &&
    expect "$log" "Module 1: .* '$MOD_B'" "second module" &&
    expect "$log" "'bogus_option=1': unknown option" "unknown option reported"
}
systest qemu-kernel-boot t_qemu_kernel

t_qemu_grub_mb2() {
    local log=$LOGDIR/$1.log iso
    iso=$(iso_for "$1" $TEST_IMG "selftest=boot" $MOD_A "dom0 arg" $MOD_B "") || return 1
    qemu_boot_iso "$log" 90 "$iso"
    expect_rc $QEMU_PASS "$log" && boot_checks "$log" "GRUB 2.*" 2 2 512 &&
    expect "$log" "Module 0: .* 'dom0 arg'" "module command line via multiboot2"
}
systest qemu-grub-multiboot2 t_qemu_grub_mb2

t_qemu_grub_mb1() {
    local log=$LOGDIR/$1.log iso
    iso=$(iso_for "$1" $TEST_IMG "selftest=boot" --mb1 $MOD_A "dom0 arg") || return 1
    qemu_boot_iso "$log" 90 "$iso"
    expect_rc $QEMU_PASS "$log" && boot_checks "$log" "GRUB 2.*" 1 2 512
}
systest qemu-grub-multiboot1 t_qemu_grub_mb1

t_qemu_exception() {
    local log=$LOGDIR/$1.log
    qemu_boot "$log" 60 $TEST_IMG "selftest=exception"
    expect_rc $QEMU_CRASH "$log" &&
    expect "$log" "FATAL TRAP: vector 6 \(#UD" "the #UD trap line" &&
    expect "$log" "RIP: +ffff82d04[0-9a-f]+ <st_exception_fault\+0x[0-9a-f]+>" "faulting RIP with its symbol" &&
    expect "$log" "rax: [0-9a-f]{16} +rbx: " "general registers" &&
    expect "$log" "cr0: [0-9a-f]{16}" "control registers" &&
    expect "$log" "Stack trace:" "a stack trace" &&
    expect "$log" " [0-9a-f]+ <st_exception\+" "the caller named in the trace"
}
systest qemu-exception-dump t_qemu_exception

t_qemu_bigmem() {
    local log=$LOGDIR/$1.log
    QEMU_MEM=6G qemu_boot "$log" 90 $TEST_IMG "selftest=boot"
    expect_rc $QEMU_PASS "$log" && check_memory "$log" 6144
}
systest qemu-6g-memory t_qemu_bigmem

t_qemu_memlimit() {
    local log=$LOGDIR/$1.log
    qemu_boot "$log" 60 $TEST_IMG "selftest=boot mem=256M nosmp"
    expect_rc $QEMU_PASS "$log" && check_memory "$log" 256 &&
    expect "$log" "SMP: 1 CPU online" "nosmp leaves one CPU"
}
systest qemu-mem-limit-nosmp t_qemu_memlimit

# The release image idles at its console; debug keys 'h' then 'P' must list
# the keys and power off cleanly (what a `make run` user does).
t_qemu_console_poweroff() {
    local log=$LOGDIR/$1.log fifo=$LOGDIR/$1.in
    rm -f "$fifo"; mkfifo "$fifo"
    timeout 60 qemu-system-x86_64 -accel tcg -cpu EPYC,+svm,+npt -m 512M -smp 2 \
        -display none -no-reboot -serial stdio -device isa-debug-exit,iobase=0xf4,iosize=0x04 \
        -kernel $REL_IMG -append "console=com1" <"$fifo" >"$log" 2>"$log.qemu" &
    local pid=$!
    exec 3>"$fifo"
    for _ in $(seq 600); do grep -q "Proxenos ready" "$log" && break; sleep 0.1; done
    printf 'h' >&3
    for _ in $(seq 100); do grep -q "power the machine off" "$log" && break; sleep 0.1; done
    printf 'P' >&3
    wait $pid; RC=$?
    exec 3>&-
    expect_rc $QEMU_PASS "$log" && expect "$log" "Debug keys:" "help listing" &&
    expect "$log" "Proxenos: power off" "poweroff message"
}
systest qemu-console-poweroff t_qemu_console_poweroff

t_bochs() {   # NAME CPU LOADER-FLAG
    local log=$LOGDIR/$1.log iso mb=2
    [ "$3" = "--mb1" ] && mb=1
    iso=$(iso_for "$1" $TEST_IMG "selftest=boot" $3 $MOD_A "dom0 arg") || return 1
    bochs_boot "$log" 240 "$iso" "$2" 2
    expect_rc 0 "$log" && boot_checks "$log" "GRUB 2.*" $mb 2 512
}
t_bochs_skylake_mb2() { t_bochs "$1" corei7_skylake_x; }
t_bochs_skylake_mb1() { t_bochs "$1" corei7_skylake_x --mb1; }
t_bochs_ryzen_mb2()   { t_bochs "$1" ryzen; }
systest bochs-skylake-multiboot2 t_bochs_skylake_mb2
systest bochs-skylake-multiboot1 t_bochs_skylake_mb1
systest bochs-ryzen-multiboot2 t_bochs_ryzen_mb2

t_bochs_exception() {
    local log=$LOGDIR/$1.log iso
    iso=$(iso_for "$1" $TEST_IMG "selftest=exception") || return 1
    bochs_boot "$log" 240 "$iso" corei7_skylake_x 1
    [ "$RC" != 0 ] || fail "Bochs exited 0 (pass) for a crash" || return 1
    expect "$log" "FATAL TRAP: vector 6 \(#UD" "the #UD trap line" &&
    expect "$log" "<st_exception_fault\+" "faulting RIP with its symbol"
}
systest bochs-exception-dump t_bochs_exception

# The allocator under stress, and the stack guard page turning an overflow
# into a readable fatal page fault rather than silent corruption.
t_qemu_mm() {
    local log=$LOGDIR/$1.log
    qemu_boot "$log" 90 $TEST_IMG "selftest=mm"
    expect_rc $QEMU_PASS "$log" && expect "$log" "SELFTEST mm: PASS" "the mm verdict"
}
systest qemu-mm-selftest t_qemu_mm

t_qemu_stackguard() {
    local log=$LOGDIR/$1.log
    qemu_boot "$log" 60 $TEST_IMG "selftest=stackguard"
    expect_rc $QEMU_CRASH "$log" &&
    expect "$log" "SELFTEST stackguard: expecting a page fault" "the test's announcement" &&
    expect "$log" "FATAL TRAP: vector 14 \(#PF" "the page fault" &&
    expect "$log" "st_stackguard" "the offending function named"
}
systest qemu-stack-guard-page t_qemu_stackguard

t_bochs_mm() {
    local log=$LOGDIR/$1.log iso
    iso=$(iso_for "$1" $TEST_IMG "selftest=mm") || return 1
    bochs_boot "$log" 240 "$iso" ryzen 1
    expect_rc 0 "$log" && expect "$log" "SELFTEST mm: PASS" "the mm verdict"
}
systest bochs-ryzen-mm-selftest t_bochs_mm
