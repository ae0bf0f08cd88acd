; The 64-bit PV test guest environment: Xen ELF notes, the entry point, the
; hypercall page, the exception handlers and callbacks the tests register,
; and the trip to user mode.
;
; Entry state (Xen's public xen.h, "start_info" comment; pv/dom0_build.c):
; 64-bit mode in ring 3 (a 64-bit PV kernel runs at CPL 3), paging on with
; the bootstrap tables built by the domain builder, RSI = start_info (a
; virtual address), RSP = top of the bootstrap stack. We switch to our own
; stack and call pv_main(start_info).

BITS 64
PV_VIRT_BASE equ 0x400000               ; = pv_guest.lds's load address
HYPERVISOR_iret equ 23
%define IRET_STUB hypercall_page + HYPERVISOR_iret * 32

; --- Xen ELF notes (xen/elfnote.h) -------------------------------------------
%macro XEN_NOTE 3                       ; type, data directive, value
    align 4
    dd 4, %%end - %%desc, %1
    db "Xen", 0
%%desc:
    %2 %3
%%end:
%endmacro

section .note.Xen note alloc noexec nowrite align=4
    XEN_NOTE 6, db, {"Proxenos-test", 0}   ; XEN_ELFNOTE_GUEST_OS
    XEN_NOTE 5, db, {"xen-3.0", 0}         ; XEN_ELFNOTE_XEN_VERSION
    XEN_NOTE 8, db, {"generic", 0}         ; XEN_ELFNOTE_LOADER
    XEN_NOTE 3, dq, PV_VIRT_BASE           ; XEN_ELFNOTE_VIRT_BASE
    XEN_NOTE 4, dq, PV_VIRT_BASE           ; XEN_ELFNOTE_PADDR_OFFSET (p_paddr = VA)
    XEN_NOTE 1, dq, pv_start               ; XEN_ELFNOTE_ENTRY
    XEN_NOTE 2, dq, hypercall_page         ; XEN_ELFNOTE_HYPERCALL_PAGE

; --- entry ----------------------------------------------------------------------
section .text.head progbits alloc exec nowrite align=16
extern pv_main
global pv_start
pv_start:
    mov     [rel pv_boot_rsp], rsp
    lea     rsp, [rel pv_stack_top]
    mov     rdi, rsi
    xor     ebp, ebp
    call    pv_main
.hang:
    ud2
    jmp     .hang

; Filled by the domain builder (32-byte stubs, hypercall number * 32).
section .text.hcall progbits alloc exec nowrite align=4096
global hypercall_page
hypercall_page:
    times 4096 db 0xc3

section .data
global pv_boot_rsp
pv_boot_rsp: dq 0

section .bss
align 16
    resb 16384
pv_stack_top:

; --- exception handlers (pv_trap_install) --------------------------------------
; Xen's 64-bit PV exception frame on the guest kernel stack: RCX, R11,
; [error code], then RIP, CS, RFLAGS, RSP, SS. Each vector's stub notes its
; number and whether it has an error code; the common part records the
; frame (struct pv_trap_record, pv_guest.h), resumes at pv_trap_resume if
; the test set it (a fault) or where the frame says (a trap), and returns
; with HYPERVISOR_iret: its stub wants RCX, R11 and RAX pushed on top of
; `flags` and the frame.
%macro TRAP_STUB 1
pv_trap_stub_%1:
    mov     qword [rel pv_trap_rec + 8], %1
%if %1 == 8 || (%1 >= 10 && %1 <= 14) || %1 == 17
    mov     qword [rel pv_trap_rec + 16], 1
%else
    mov     qword [rel pv_trap_rec + 16], 0
%endif
    jmp     pv_trap_common
%endmacro

section .text
%assign v 0
%rep 32
    TRAP_STUB v
%assign v v + 1
%endrep
TRAP_STUB 128                           ; a software interrupt (INT 0x80)

pv_trap_common:                         ; RSP -> RCX, R11, [EC], RIP ...
    mov     [rel pv_trap_rax], rax
    mov     [rel pv_trap_rec + 24], rsp     ; entry_rsp
%assign i 0
%rep 8
    mov     rax, [rsp + i * 8]
    mov     [rel pv_trap_rec + 32 + i * 8], rax
%assign i i + 1
%endrep
    lock inc qword [rel pv_trap_rec]        ; count
    pop     rcx
    pop     r11
    mov     rax, [rel pv_trap_rec + 16]
    lea     rsp, [rsp + rax * 8]            ; past the error code
    mov     rax, [rel pv_trap_resume]
    test    rax, rax
    jz      .as_is
    mov     [rsp], rax                      ; RIP
    mov     qword [rel pv_trap_resume], 0
.as_is:
    mov     rax, [rel pv_trap_rax]
    push    0                               ; iret_context.flags: no VGCF_in_syscall
    jmp     IRET_STUB

section .rodata
global pv_trap_stubs
align 8
pv_trap_stubs:
%assign v 0
%rep 32
    dq pv_trap_stub_ %+ v
%assign v v + 1
%endrep
    dq pv_trap_stub_128

section .data
global pv_trap_rec, pv_trap_resume
align 8
pv_trap_rec: times 16 dq 0              ; count, vector, has_ec, entry_rsp, frame[8]
pv_trap_resume: dq 0
pv_trap_rax: dq 0

; --- user mode ------------------------------------------------------------------
; pv_run_user(rip, rsp): HYPERVISOR_iret to user mode (CS with RPL 3) at rip
; on stack rsp; returns once the user code's SYSCALL reached
; pv_syscall_callback, which records RAX, its entry RSP and the frame
; (RCX, R11, RIP, CS, RFLAGS, RSP, SS) and unwinds back here (like longjmp).
; The callback runs on the stack_switch stack.
section .text
global pv_run_user, pv_syscall_callback, pv_cb_rax, pv_cb_rsp, pv_cb_frame
pv_run_user:
    push    rbx
    push    rbp
    push    r12
    push    r13
    push    r14
    push    r15
    mov     [rel pv_saved_ksp], rsp
    push    0xe02b                      ; ss  (FLAT_USER_SS)
    push    rsi                         ; rsp
    push    0x202                       ; rflags: IF (events unmasked)
    push    0xe033                      ; cs  (FLAT_USER_CS64: RPL 3 = user mode)
    push    rdi                         ; rip
    push    0                           ; flags
    jmp     IRET_STUB

pv_syscall_callback:
    mov     [rel pv_cb_rax], rax
    mov     [rel pv_cb_rsp], rsp
%assign i 0
%rep 7
    mov     rax, [rsp + i * 8]
    mov     [rel pv_cb_frame + i * 8], rax
%assign i i + 1
%endrep
    mov     rsp, [rel pv_saved_ksp]
    pop     r15
    pop     r14
    pop     r13
    pop     r12
    pop     rbp
    pop     rbx
    ret

; User-mode code (the user L4 maps the image too).
global pv_user_syscall, pv_user_read_gs, pv_user_ud2, pv_user_ud2_resume, pv_user_int80
global pv_user_pf, pv_user_pf_resume
pv_user_syscall:                        ; RAX = 0x5e1f, then SYSCALL
    mov     eax, 0x5e1f
    syscall
    ud2
pv_user_read_gs:                        ; RAX = %gs:0 (the user GS base's word)
    mov     rax, [gs:0]
    syscall
    ud2
pv_user_ud2:                            ; a #UD in user mode, resumed after it
    ud2
pv_user_ud2_resume:
    mov     eax, 0x0d2
    syscall
    ud2
pv_user_int80:                          ; INT 0x80 (a trap: resumes after it)
    int     0x80
    mov     eax, 0x80
    syscall
    ud2
pv_user_pf:                             ; a read of nothing (L4 slot 32), resumed after it
    mov     rax, 0x0000100000000123
    mov     rax, [rax]
pv_user_pf_resume:
    mov     eax, 0x0e
    syscall
    ud2

section .data
pv_saved_ksp: dq 0
pv_cb_rax: dq 0
pv_cb_rsp: dq 0
pv_cb_frame: times 7 dq 0

; --- the event callback --------------------------------------------------------
; Frame: RCX, R11, RIP, CS, RFLAGS, RSP, SS; events are masked on entry. Count,
; clear vcpu_info[0].evtchn_upcall_pending (pv_vcpu_info points at it), and
; HYPERVISOR_iret, whose RFLAGS.IF unmasks events again.
section .text
global pv_event_callback, pv_event_count, pv_vcpu_info
pv_event_callback:
    pop     rcx
    pop     r11
    push    rax
    mov     rax, [rel pv_vcpu_info]
    mov     byte [rax], 0               ; evtchn_upcall_pending
    pop     rax
    lock inc qword [rel pv_event_count]
    push    0
    jmp     IRET_STUB

section .data
pv_event_count: dq 0
pv_vcpu_info: dq 0
