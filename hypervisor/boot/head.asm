; Boot entry: Multiboot 1 and 2 headers, the 32-bit entry point, the switch to
; long mode and the jump to the higher-half image.
;
; Loaders (GRUB `multiboot`/`multiboot2`, QEMU `-kernel`) enter at `start` in
; 32-bit protected mode with paging off, EAX = loader magic, EBX = physical
; address of the info block (Multiboot spec 0.6.96 section 3.2; Multiboot2
; spec section 3.3). This file's sections are linked at their physical
; addresses (VMA = LMA), so it can run before paging is on.

%include "hypervisor/boot/layout.inc"

MB1_MAGIC       equ 0x1BADB002
MB1_FLAGS       equ 0x00000003      ; bit 0: page-align modules; bit 1: memory info
MB2_MAGIC       equ 0xE85250D6

PTE_P           equ 0x001
PTE_RW          equ 0x002
PTE_PS          equ 0x080

COM1            equ 0x3f8

section .multiboot progbits alloc noexec nowrite align=8
align 4
mb1_header:
    dd MB1_MAGIC
    dd MB1_FLAGS
    dd 0x100000000 - (MB1_MAGIC + MB1_FLAGS)

align 8
mb2_header:
    dd MB2_MAGIC
    dd 0                                ; architecture: i386 protected mode
    dd mb2_header_end - mb2_header
    dd 0x100000000 - (MB2_MAGIC + (mb2_header_end - mb2_header))
    align 8
    dw 6, 0                             ; module alignment tag: page-aligned modules
    dd 8
    align 8
    dw 0, 0                             ; end tag
    dd 8
mb2_header_end:

section .text.boot progbits alloc exec nowrite align=16
BITS 32
global start
start:
    cli
    cld
    mov     esp, boot_stack_top
    mov     [boot_magic], eax
    mov     [boot_info_pa], ebx

    ; CPUID present? (EFLAGS.ID toggles, SDM vol. 1, 20.1.1)
    pushfd
    pop     eax
    mov     ecx, eax
    xor     eax, 1 << 21
    push    eax
    popfd
    pushfd
    pop     eax
    cmp     eax, ecx
    je      .no_long_mode

    mov     eax, 0x80000000
    cpuid
    cmp     eax, 0x80000001
    jb      .no_long_mode
    mov     eax, 0x80000001
    cpuid
    test    edx, 1 << 29                ; LM
    jz      .no_long_mode
    mov     ebp, edx                    ; keep bit 20 (NX) for EFER below

    ; Four page directories map the first 4 GiB with 2 MiB pages. They serve
    ; three windows: the identity map this code runs in, the direct map
    ; (L4 slot 262) and the image window (L4 slot 261, first GiB).
    xor     ecx, ecx
.fill_pd:
    mov     eax, ecx
    shl     eax, 21
    or      eax, PTE_P | PTE_RW | PTE_PS
    mov     [boot_pd + ecx * 8], eax
    mov     edx, ecx
    shr     edx, 11
    mov     [boot_pd + ecx * 8 + 4], edx
    inc     ecx
    cmp     ecx, 2048
    jb      .fill_pd

    mov     dword [boot_pdpt_low + 0 * 8], boot_pd + 0 * 4096 + PTE_P + PTE_RW
    mov     dword [boot_pdpt_low + 1 * 8], boot_pd + 1 * 4096 + PTE_P + PTE_RW
    mov     dword [boot_pdpt_low + 2 * 8], boot_pd + 2 * 4096 + PTE_P + PTE_RW
    mov     dword [boot_pdpt_low + 3 * 8], boot_pd + 3 * 4096 + PTE_P + PTE_RW
    mov     dword [boot_pdpt_hv + HV_L3_SLOT * 8], boot_pd + PTE_P + PTE_RW
    mov     dword [boot_pml4 + 0 * 8], boot_pdpt_low + PTE_P + PTE_RW
    mov     dword [boot_pml4 + DIRECTMAP_L4_SLOT * 8], boot_pdpt_low + PTE_P + PTE_RW
    mov     dword [boot_pml4 + HV_L4_SLOT * 8], boot_pdpt_hv + PTE_P + PTE_RW

    mov     eax, boot_pml4
    mov     cr3, eax
    mov     eax, cr4
    ; PAE; OSFXSR and OSXMMEXCPT: SSE works in PV guests' ring 3 (their
    ; kernels save it with FXSAVE: XSAVE is not offered to them)
    or      eax, (1 << 5) | (1 << 9) | (1 << 10)
    mov     cr4, eax
    mov     ecx, 0xc0000080             ; EFER
    rdmsr
    or      eax, 1 << 8                 ; LME
    test    ebp, 1 << 20
    jz      .no_nx
    or      eax, 1 << 11                ; NXE
.no_nx:
    wrmsr
    mov     eax, cr0
    and     eax, ~((1 << 30) | (1 << 29) | (1 << 3) | (1 << 2))  ; caches on (CD, NW), TS, EM clear
    or      eax, (1 << 31) | (1 << 16) | (1 << 5) | (1 << 1) | 1  ; PG, WP, NE, MP, PE
    mov     cr0, eax
    lgdt    [boot_gdtr]
    jmp     0x08:long_mode_entry

.no_long_mode:
    mov     esi, msg_no_lm
    call    early_puts32
.hang:
    hlt
    jmp     .hang

; Minimal COM1 output for the one error that can happen before C runs.
early_puts32:
    mov     dx, COM1 + 3
    mov     al, 0x80                    ; DLAB
    out     dx, al
    mov     dx, COM1
    mov     al, 1                       ; 115200 baud
    out     dx, al
    mov     dx, COM1 + 1
    xor     al, al
    out     dx, al
    mov     dx, COM1 + 3
    mov     al, 3                       ; 8N1
    out     dx, al
.next:
    lodsb
    test    al, al
    jz      .done
    mov     dx, COM1
    out     dx, al
    jmp     .next
.done:
    ret

BITS 64
long_mode_entry:
    mov     ax, 0x10
    mov     ds, ax
    mov     es, ax
    mov     ss, ax
    xor     eax, eax
    mov     fs, ax
    mov     gs, ax
    mov     rax, start64_high
    jmp     rax

section .data.boot progbits alloc noexec write align=4096
align 4096
boot_pml4:      times 512 dq 0
boot_pdpt_low:  times 512 dq 0
boot_pdpt_hv:   times 512 dq 0
boot_pd:        times 4 * 512 dq 0
boot_stack:     times 1024 db 0
boot_stack_top:

global boot_magic, boot_info_pa, boot_pml4
boot_magic:     dd 0
boot_info_pa:   dd 0
align 16
boot_gdt:
    dq 0
    dq 0x00209a0000000000               ; 0x08: 64-bit code, DPL 0
    dq 0x0000920000000000               ; 0x10: data
boot_gdtr:
    dw boot_gdtr - boot_gdt - 1
    dd boot_gdt
msg_no_lm:
    db "Proxenos: this CPU has no 64-bit long mode; it cannot run Proxenos.", 13, 10, 0

; ---------------------------------------------------------------------------
; Higher half from here on.
section .text
BITS 64
extern start_hypervisor
extern __bss_start, __bss_end
global start64_high
start64_high:
    lea     rsp, [rel cpu0_stack_top]
    lea     rdi, [rel __bss_start]
    lea     rcx, [rel __bss_end]
    sub     rcx, rdi
    xor     eax, eax
    rep stosb
    mov     edi, [abs boot_magic]
    mov     esi, [abs boot_info_pa]
    xor     ebp, ebp                    ; ends the frame-pointer chain
    call    start_hypervisor
.hang:
    cli
    hlt
    jmp     .hang

; CPU 0's stacks. The page below the main stack is a guard page: the final
; page tables (hypervisor/mm) leave it unmapped so an overflow faults.
section .bss.stack nobits alloc noexec write align=4096
global cpu0_stack_guard, cpu0_stack_bottom, cpu0_stack_top, cpu0_ist_stacks
cpu0_stack_guard:   resb 4096
cpu0_stack_bottom:  resb STACK_PAGES * 4096
cpu0_stack_top:
cpu0_ist_stacks:    resb 3 * 4096
