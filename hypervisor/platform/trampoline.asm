; Real-mode entry of the application processors (SDM vol. 3A, 8.4.4.2 and
; 9.9.1, "switching to protected mode" / "initializing IA-32e mode").
;
; smp.c copies everything from trampoline_start to trampoline_end to a free
; page below 1 MiB (TRAMP_BASE, picked from the memory map) and sends the AP
; a SIPI with vector TRAMP_BASE >> 12, so it starts here with CS = base >> 4,
; IP = 0. The code is position independent: 16-bit code addresses through
; CS/DS, 32- and 64-bit code through EBX = base, and the few absolute
; addresses (GDT base, far-jump targets) are patched in by smp.c, as is
; everything in the data block at the end (struct trampoline_data).
;
; Paging: three pages after the code hold the trampoline's own PML4, PDPT
; and PD, built by smp.c: the first 2 MiB identity mapped (where this code
; runs) and the PML4's upper half copied from the hypervisor's. So the AP
; does not depend on the hypervisor's tables identity-mapping low memory,
; nor on their PML4 sitting below 4 GiB (CR3 is 32 bits until long mode).
; Once in the higher half it switches to the real CR3.

BITS 16
section .rodata.trampoline progbits alloc noexec nowrite align=4096

%define OFF(x) ((x) - trampoline_start)

global trampoline_start, trampoline_end, trampoline_data, trampoline_data_end
trampoline_start:
    cli
    cld
    mov     ax, cs
    mov     ds, ax
    mov     byte [OFF(tr_started)], 1   ; tells the BSP not to send another SIPI
    xor     ebx, ebx
    mov     bx, ax
    shl     ebx, 4                      ; EBX = physical base, for the 32/64-bit parts
    o32 lgdt [OFF(tr_gdtr)]
    mov     eax, cr0
    or      eax, 1                      ; PE
    mov     cr0, eax
    o32 jmp far [OFF(tr_pm32_ptr)]      ; loads CS = 0x08 (flat 32-bit code)

BITS 32
tramp_pm32:
    mov     ax, 0x10
    mov     ds, ax
    mov     es, ax
    mov     ss, ax
    mov     eax, cr4
    or      eax, 1 << 5                 ; PAE
    mov     cr4, eax
    lea     eax, [ebx + 0x1000]         ; the trampoline's PML4
    mov     cr3, eax
    mov     ecx, 0xc0000080             ; EFER: LME, plus NXE if CPU 0 has it
    rdmsr
    or      eax, [ebx + OFF(tr_efer)]
    wrmsr
    mov     eax, cr0
    or      eax, (1 << 31) | 1          ; PG: long mode active from here
    mov     cr0, eax
    jmp     far [ebx + OFF(tr_lm64_ptr)] ; CS = 0x18 (64-bit code)

BITS 64
tramp_lm64:
    mov     ebx, ebx                    ; upper halves are undefined after the switch
    mov     rax, [rbx + OFF(tr_entry64)]
    jmp     rax                         ; ap_entry64 in the higher half

; struct trampoline_data in smp.c mirrors this block, field for field.
align 16
trampoline_data:
tr_gdt:
    dq 0
    dq 0x00cf9a000000ffff               ; 0x08: flat 32-bit code
    dq 0x00cf92000000ffff               ; 0x10: flat data
    dq 0x00209a0000000000               ; 0x18: 64-bit code
tr_gdtr:        dw 4 * 8 - 1
                dd 0                    ; base: patched
                dw 0
tr_pm32_ptr:    dd 0                    ; offset of tramp_pm32: patched
                dw 0x08
                dw 0
tr_lm64_ptr:    dd 0                    ; offset of tramp_lm64: patched
                dw 0x18
                dw 0
tr_efer:        dd 0
                dd 0
tr_entry64:     dq 0
tr_cr0:         dq 0
tr_cr3:         dq 0
tr_cr4:         dq 0
tr_stack:       dq 0
tr_percpu:      dq 0
tr_started:     db 0
trampoline_data_end:
trampoline_end:

global tramp_pm32_off, tramp_lm64_off
tramp_pm32_off: dd OFF(tramp_pm32)
tramp_lm64_off: dd OFF(tramp_lm64)

; Higher half, in the image: switch to the hypervisor's page tables and its
; stack for this CPU, then C. RBX still holds the trampoline's base, which
; the trampoline's tables map and the hypervisor's need not: read every
; field before loading CR3.
section .text
extern ap_start
global ap_entry64
ap_entry64:
    mov     rsp, [rbx + OFF(tr_stack)]
    mov     rdi, [rbx + OFF(tr_percpu)]
    mov     rax, [rbx + OFF(tr_cr4)]
    mov     rcx, [rbx + OFF(tr_cr0)]
    mov     rdx, [rbx + OFF(tr_cr3)]
    mov     cr4, rax
    mov     cr0, rcx
    mov     cr3, rdx
    xor     ebp, ebp                    ; ends the frame-pointer chain
    call    ap_start
.hang:
    cli
    hlt
    jmp     .hang
