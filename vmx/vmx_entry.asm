; The VMX world switch (SDM vol. 3C, 26 "VM entries", 27 "VM exits").
;
; int vmx_enter(struct x86emul_regs *regs, bool launched)
;
; VM entry loads the guest's RSP, RIP, RFLAGS, control and segment
; registers from the current VMCS, and VM exit loads ours from its host
; state (HOST_RIP = vmx_exit_stub, HOST_RSP = the stack pointer written
; here just before entering). The other general registers are ours to load
; and save, from and to struct x86emul_regs. The VMCS must be current on
; this CPU and interrupts off (the exit comes back with RFLAGS = 2).
;
; Returns 0 after a VM exit; 1 when VMLAUNCH/VMRESUME failed with
; VMfailInvalid; 2 with VMfailValid (the reason is the VM-instruction error
; field, SDM 30.4). A VM entry that fails on the guest state is a VM exit
; with bit 31 of the exit reason set (SDM 26.8): that returns 0 too.

BITS 64
section .text

%define HOST_RSP 0x6c14

; offsets into struct x86emul_regs (gpr[] in ModRM order)
%define R_RAX  0*8
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

global vmx_enter
global vmx_exit_stub
vmx_enter:
    push    rbp
    mov     rbp, rsp
    push    rbx
    push    r12
    push    r13
    push    r14
    push    r15
    push    rdi                         ; [rsp] regs: found again after the exit

    mov     rax, HOST_RSP
    vmwrite rax, rsp                    ; the exit resumes on this very stack
    jbe     .fail_write                 ; CF or ZF: VMfailInvalid / VMfailValid

    test    sil, sil                    ; flags survive the MOVs below
    mov     rax, [rdi + R_RAX]
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
    jnz     .resume
    vmlaunch
    jmp     .failed
.resume:
    vmresume
.failed:
    ; Still here: the entry did not happen, RSP is ours, the guest values in
    ; the registers are dropped (regs is unchanged). CF=1: VMfailInvalid.
    mov     eax, 1
    jc      vmx_enter_done
    mov     eax, 2
    jmp     vmx_enter_done

.fail_write:
    mov     eax, 1
    jc      vmx_enter_done
    mov     eax, 2
    jmp     vmx_enter_done

vmx_exit_stub:
    ; VM exit: RSP = the value written above, so [rsp] is regs.
    push    rdi                         ; guest RDI
    mov     rdi, [rsp + 8]
    mov     [rdi + R_RAX], rax
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
    xor     eax, eax

vmx_enter_done:
    add     rsp, 8                      ; regs
    pop     r15
    pop     r14
    pop     r13
    pop     r12
    pop     rbx
    pop     rbp
    ret
