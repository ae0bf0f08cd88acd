; Interrupt and exception entry: one stub per vector builds a struct cpu_regs
; (hypervisor/include/proxenos/cpu.h) and calls trap_dispatch().
; Vectors 8, 10-14, 17, 21, 29 and 30 push an error code (SDM vol. 3A,
; 6.13, table 6-1); the other stubs push a zero in its place.

BITS 64
section .text
extern trap_dispatch

%macro TRAP_STUB 1
align 16
trap_stub_%1:
%if %1 = 8 || (%1 >= 10 && %1 <= 14) || %1 = 17 || %1 = 21 || %1 = 29 || %1 = 30
%else
    push    0
%endif
    push    %1
    jmp     trap_common
%endmacro

%assign v 0
%rep 256
    TRAP_STUB v
%assign v v + 1
%endrep

REGS_CS equ 18 * 8                      ; offsetof(struct cpu_regs, cs)

trap_common:
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
    test    byte [rsp + REGS_CS], 3      ; from a deprivileged guest: load our GS
    jz      .kernel_gs
    swapgs
.kernel_gs:
    cld
    mov     rdi, rsp
    ; Frame pointer for stack traces: the interrupted RBP is saved in the frame.
    xor     ebp, ebp
    call    trap_dispatch
    test    byte [rsp + REGS_CS], 3
    jz      .restore
    swapgs
.restore:
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
    add     rsp, 16                     ; vector and error code
    iretq

section .rodata
global trap_stub_table
align 8
trap_stub_table:
%assign v 0
%rep 256
    dq trap_stub_ %+ v
%assign v v + 1
%endrep
