; The 64-bit PV test guest environment: Xen ELF notes, the entry point, the
; hypercall page and the one exception handler the tests bounce to.
;
; Entry state (Xen's public xen.h, "start_info" comment; pv/dom0_build.c):
; 64-bit mode in ring 3 (a 64-bit PV kernel runs at CPL 3), paging on with
; the bootstrap tables built by the domain builder, RSI = start_info (a
; virtual address), RSP = top of the bootstrap stack. We switch to our own
; stack and call pv_main(start_info).

BITS 64
PV_VIRT_BASE equ 0x400000               ; = pv_guest.lds's load address
HYPERVISOR_iret equ 23

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

; --- the #UD handler the trap-bounce test registers ------------------------------
; Xen's 64-bit PV exception frame on the guest kernel stack: RCX, R11, then
; the hardware-like frame RIP, CS, RFLAGS, RSP, SS (no error code for #UD).
; Count the fault, skip the 2-byte UD2, and return with HYPERVISOR_iret:
; its stub wants RCX, R11 and RAX pushed on top of `flags` and the frame.
section .text
global pv_ud_handler, pv_ud_count
pv_ud_handler:
    pop     rcx
    pop     r11
    add     qword [rsp], 2              ; past the UD2
    lock inc qword [rel pv_ud_count]
    push    0                           ; iret_context.flags: no VGCF_in_syscall
    jmp     hypercall_page + HYPERVISOR_iret * 32

section .data
pv_ud_count: dq 0
global pv_boot_rsp
pv_boot_rsp: dq 0

section .bss
align 16
    resb 16384
pv_stack_top:

; --- user mode (the user-mode test) ----------------------------------------------
; pv_run_user(rip, rsp): HYPERVISOR_iret to user mode (CS with RPL 3) at rip
; on stack rsp; returns once the user code's SYSCALL reached
; pv_syscall_callback, which records RAX and the frame's CS and unwinds back
; here (like longjmp). The callback runs on the stack_switch stack.
section .text
global pv_run_user, pv_syscall_callback, pv_user_code, pv_cb_rax, pv_cb_cs
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
    jmp     hypercall_page + HYPERVISOR_iret * 32

pv_user_code:
    mov     eax, 0x5e1f
    syscall                             ; to the guest kernel's syscall callback
    ud2

; Frame from Xen: RCX, R11, RIP, CS, RFLAGS, RSP, SS.
pv_syscall_callback:
    mov     [rel pv_cb_rax], rax
    mov     rax, [rsp + 24]
    mov     [rel pv_cb_cs], rax
    mov     rsp, [rel pv_saved_ksp]
    pop     r15
    pop     r14
    pop     r13
    pop     r12
    pop     rbp
    pop     rbx
    ret

section .data
pv_saved_ksp: dq 0
pv_cb_rax: dq 0
pv_cb_cs: dq 0

; --- the event callback (the event test) ------------------------------------------
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
    jmp     hypercall_page + HYPERVISOR_iret * 32

section .data
pv_event_count: dq 0
pv_vcpu_info: dq 0
