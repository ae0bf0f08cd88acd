# System tests of dom0 creation (hypervisor/dombuild/): bad kernels are
# explained and Proxenos carries on; a good PVH kernel is laid out as
# printed and starts in the PVH entry state with a correct hvm_start_info.
#
# The boots that build nothing runnable use the test image with
# `selftest=boot`, which runs after dom0_create() and powers off, so they end
# with the pass status; their verdict is in the log lines.

DOM0_TEST_IMG=build/proxenos-test.elf
DOM0_REL_IMG=build/proxenos.elf

# dom0_kernel OUT [NOTES]: a minimal ELF32 PVH kernel at 1 MiB, written with
# NASM. NOTES=pvh (default) carries XEN_ELFNOTE_PHYS32_ENTRY; NOTES=pv only
# ENTRY and VIRT_BASE (a PV kernel). Its code checks the PVH entry state and
# the start_info it was given: all good -> `cli; hlt` (the domain "halted
# forever"); anything wrong -> `ud2` with no IDT (a triple fault).
dom0_kernel() {
    local out=$1 kind=${2:-pvh} src=$1.asm
    cat > "$src" <<EOF
BITS 32
ORG 0x100000
ehdr:   db 0x7f, "ELF", 1, 1, 1, 0
        times 8 db 0
        dw 2, 3                         ; ET_EXEC, EM_386
        dd 1, start, phdrs - ehdr, 0, 0
        dw 52, 32, 2, 0, 0, 0
phdrs:  dd 1, 0, ehdr, ehdr, file_end - ehdr, 0x3000, 5, 0x1000      ; PT_LOAD R+X
        dd 4, notes - ehdr, notes, notes, notes_end - notes, notes_end - notes, 4, 4
notes:
%ifidn $kind, pvh
        dd 4, 4, 18                     ; XEN_ELFNOTE_PHYS32_ENTRY
        db "Xen", 0
        dd start
%else
        dd 4, 4, 1                      ; XEN_ELFNOTE_ENTRY
        db "Xen", 0
        dd start
        dd 4, 4, 3                      ; XEN_ELFNOTE_VIRT_BASE
        db "Xen", 0
        dd 0
%endif
        dd 4, 16, 6                     ; XEN_ELFNOTE_GUEST_OS
        db "Xen", 0
        db "proxenos-test", 0, 0, 0
notes_end:
start:  cmp dword [ebx], 0x336ec578     ; XEN_HVM_START_MAGIC_VALUE
        jne bad
        cmp dword [ebx + 4], 1          ; version
        jne bad
        test dword [ebx + 8], 2         ; SIF_INITDOMAIN
        jz bad
        cmp dword [ebx + 48], 3         ; memmap_entries: RAM, hole, RAM
        jne bad
        mov esi, [ebx + 40]             ; memmap[0] = RAM [0, 0xA0000)
        cmp dword [esi + 8], 0xA0000
        jne bad
        cmp dword [esi + 16], 1
        jne bad
        mov esi, [ebx + 24]             ; cmdline, image name removed
        cmp dword [esi], 'PVHA'
        jne bad
        cmp dword [ebx + 12], 1         ; nr_modules: the ramdisk
        jne bad
        mov esi, [ebx + 16]
        cmp dword [esi + 8], 12345      ; its size
        jne bad
        mov edi, [esi]
        cmp dword [edi], 'RAMD'         ; its bytes
        jne bad
        mov edi, [esi + 16]             ; its command line
        cmp dword [edi], 'rdar'
        jne bad
        mov eax, cr0                    ; PE set, PG clear
        and eax, 0x80000001
        cmp eax, 1
        jne bad
        cli
        hlt
        jmp \$ - 1
bad:    ud2
file_end:
EOF
    nasm -f bin -o "$out" "$src"
}

# A ramdisk of 12345 bytes starting with "RAMD".
dom0_ramdisk() {
    { printf 'RAMD'; head -c 12341 /dev/zero; } > "$1"
}

dom0_boot() {   # LOG IMAGE "HV OPTIONS" "MODULES" -> RC
    local log=$1 img=$2 opts=$3 mods=$4 args=()
    [ -n "$mods" ] && args=(-initrd "$mods")
    qemu_boot "$log" 90 "$img" "$opts" "${args[@]}"
}

t_dom0_no_modules() {
    local log=$LOGDIR/$1.log
    dom0_boot "$log" $DOM0_TEST_IMG "selftest=boot" ""
    expect_rc $QEMU_PASS "$log" &&
    expect "$log" "no dom0 kernel given: Proxenos idles" "the no-kernel message" &&
    expect "$log" "SELFTEST boot: PASS" "boot carried on after it"
}
systest dom0-no-modules t_dom0_no_modules

t_dom0_text_kernel() {
    local log=$LOGDIR/$1.log
    dom0_boot "$log" $DOM0_TEST_IMG "selftest=boot" "Makefile console=hvc0"
    expect_rc $QEMU_PASS "$log" &&
    expect "$log" "d0: kernel \(module 0, [0-9]+ bytes\) rejected: not an ELF image" "not-ELF reason" &&
    expect "$log" "d0: no dom0 was built: Proxenos idles" "idle message" &&
    expect_not "$log" "FATAL|PANIC|panic" "no crash" &&
    expect "$log" "SELFTEST boot: PASS" "boot carried on"
}
systest dom0-text-kernel t_dom0_text_kernel

t_dom0_truncated_elf() {
    local log=$LOGDIR/$1.log k=$LOGDIR/$1.kernel
    dom0_kernel "$k.full" || { fail "nasm failed"; return 1; }
    head -c 100 "$k.full" > "$k"
    dom0_boot "$log" $DOM0_TEST_IMG "selftest=boot" "$k PVHARG"
    expect_rc $QEMU_PASS "$log" &&
    expect "$log" "d0: kernel \(module 0, 100 bytes\) rejected: .*past the end" "truncation reason" &&
    expect "$log" "d0: no dom0 was built: Proxenos idles" "idle message" &&
    expect "$log" "SELFTEST boot: PASS" "boot carried on"
}
systest dom0-truncated-elf t_dom0_truncated_elf

t_dom0_bzimage() {
    local log=$LOGDIR/$1.log k=$LOGDIR/$1.kernel
    { head -c 514 /dev/zero; printf 'HdrS'; head -c 4000 /dev/zero; } > "$k"
    dom0_boot "$log" $DOM0_TEST_IMG "selftest=boot" "$k root=/dev/sda"
    expect_rc $QEMU_PASS "$log" &&
    expect "$log" "rejected: a bzImage is not booted directly: .*tools/extract-vmlinux.*'make linux'" \
        "bzImage reason pointing at make linux" &&
    expect "$log" "SELFTEST boot: PASS" "boot carried on"
}
systest dom0-bzimage t_dom0_bzimage

t_dom0_pv_requested() {
    local log=$LOGDIR/$1.log k=$LOGDIR/$1.kernel
    dom0_kernel "$k" || { fail "nasm failed"; return 1; }
    dom0_boot "$log" $DOM0_TEST_IMG "selftest=boot dom0=pv" "$k PVHARG"
    expect_rc $QEMU_PASS "$log" &&
    expect "$log" "d0: PVH ELF32 kernel, guest OS 'proxenos-test'" "the image was read" &&
    expect "$log" "dom0=pv: cannot build the PV domain .*not a 64-bit PV kernel" "the PV message" &&
    expect_not "$log" "d0: PVH kernel entry" "nothing built"
}
systest dom0-pv-requested t_dom0_pv_requested

t_dom0_pv_kernel() {
    local log=$LOGDIR/$1.log k=$LOGDIR/$1.kernel
    dom0_kernel "$k" pv || { fail "nasm failed"; return 1; }
    dom0_boot "$log" $DOM0_TEST_IMG "selftest=boot dom0=pvh,bogus" "$k PVHARG"
    expect_rc $QEMU_PASS "$log" &&
    expect "$log" "dom0=: unknown choice 'bogus'" "unknown dom0= choice reported" &&
    expect "$log" "dom0=pvh: the kernel has no XEN_ELFNOTE_PHYS32_ENTRY" "PV image refused as PVH"
}
systest dom0-pvh-needs-phys32-entry t_dom0_pv_kernel

# A good kernel with too little memory, and a bad dom0_mem= value.
t_dom0_mem() {
    local log=$LOGDIR/$1.log k=$LOGDIR/$1.kernel
    dom0_kernel "$k" || { fail "nasm failed"; return 1; }
    dom0_boot "$log" $DOM0_TEST_IMG "selftest=boot dom0_mem=512K" "$k PVHARG"
    expect_rc $QEMU_PASS "$log" &&
    expect "$log" "d0: cannot build the PVH domain with [0-9]+ MiB of RAM: less than 1 MiB" \
        "too little RAM reported" || return 1
    log=$LOGDIR/$1-bad-value.log
    dom0_boot "$log" $DOM0_TEST_IMG "selftest=boot dom0_mem=lots" "$k PVHARG"
    expect_rc $QEMU_PASS "$log" &&
    expect "$log" "dom0_mem=lots: expected" "bad dom0_mem= reported"
}
systest dom0-mem-option t_dom0_mem

# The layout is built and printed (the self test then ends the boot before
# the guest runs).
t_dom0_pvh_layout() {
    local log=$LOGDIR/$1.log k=$LOGDIR/$1.kernel rd=$LOGDIR/$1.ramdisk
    dom0_kernel "$k" && dom0_ramdisk "$rd" || { fail "cannot make the images"; return 1; }
    dom0_boot "$log" $DOM0_TEST_IMG "selftest=boot dom0_mem=max:64M" "$k PVHARG x=1,$rd rdarg"
    expect_rc $QEMU_PASS "$log" &&
    expect "$log" "d0: PVH kernel entry 0x100[0-9a-f]{3}, 12 KiB at 0x100000-0x103000, 64 MiB RAM, start_info at 0x[0-9a-f]+, cmdline 'PVHARG x=1'" \
        "the layout line" &&
    expect "$log" "d0: ramdisk 12 KiB at 0x103000, cmdline 'rdarg'" "the ramdisk line" &&
    expect "$log" "d0: e820 0x000000100000-0x000004060000 RAM" "the e820"
}
systest dom0-pvh-layout t_dom0_pvh_layout

# The guest runs: its checks of the entry state and start_info pass and it
# halts with interrupts off, which takes its only vCPU down and so powers the
# domain off (as on Xen); a failed check would triple-fault instead.
t_dom0_pvh_runs() {
    local log=$LOGDIR/$1.log k=$LOGDIR/$1.kernel rd=$LOGDIR/$1.ramdisk
    dom0_kernel "$k" && dom0_ramdisk "$rd" || { fail "cannot make the images"; return 1; }
    dom0_boot "$log" $DOM0_REL_IMG "dom0_mem=32M" "$k PVHARG x=1,$rd rdarg"
    expect "$log" "d0: PVH kernel entry" "the domain was built" &&
    expect_not "$log" "triple fault" "a failed check in the guest" &&
    expect "$log" "d0 v0: HLT with interrupts disabled: vCPU down" "the guest reached its final hlt" &&
    expect "$log" "d0: shut down: poweroff" "the domain powered off when its last vCPU went down"
}
systest dom0-pvh-runs t_dom0_pvh_runs
