# System tests of serial console input (console_input.h): typing reaches
# dom0 (CONSOLEIO_read, VIRQ_CONSOLE), and Ctrl-A three times swaps the
# input between dom0 and the hypervisor's debug keys, with Xen's message.
# The test guest tests/guests/t_console_in.c reads and echoes what it gets;
# linux-qemu-shell types a command into Debian's Linux on hvc0.

CONSOLE_IN_GUEST=build/guests/console_in.elf

# console_in_wait LOG REGEX [COUNT] [TENTHS]: until REGEX matches COUNT lines.
console_in_wait() {
    local n=${3:-1}
    for _ in $(seq "${4:-300}"); do
        [ "$(grep -Eac -- "$2" "$1")" -ge "$n" ] && return 0
        sleep 0.1
    done
    fail "timed out waiting for /$2/ (x$n) in $1"
}

t_qemu_console_input() {
    local log=$LOGDIR/$1.log fifo=$LOGDIR/$1.in pid
    [ -f "$CONSOLE_IN_GUEST" ] || { fail "$CONSOLE_IN_GUEST missing (make all)"; return 1; }
    rm -f "$fifo"; mkfifo "$fifo"
    timeout 90 qemu-system-x86_64 -accel tcg -cpu EPYC,+svm,+npt -m 512M -smp 2 \
        -display none -no-reboot -serial stdio -device isa-debug-exit,iobase=0xf4,iosize=0x04 \
        -kernel build/proxenos.elf -append "console=com1 dom0=pvh" \
        -initrd "$CONSOLE_IN_GUEST" <"$fifo" >"$log" 2>"$log.qemu" &
    pid=$!
    exec 3>"$fifo"
    local ok=0
    console_in_wait "$log" '\(d0\) console_in: ready' 1 600 &&
    console_in_wait "$log" "\*\*\* Serial input to DOM0 \(type 'CTRL-a' three times to switch input\)" &&
    { printf 'hello\r' >&3; console_in_wait "$log" "\(d0\) console_in: got line 'hello'"; } &&
    { printf '\001\001x\r' >&3
      console_in_wait "$log" "\(d0\) console_in: got line '.x01.x01x'"; } &&
    { printf '\001\001\001' >&3
      console_in_wait "$log" "\*\*\* Serial input to Proxenos \(type 'CTRL-a' three times"; } &&
    { printf 'h' >&3; console_in_wait "$log" 'Debug keys:'; } &&
    { printf '\001\001\001' >&3; console_in_wait "$log" '\*\*\* Serial input to DOM0' 2; } &&
    { printf 'bye\r' >&3; ok=1; }
    [ $ok = 1 ] || kill "$pid" 2>/dev/null
    wait "$pid"; RC=$?
    exec 3>&-
    [ $ok = 1 ] &&
    expect_rc $QEMU_PASS "$log" &&
    expect "$log" "\(d0\) console_in: got line 'bye'" "the last line" &&
    expect "$log" '\(d0\) Test result: PASS' "the guest's verdict" &&
    expect_not "$log" '\(d0\) FAIL:' "FAIL lines from the guest"
}
systest qemu-console-input t_qemu_console_input

# Debian's Linux as dom0 with a shell on hvc0 (the initramfs's
# proxenos.shell): a command typed on the serial line runs and its output
# comes back, Ctrl-A three times reaches the debug keys and back, and
# `exit` powers the machine off. Needs `make linux` (linux.sh's files).
# linux-pv-qemu-shell: the same with Linux as the classic PV dom0.
t_qemu_linux_shell() {
    local log=$LOGDIR/$1.log fifo=$LOGDIR/$1.in pid ok=0 mode=${2:-pvh}
    [ -f build/linux/vmlinux ] && [ -f build/linux/initramfs.cpio ] ||
        { fail "build/linux/vmlinux or initramfs.cpio missing (make linux)"; return 1; }
    rm -f "$fifo"; mkfifo "$fifo"
    timeout 300 qemu-system-x86_64 -accel tcg -cpu EPYC,+svm,+npt -m 1G -smp 2 \
        -display none -no-reboot -serial stdio -device isa-debug-exit,iobase=0xf4,iosize=0x04 \
        -kernel build/proxenos.elf -append "console=com1 dom0=$mode dom0_mem=256M" \
        -initrd "build/linux/vmlinux console=hvc0 earlyprintk=xen panic=-1 proxenos.shell,build/linux/initramfs.cpio" \
        <"$fifo" >"$log" 2>"$log.qemu" &
    pid=$!
    exec 3>"$fifo"
    console_in_wait "$log" '\(d0\) PROXENOS-INIT: shell' 1 1800 &&
    console_in_wait "$log" '\(d0\) .*# ' 1 300 &&
    { printf 'echo PROXENOS_$((40+2))\r' >&3; console_in_wait "$log" '\(d0\) PROXENOS_42' 1 300; } &&
    { printf '\001\001\001c' >&3; console_in_wait "$log" '\(PXN\) d0 v0 hypercalls:' 1 100; } &&
    { printf '\001\001\001' >&3; console_in_wait "$log" '\*\*\* Serial input to DOM0' 2; } &&
    { printf 'exit\r' >&3; ok=1; }
    [ $ok = 1 ] || kill "$pid" 2>/dev/null
    wait "$pid"; RC=$?
    exec 3>&-
    [ $ok = 1 ] && expect_rc $QEMU_PASS "$log" &&
    expect "$log" '\(d0\) PROXENOS-INIT: powering off' "the shell's exit reaching init"
}
systest linux-qemu-shell t_qemu_linux_shell
t_qemu_linux_pv_shell() { t_qemu_linux_shell "$1" pv; }
systest linux-pv-qemu-shell t_qemu_linux_pv_shell
