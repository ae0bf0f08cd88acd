; Proxenos test guests: PVH entry, long-mode switch, trap stubs and the few
; helpers that need to be written in assembly (fault recovery, user mode,
; hypercall instructions, compatibility-mode hypercalls).
;
; Boot ABI (Xen docs/misc/pvh.pandoc, "x86/HVM direct boot ABI"): the domain
; builder enters guest_start32 in 32-bit protected mode, paging off, flat
; CS/DS/ES, interrupts off, EBX = physical address of struct hvm_start_info
; (xen/arch-x86/hvm/start_info.h). ESP is unspecified.

%include "tests/guests/lib/layout.inc"

; --- the PVH ELF note (xen/elfnote.h: XEN_ELFNOTE_PHYS32_ENTRY = 18) --------
section .note.Xen note alloc noexec nowrite align=4
    dd 4                        ; namesz: "Xen\0"
    dd 4                        ; descsz: a 32-bit physical address
    dd 18                       ; XEN_ELFNOTE_PHYS32_ENTRY
    db "Xen", 0
    dd guest_start32

; --- 32-bit entry ----------------------------------------------------------------
section .text.head progbits alloc exec nowrite align=16
BITS 32
extern __bss_start, __bss_end
global guest_start32
guest_start32:
    ; Record what the builder gave us before anything changes it. Only
    ; registers until our own GDT is loaded: SS and ESP are unspecified.
    mov eax, cr0
    mov ecx, cr4
    mov edx, [ds:entry_probe]   ; reads 0x5afe5afe only if DS base is 0
    mov esi, [es:entry_probe]   ; same for ES
    lgdt [gdt_ptr]
    jmp SEL_CODE32:.flat

.flat:
    mov edi, SEL_DATA
    mov ds, edi
    mov es, edi
    mov ss, edi
    mov [entry_state + ES_EBX], ebx
    mov [entry_state + ES_CR0], eax
    mov [entry_state + ES_CR4], ecx
    mov [entry_state + ES_DS_PROBE], edx
    mov [entry_state + ES_ES_PROBE], esi

    ; Clear .bss (the stack and page tables live there).
    cld
    mov edi, __bss_start
    mov ecx, __bss_end
    sub ecx, edi
    xor eax, eax
    rep stosb

    mov esp, boot_stack_top
    pushfd
    pop eax
    mov [entry_state + ES_EFLAGS], eax

    ; Identity map 0-4 GiB with 2 MiB pages (first GiB at least is what the
    ; tests rely on; the rest reaches MMIO such as the local APIC). User bit
    ; everywhere so that exec_user() code and data are reachable from ring 3.
    mov eax, pdpt
    or eax, PTE_P | PTE_W | PTE_U
    mov [pml4], eax
    mov edi, pdpt
    mov eax, pd0
    or eax, PTE_P | PTE_W | PTE_U
    mov ecx, 4
.pdpt_loop:
    mov [edi], eax
    add edi, 8
    add eax, 4096
    loop .pdpt_loop
    mov eax, scratch_pd         ; PDPT[5]: the scratch window (see layout.inc)
    or eax, PTE_P | PTE_W | PTE_U
    mov [pdpt + 8 * SCRATCH_PDPT_SLOT], eax

    mov edi, pd0
    mov eax, PTE_P | PTE_W | PTE_U | PTE_PS
    mov ecx, 2048
.pd_loop:
    mov [edi], eax
    add edi, 8
    add eax, 0x200000
    loop .pd_loop

    mov eax, pml4
    mov cr3, eax
    mov eax, cr4
    or eax, CR4_PAE
    mov cr4, eax

    ; EFER.LME, and EFER.NXE when the CPU has NX (CPUID 0x80000001 EDX[20]),
    ; so that instruction-fetch page faults report the I/D bit.
    mov eax, 0x80000000
    cpuid
    xor ebx, ebx
    cmp eax, 0x80000001
    jb .no_nx
    mov eax, 0x80000001
    cpuid
    bt edx, 20
    jnc .no_nx
    mov ebx, EFER_NXE
.no_nx:
    mov ecx, MSR_EFER
    rdmsr
    or eax, EFER_LME
    or eax, ebx
    wrmsr

    mov eax, cr0
    or eax, CR0_PG | CR0_WP | CR0_NE | CR0_PE
    mov cr0, eax
    jmp SEL_CODE64:long_entry

BITS 64
long_entry:
    mov eax, SEL_DATA
    mov ds, eax
    mov es, eax
    mov ss, eax
    xor eax, eax
    mov fs, eax
    mov gs, eax
    mov rsp, boot_stack_top
    xor ebp, ebp
    extern lib_main
    call lib_main
.halt:
    cli
    hlt
    jmp .halt

; --- exception and interrupt entry ----------------------------------------------
; Every vector gets a stub that pushes a uniform frame (struct cpu_regs in
; arch.h): vectors with a CPU error code (SDM vol. 3 table 6-1: 8, 10-14, 17,
; 21, 29, 30) get only the vector pushed, the others a zero first. Software
; INT n never pushes an error code, so tests use INT n only with n >= 32.
section .text
%macro TRAP_STUB 1
align 16
trap_stub_%1:
%if %1 == 8 || (%1 >= 10 && %1 <= 14) || %1 == 17 || %1 == 21 || %1 == 29 || %1 == 30
%else
    push 0
%endif
    push %1
    jmp trap_common
%endmacro

%assign vec 0
%rep 256
TRAP_STUB vec
%assign vec vec + 1
%endrep

trap_common:
    push rax
    push rbx
    push rcx
    push rdx
    push rsi
    push rdi
    push rbp
    push r8
    push r9
    push r10
    push r11
    push r12
    push r13
    push r14
    push r15
    mov rdi, rsp                ; 22 qwords pushed in all: RSP is 16-aligned
    cld
    extern do_trap
    call do_trap
    pop r15
    pop r14
    pop r13
    pop r12
    pop r11
    pop r10
    pop r9
    pop r8
    pop rbp
    pop rdi
    pop rsi
    pop rdx
    pop rcx
    pop rbx
    pop rax
    add rsp, 16                 ; vector and error code
    iretq

section .rodata
global trap_stub_table
align 8
trap_stub_table:
%assign vec 0
%rep 256
    dq trap_stub_%[vec]
%assign vec vec + 1
%endrep

; --- fault recovery: int catch_call(void (*fn)(void *), void *arg) -------------
; Runs fn(arg). Returns 0 when fn returns; when fn (or anything it calls)
; takes an exception that no extable entry covers, do_trap() rewinds the
; frame to catch_resume with the stack as it was here, and this returns 1.
section .text
global catch_call, catch_resume
extern catch_rsp, catch_active
catch_call:
    push rbp
    push rbx
    push r12
    push r13
    push r14
    push r15
    mov [rel catch_rsp], rsp
    mov byte [rel catch_active], 1
    mov rax, rdi
    mov rdi, rsi
    call rax
    mov byte [rel catch_active], 0
    xor eax, eax
    jmp catch_done
catch_resume:
    mov byte [rel catch_active], 0
    mov eax, 1
catch_done:
    pop r15
    pop r14
    pop r13
    pop r12
    pop rbx
    pop rbp
    ret

; --- uint64_t exec_user(uint64_t (*fn)(void)) ----------------------------------
; Runs fn at CPL 3 on the user stack; fn returns through INT USER_RETURN_VECTOR
; (a DPL 3 gate) and do_trap() resumes exec_user_resume on the kernel stack
; with RAX = fn's result (or EXEC_USER_FAULTED when fn took an exception).
global exec_user, exec_user_resume
extern user_saved_rsp
exec_user:
    push rbp
    push rbx
    push r12
    push r13
    push r14
    push r15
    mov [rel user_saved_rsp], rsp
    push SEL_UDATA | 3
    mov rax, user_stack_top
    push rax
    pushfq
    push SEL_UCODE64 | 3
    lea rax, [rel user_trampoline]
    push rax
    iretq
user_trampoline:
    call rdi
    int USER_RETURN_VECTOR
    ud2
exec_user_resume:
    mov ecx, SEL_DATA
    mov ds, ecx
    mov es, ecx
    pop r15
    pop r14
    pop r13
    pop r12
    pop rbx
    pop rbp
    ret

; --- hypercalls -----------------------------------------------------------------
; long hypercall_raw(nr, a1, a2, a3, a4, a5): the 64-bit Xen HVM ABI takes
; RAX = nr and RDI, RSI, RDX, R10, R8, returns RAX; debug builds of Xen clobber
; the argument registers, which a function call lets the compiler assume.
; hcall_method (hypercall.c) picks VMCALL (Intel), VMMCALL (AMD) or a call
; into the hypercall page at nr * 32.
global hypercall_raw
extern hcall_method, hypercall_page
hypercall_raw:
    mov rax, rdi
    mov rdi, rsi
    mov rsi, rdx
    mov rdx, rcx
    mov r10, r8
    mov r8, r9
    movzx r11d, byte [rel hcall_method]
    cmp r11d, HCALL_VMMCALL
    je .amd
    cmp r11d, HCALL_PAGE
    je .page
    vmcall
    ret
.amd:
    vmmcall
    ret
.page:
    mov r11, rax
    shl r11, 5
    lea r9, [rel hypercall_page]
    add r11, r9
    jmp r11                     ; the stub's RET returns to our caller

; long hypercall_compat(nr, a1, a2, a3, amd): the same hypercall made from
; 32-bit compatibility mode, where the ABI is EAX = nr, EBX, ECX, EDX, ESI,
; EDI (hvm_hypercall() in Xen picks it by the guest's mode). The result is
; 32 bits wide, sign-extended here.
global hypercall_compat
hypercall_compat:
    push rbx
    push r12
    mov r12, rsp                ; R12 is out of reach of compat code
    mov eax, edi
    mov ebx, esi
    xchg ecx, edx               ; ECX = a2, EDX = a3
    test r8d, r8d
    lea r11, [rel .c32_intel]
    lea r9, [rel .c32_amd]
    cmovnz r11, r9
    push SEL_CODE32
    push r11
    retfq
BITS 32
.c32_intel:
    vmcall
    jmp SEL_CODE64:.back
.c32_amd:
    vmmcall
    jmp SEL_CODE64:.back
BITS 64
.back:
    mov rsp, r12
    mov ecx, SEL_DATA
    mov ds, ecx
    mov es, ecx
    mov ss, ecx
    pop r12
    pop rbx
    movsxd rax, eax
    ret

; --- data -------------------------------------------------------------------------
section .data
align 16
global gdt, gdt_ptr, entry_state, entry_probe
gdt:
    dq 0                        ; 0x00 null
    dq 0x00af9a000000ffff       ; 0x08 64-bit code, DPL 0
    dq 0x00cf92000000ffff       ; 0x10 flat data, DPL 0
    dq 0x00cf9a000000ffff       ; 0x18 32-bit flat code, DPL 0
    dq 0x00cff2000000ffff       ; 0x20 flat data, DPL 3
    dq 0x00affa000000ffff       ; 0x28 64-bit code, DPL 3
    dq 0, 0                     ; 0x30 64-bit TSS, filled by traps_init()
gdt_end:
gdt_ptr:
    dw gdt_end - gdt - 1
    dq gdt                      ; lgdt in 32-bit mode reads the low 4 bytes
entry_probe:
    dd 0x5afe5afe
align 8
entry_state:
    times ES_SIZE db 0

section .bss
alignb 4096
global pml4, pdpt, pd0, scratch_pd, boot_stack_top, user_stack_top, ist_stack_top
global ring0_stack_top
pml4:       resb 4096
pdpt:       resb 4096
pd0:        resb 4096 * 4
scratch_pd: resb 4096
boot_stack: resb BOOT_STACK_SIZE
boot_stack_top:
user_stack: resb 8192
user_stack_top:
ist_stack:  resb 8192
ist_stack_top:
ring0_stack: resb 8192          ; TSS.RSP0: traps from CPL 3 (exec_user)
ring0_stack_top:
