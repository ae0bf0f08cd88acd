# Helpers for system tests that boot Proxenos under an emulator and judge the
# run by its exit status and its serial log. Sourced by tests/system/run.sh.
#
# A case file (tests/system/cases/*.sh) registers tests:
#     systest qemu-boot-kernel  t_qemu_boot_kernel
# and each test function returns 0 on pass; `fail "why"` explains a failure.

LOGDIR=${LOGDIR:-build/test-logs}
mkdir -p "$LOGDIR"
QEMU_PASS=33      # isa-debug-exit: (0x10 << 1) | 1, see shutdown.h
QEMU_FAIL=35
QEMU_CRASH=37

SYSTESTS=()
systest() { SYSTESTS+=("$1:$2"); }
fail() { echo "    $*"; return 1; }

# qemu_boot LOG TIMEOUT IMAGE "HV OPTIONS" [-initrd "MODULES"] [QEMU ARGS...]
# Boots under QEMU TCG with SVM+NPT; sets RC to QEMU's exit status.
qemu_boot() {
    local log=$1 t=$2 img=$3 append=$4; shift 4
    timeout "$t" qemu-system-x86_64 -accel tcg -cpu "${QEMU_CPU:-EPYC,+svm,+npt}" \
        -m "${QEMU_MEM:-512M}" -smp "${QEMU_SMP:-2}" -display none -no-reboot \
        -serial "file:$log" -device isa-debug-exit,iobase=0xf4,iosize=0x04 \
        -kernel "$img" -append "$append" "$@" </dev/null >"$log.qemu" 2>&1
    RC=$?
}

# qemu_boot_iso LOG TIMEOUT ISO
qemu_boot_iso() {
    local log=$1 t=$2 iso=$3; shift 3
    timeout "$t" qemu-system-x86_64 -accel tcg -cpu "${QEMU_CPU:-EPYC,+svm,+npt}" \
        -m "${QEMU_MEM:-512M}" -smp "${QEMU_SMP:-2}" -display none -no-reboot \
        -serial "file:$log" -device isa-debug-exit,iobase=0xf4,iosize=0x04 \
        -cdrom "$iso" -boot d "$@" </dev/null >"$log.qemu" 2>&1
    RC=$?
}

# bochs_boot LOG TIMEOUT ISO CPUMODEL [COUNT]
# Bochs (platform.md): exit 0 after the magic breakpoint (pass), 1 otherwise.
bochs_boot() {
    local log=$1 t=$2 iso=$3 cpu=$4 count=${5:-2}
    local rc_file=$log.bochsrc dbg=$log.dbg
    sed -e "s|@CPU@|$cpu|; s|@COUNT@|$count|; s|@ISO@|$iso|; s|@SERIAL@|$log|; s|@LOG@|$log.bochs|" \
        tests/system/bochsrc.in > "$rc_file"
    printf 'continue\nquit\n' > "$dbg"
    : > "$log"
    timeout "$t" bochs -q -f "$rc_file" -rc "$dbg" </dev/null >"$log.stdout" 2>&1
    RC=$?
}

# expect LOG REGEX [what]: the log must contain a line matching REGEX.
expect() {
    grep -Eq -- "$2" "$1" || fail "expected ${3:-/$2/} in $1"
}
expect_not() {
    ! grep -Eq -- "$2" "$1" || fail "unexpected ${3:-/$2/} in $1"
}
expect_rc() {
    [ "$RC" = "$1" ] || fail "exit status $RC, expected $1 (log: $2)"
}

# iso_for NAME IMAGE "OPTIONS" [--mb1] [MODULE "CMDLINE"]...: builds (once) an ISO.
iso_for() {
    local iso=$LOGDIR/$1.iso; shift
    tools/mkiso.sh "$iso" "$@" && echo "$iso"
}
