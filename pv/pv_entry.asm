; 64-bit PV guests: entering the guest in ring 3, the SYSCALL entry its
; hypercall page uses, and the way back to the scheduler (pv/pv_run.c).
;
; A PV vCPU runs from pv_run() like a VM entry: pv_enter saves the
; hypervisor's callee-saved registers and stack pointer, points TSS.RSP0
; just below them (so every ring-3 -> ring-0 transition lands below the
; saved frame) and IRETs to the guest. Hypercalls (SYSCALL) and traps come
; back on that stack; their handlers either resume the guest (IRETQ from the
; frame) or call pv_leave, which drops the frame and returns from pv_enter.
;
; SYSCALL (APM vol. 2, 6.1.1; SDM vol. 3A, 5.8.8): RCX = guest RIP, R11 =
; guest RFLAGS, RSP unchanged (still the guest's), CS/SS from STAR, RFLAGS
; masked by SFMASK (IF clear: no interrupt before our stack is set).

BITS 64
section .text
extern pv_syscall_dispatch

PCPU_SCRATCH  equ 312                   ; offsetof(struct percpu, pv_scratch): checked in pv_run.c
PCPU_RSP0     equ 196                   ; offsetof(struct percpu, tss.rsp[0]): checked too
FLAT_RING3_CS64 equ 0xe033
FLAT_RING3_SS64 equ 0xe02b
FLAT_RING3_CS32 equ 0xe023
PV_SYSCALL_VEC  equ 0x100               ; struct cpu_regs.vector of a SYSCALL frame
PV_SYSCALL32_VEC equ 0x101              ; ... of a SYSCALL from 32-bit code

%macro PUSH_GPRS 0
    push    rax
    push    rbx
    push    rcx
    push    rdx
    push    rsi
    push    rdi
    push    rbp
    push    r8
    push    r9
    push    r10
    push    r11
    push    r12
    push    r13
    push    r14
    push    r15
%endmacro

%macro POP_GPRS 0
    pop     r15
    pop     r14
    pop     r13
    pop     r12
    pop     r11
    pop     r10
    pop     r9
    pop     r8
    pop     rbp
    pop     rdi
    pop     rsi
    pop     rdx
    pop     rcx
    pop     rbx
    pop     rax
%endmacro

;; SYSCALL_ENTRY cs, vector: the frame of a SYSCALL from 64-bit code
;; (LSTAR) or 32-bit compatibility code (CSTAR, AMD only: Intel CPUs raise
;; #UD instead), told apart by the vector pv_syscall_dispatch sees.
%macro SYSCALL_ENTRY 2
    swapgs
    mov     [gs:PCPU_SCRATCH], rsp
    mov     rsp, [gs:PCPU_RSP0]
    push    FLAT_RING3_SS64             ; a struct cpu_regs, as trap_common builds
    push    qword [gs:PCPU_SCRATCH]
    push    r11
    push    %1
    push    rcx
    push    0                           ; error code
    push    %2
    jmp     syscall_common
%endmacro

global pv_syscall_entry
align 16
pv_syscall_entry:
    SYSCALL_ENTRY FLAT_RING3_CS64, PV_SYSCALL_VEC

global pv_syscall32_entry
align 16
pv_syscall32_entry:
    SYSCALL_ENTRY FLAT_RING3_CS32, PV_SYSCALL32_VEC

syscall_common:
    PUSH_GPRS
    cld
    mov     rdi, rsp
    xor     ebp, ebp
    call    pv_syscall_dispatch
    ; Back to the guest with IRETQ, whatever the handler made of the frame
    ; (a bounced event, the iret hypercall's frame): SYSRET would need a
    ; canonical RCX and RPL-3 selectors checked first.
    POP_GPRS
    add     rsp, 16
    swapgs
    iretq

; void pv_enter(struct cpu_regs *guest, uint64_t *saved_rsp)
global pv_enter
pv_enter:
    push    rbx
    push    rbp
    push    r12
    push    r13
    push    r14
    push    r15
    mov     [rsi], rsp
    lea     rax, [rsp - 64]
    and     rax, -16
    mov     [gs:PCPU_RSP0], rax
    mov     rsp, rdi
    POP_GPRS
    add     rsp, 16
    swapgs
    iretq

; void pv_leave(uint64_t saved_rsp): returns from pv_enter.
global pv_leave
pv_leave:
    mov     rsp, rdi
    pop     r15
    pop     r14
    pop     r13
    pop     r12
    pop     rbp
    pop     rbx
    ret
