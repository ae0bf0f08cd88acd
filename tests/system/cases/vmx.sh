# System tests of the Intel VT-x backend (vmx/), under Bochs
# `corei7_skylake_x` (VMX + EPT + VPID + unrestricted guest; platform.md) and
# QEMU (no VMX at all). The test guests of guests.sh run on VMX too with
# PROXENOS_VMX=1; these check what is VMX's own:
#   - vmx-bochs-backend: VMX is chosen, with EPT, VPID and unrestricted
#     guest, and a PVH guest runs to its verdict on it;
#   - vmx-bochs-hypercall-page: the hypercall page holds VMCALL stubs
#     (0f 01 c1), and hypercalls through it work (the discovery guest);
#   - vmx-bochs-ept-violation: a guest that fetches instructions from a GPA
#     with nothing behind it is crashed alone, and the crash report decodes
#     the EPT violation (fetch, GPA);
#   - vmx-qemu-unavailable: `hvm=vmx` on a CPU without VMX says why and the
#     hypervisor carries on without HVM.
# Bochs runs are bounded at 150 s (a run takes 5-40 s); dom0_mem=64M keeps
# the domain build short.

VMX_B=${VMX_B:-build}                  # another build directory, for trying a tree out
VMX_HV=$VMX_B/proxenos.elf
VMX_TEST_IMG=$VMX_B/proxenos-test.elf
VMX_OPTS="console=com1 dom0=pvh dom0_mem=64M"

# vmx_bochs LOG ISO: lib.sh's bochs_boot, with a dummy sound driver (Bochs
# 2.7 can abort in its ALSA probe on machines without a sound card).
vmx_bochs() {
    local log=$1 iso=$2 rc_file=$1.bochsrc
    sed -e "s|@CPU@|corei7_skylake_x|; s|@COUNT@|1|; s|@ISO@|$iso|; s|@SERIAL@|$log|; s|@LOG@|$log.bochs|" \
        tests/system/bochsrc.in > "$rc_file"
    grep -q '^sound:' "$rc_file" || echo "sound: driver=dummy" >> "$rc_file"
    printf 'continue\nquit\n' > "$log.dbg"
    : > "$log"
    timeout 150 bochs -q -f "$rc_file" -rc "$log.dbg" </dev/null >"$log.stdout" 2>&1
    RC=$?
}

vmx_guest_passed() {
    expect "$1" '\(d0\) Test result: PASS' "(d0) Test result: PASS" &&
    expect_not "$1" '\(d0\) FAIL:' "(d0) FAIL: lines"
}

t_vmx_bochs_backend() {
    local log=$LOGDIR/$1.log iso
    [ -f $VMX_B/guests/selftest.elf ] || { fail "$VMX_B/guests/selftest.elf missing (make guests)"; return; }
    iso=$(iso_for "$1" $VMX_HV "$VMX_OPTS" $VMX_B/guests/selftest.elf "vendor=GenuineIntel") || return 1
    vmx_bochs "$log" "$iso"
    expect_rc 0 "$log" &&
    expect "$log" 'SVM: not available' "SVM probed first and refused" &&
    expect "$log" 'VMX: revision 0x[0-9a-f]+, VMCS [0-9]+ bytes, TRUE control MSRs, EPT \(4-level, WB, 2M' \
        "the VMX capability line" &&
    expect "$log" 'VPID on' "VPID in use" &&
    expect "$log" 'HVM: VMX backend, nested paging \(EPT\), next-RIP, tagged TLB flush, unrestricted guest' \
        "the VMX backend chosen with EPT, VPID and unrestricted guest" &&
    vmx_guest_passed "$log"
}
systest vmx-bochs-backend t_vmx_bochs_backend

t_vmx_bochs_hypercall_page() {
    local log=$LOGDIR/$1.log iso
    [ -f $VMX_B/guests/discovery.elf ] || { fail "$VMX_B/guests/discovery.elf missing (make guests)"; return; }
    iso=$(iso_for "$1" $VMX_HV "$VMX_OPTS" $VMX_B/guests/discovery.elf "vendor=GenuineIntel hcall=page") || return 1
    vmx_bochs "$log" "$iso"
    # The guest's whole verdict is guests.sh's (PROXENOS_VMX=1); here only
    # what depends on the backend: the stubs and the three ways in.
    expect "$log" '\(d0\) +ok: CPU vendor GenuineIntel selects VMCALL' "the guest on Intel" &&
    expect "$log" '\(d0\) +ok: all 128 stubs are mov \$nr,%eax; vmcall; ret' "VMCALL stubs in the hypercall page" &&
    expect "$log" '\(d0\) +ok: xen_version\(XENVER_version\) through the hypercall page' "a call through the page" &&
    expect "$log" '\(d0\) +ok: xen_version\(XENVER_version\) by direct VMCALL' "a direct VMCALL" &&
    expect "$log" '\(d0\) +ok: xen_version\(XENVER_version\) from 32-bit compatibility mode' "a VMCALL from compatibility mode" &&
    expect "$log" 'd0 v0 exits: .*hypercall=[1-9]' "hypercall exits counted" &&
    expect "$log" '\(d0\) Test result:' "the guest reaching its verdict"
}
systest vmx-bochs-hypercall-page t_vmx_bochs_hypercall_page

# A minimal ELF32 PVH kernel at 1 MiB (NASM): says hello through
# console_io by a direct VMCALL, then jumps to 0xc0000000, where a 64 MiB
# guest has nothing: an instruction fetch no emulation can serve.
vmx_fetch_kernel() {
    local out=$1 src=$1.asm
    cat > "$src" <<'EOF'
BITS 32
ORG 0x100000
ehdr:   db 0x7f, "ELF", 1, 1, 1, 0
        times 8 db 0
        dw 2, 3                         ; ET_EXEC, EM_386
        dd 1, start, phdrs - ehdr, 0, 0
        dw 52, 32, 2, 0, 0, 0
phdrs:  dd 1, 0, ehdr, ehdr, file_end - ehdr, file_end - ehdr, 7, 0x1000
        dd 4, notes - ehdr, notes, notes, notes_end - notes, notes_end - notes, 4, 4
notes:  dd 4, 4, 18                     ; XEN_ELFNOTE_PHYS32_ENTRY
        db "Xen", 0
        dd start
notes_end:
start:  mov eax, 18                     ; __HYPERVISOR_console_io
        mov ebx, 0                      ; CONSOLEIO_write
        mov ecx, msg_end - msg
        mov edx, msg
        vmcall
        mov eax, 0xc0000000
        jmp eax
msg:    db "vmx-fetch: jumping to GPA 0xc0000000", 10
msg_end:
file_end:
EOF
    nasm -f bin -o "$out" "$src"
}

t_vmx_bochs_ept_violation() {
    local log=$LOGDIR/$1.log iso kernel=$LOGDIR/$1.elf
    vmx_fetch_kernel "$kernel" || { fail "nasm could not build the test kernel"; return; }
    iso=$(iso_for "$1" $VMX_HV "$VMX_OPTS" "$kernel" "") || return 1
    vmx_bochs "$log" "$iso"
    [ "$RC" != 0 ] || { fail "Bochs exited 0 (pass) for a guest that must crash"; return; }
    expect "$log" '\(d0\) vmx-fetch: jumping to GPA 0xc0000000' "the guest's hello by VMCALL" &&
    expect "$log" 'd0 crashed: unhandled exit: instruction fetch from 0xc0000000' "the crash cause" &&
    expect "$log" 'VMX exit 48 \(EPT violation\)' "the exit reason in the dump" &&
    expect "$log" 'EPT violation: instruction-fetch access to GPA 0xc0000000; the entry allowed ---' \
        "the qualification decoded" &&
    expect "$log" 'Proxenos: the last domain has ended \(d0: crash\)' "the host outliving its guest"
}
systest vmx-bochs-ept-violation t_vmx_bochs_ept_violation

# QEMU has no VMX: asking for it must say so, not fall back to the SVM the
# CPU model has, and leave a working host (the boot self test then runs
# and powers off).
t_vmx_qemu_unavailable() {
    local log=$LOGDIR/$1.log
    qemu_boot "$log" 60 $VMX_TEST_IMG "hvm=vmx selftest=boot"
    expect_rc $QEMU_PASS "$log" &&
    expect "$log" 'VMX: not available \(CPUID.1:ECX.VMX clear\)' "VMX: not available" &&
    expect_not "$log" 'SVM:' "SVM probed despite hvm=vmx" &&
    expect "$log" 'HVM: no usable hardware virtualization' "the fallback message" &&
    expect "$log" 'SELFTEST boot: PASS' "the host carrying on without HVM"
}
systest vmx-qemu-unavailable t_vmx_qemu_unavailable
