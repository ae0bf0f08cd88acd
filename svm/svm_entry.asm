; The SVM world switch (APM vol. 2, 15.5 VMRUN, 15.5.2 VMLOAD/VMSAVE).
;
; void svm_vmrun(struct x86emul_regs *regs, paddr_t vmcb_pa, paddr_t host_pa)
;
; VMRUN itself switches RAX, RSP, RIP, RFLAGS, CRs, EFER and the segment
; registers' visible state; the other GPRs are ours to load and save, and
; the "hidden" state (FS/GS/TR/LDTR with bases, KernelGsBase, STAR/LSTAR/
; CSTAR/SFMASK, SYSENTER MSRs) moves with VMLOAD/VMSAVE. Our own copy of
; that state (GS base = per-CPU data!) is kept in a per-CPU page at host_pa.
; GIF stays clear from before the guest's VMLOAD until ours is back, so no
; NMI or interrupt can run on guest GS base. Called with IF=0.

BITS 64
section .text

; offsets into struct x86emul_regs (gpr[] in ModRM order)
%define R_RCX  1*8
%define R_RDX  2*8
%define R_RBX  3*8
%define R_RBP  5*8
%define R_RSI  6*8
%define R_RDI  7*8
%define R_R8   8*8
%define R_R9   9*8
%define R_R10 10*8
%define R_R11 11*8
%define R_R12 12*8
%define R_R13 13*8
%define R_R14 14*8
%define R_R15 15*8

global svm_vmrun
svm_vmrun:
    push    rbp
    mov     rbp, rsp
    push    rbx
    push    r12
    push    r13
    push    r14
    push    r15
    push    rdi                         ; [rsp+16] regs
    push    rdx                         ; [rsp+8]  host save page
    push    rsi                         ; [rsp+0]  VMCB

    clgi
    mov     rax, rdx
    vmsave                              ; our hidden state
    mov     rax, rsi
    vmload                              ; the guest's

    mov     rcx, [rdi + R_RCX]
    mov     rdx, [rdi + R_RDX]
    mov     rbx, [rdi + R_RBX]
    mov     rbp, [rdi + R_RBP]
    mov     rsi, [rdi + R_RSI]
    mov     r8,  [rdi + R_R8]
    mov     r9,  [rdi + R_R9]
    mov     r10, [rdi + R_R10]
    mov     r11, [rdi + R_R11]
    mov     r12, [rdi + R_R12]
    mov     r13, [rdi + R_R13]
    mov     r14, [rdi + R_R14]
    mov     r15, [rdi + R_R15]
    mov     rdi, [rdi + R_RDI]

    ; With V_INTR_MASKING, the host's IF at VMRUN decides whether physical
    ; interrupts exit the guest (APM 15.21.1); GIF=0 keeps them pending in
    ; the host until STGI, and IF is clear again by then.
    sti
    vmrun                               ; RAX = VMCB
    cli

    push    rdi                         ; guest RDI; regs is now at [rsp+24]
    mov     rdi, [rsp + 24]
    mov     [rdi + R_RCX], rcx
    mov     [rdi + R_RDX], rdx
    mov     [rdi + R_RBX], rbx
    mov     [rdi + R_RBP], rbp
    mov     [rdi + R_RSI], rsi
    mov     [rdi + R_R8],  r8
    mov     [rdi + R_R9],  r9
    mov     [rdi + R_R10], r10
    mov     [rdi + R_R11], r11
    mov     [rdi + R_R12], r12
    mov     [rdi + R_R13], r13
    mov     [rdi + R_R14], r14
    mov     [rdi + R_R15], r15
    pop     rax
    mov     [rdi + R_RDI], rax

    mov     rax, [rsp]
    vmsave                              ; guest hidden state back to its VMCB
    mov     rax, [rsp + 8]
    vmload                              ; ours
    stgi                                ; host IF is 0: interrupts wait for STI

    add     rsp, 24
    pop     r15
    pop     r14
    pop     r13
    pop     r12
    pop     rbx
    pop     rbp
    ret
