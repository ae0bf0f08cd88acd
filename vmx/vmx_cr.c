/*
 * Control registers and EFER of a VMX guest.
 *
 * The guest's CR0 and CR4 live twice in the VMCS: the real values the CPU
 * runs with, which must honour the VMX fixed bits (CR0.NE, CR4.VMXE; SDM
 * 26.3.1.1, A.7, A.8), and the read shadows, which hold what the guest
 * wrote. The bits the host owns (guest/host masks, SDM 24.6.6) read from
 * the shadow, and a guest MOV that would change one exits as a CR access
 * and is emulated here. PE and PG belong to the guest with unrestricted
 * guest, so the CPU itself sets EFER.LMA when a guest with EFER.LME turns
 * paging on (SDM vol. 3A, 9.8.5 "Initializing IA-32e Mode"); every entry
 * re-derives the "IA-32e mode guest" entry control from EFER.LMA
 * (vmx_update_entry_mode) as SDM 26.3.1.1 requires them to agree.
 * CR2 is not in the VMCS at all: vmx_exit.c swaps it around the guest.
 */
#include <proxenos/guest_access.h>
#include <proxenos/io.h>
#include <proxenos/lib.h>
#include "vmx_private.h"

#define X86_CR0_NW (1u << 29)
#define X86_CR0_CD (1u << 30)
#define X86_CR4_PCIDE (1u << 17)
#define X86_CR4_SMEP (1u << 20)
#define X86_CR4_LA57 (1u << 12)
#define X86_CR4_SMXE (1u << 14)
/* CR4 bits whose change flushes the TLB (SDM vol. 3A, 4.10.4.1). */
#define CR4_FLUSH_BITS (X86_CR4_PSE | X86_CR4_PAE | X86_CR4_PGE | X86_CR4_PCIDE | X86_CR4_SMEP)

static uint64_t real_cr0(uint64_t val)
{
    uint64_t fixed0 = vmx_caps.cr0_fixed0 & ~(uint64_t)(X86_CR0_PE | X86_CR0_PG);

    return (val | fixed0) & vmx_caps.cr0_fixed1;
}

static uint64_t real_cr4(uint64_t val)
{
    return (val | vmx_caps.cr4_fixed0 | X86_CR4_VMXE) & vmx_caps.cr4_fixed1;
}

uint64_t vmx_get_cr(struct vcpu *v, unsigned int cr)
{
    vmx_load_vmcs(v);
    switch (cr) {
    case 0: {
        uint64_t mask = vmx_cr0_host_mask();
        return (vmread(GUEST_CR0) & ~mask) | (vmread(CR0_READ_SHADOW) & mask);
    }
    case 2: return to_vmx(v)->cr2;
    case 3: return vmread(GUEST_CR3);
    case 4: {
        uint64_t mask = vmx_cr4_host_mask();
        return (vmread(GUEST_CR4) & ~mask) | (vmread(CR4_READ_SHADOW) & mask);
    }
    default: return 0;
    }
}

uint64_t vmx_get_efer(struct vcpu *v)
{
    vmx_load_vmcs(v);
    return vmread(GUEST_EFER);
}

/* "IA-32e mode guest" must equal EFER.LMA at entry (SDM 26.3.1.1). */
void vmx_update_entry_mode(struct vcpu *v)
{
    uint64_t entry = vmread(ENTRY_CONTROLS) & ~(uint64_t)ENTRY_IA32E_MODE;

    if (vmread(GUEST_EFER) & EFER_LMA)
        entry |= ENTRY_IA32E_MODE;
    vmwrite(ENTRY_CONTROLS, entry);
}

void vmx_set_efer(struct vcpu *v, uint64_t efer)
{
    vmx_load_vmcs(v);
    vmwrite(GUEST_EFER, efer);
    vmx_update_entry_mode(v);
}

static bool pae_paging(struct vcpu *v)
{
    return (vmx_get_cr(v, 0) & X86_CR0_PG) && (vmx_get_cr(v, 4) & X86_CR4_PAE) &&
           !(vmx_get_efer(v) & EFER_LMA);
}

static unsigned int maxphyaddr(void)
{
    static unsigned int bits;
    uint32_t a, b, c, d;

    if (!bits) {
        cpuid(0x80000000, &a, &b, &c, &d);
        bits = 36;
        if (a >= 0x80000008) {
            cpuid(0x80000008, &a, &b, &c, &d);
            bits = a & 0xff;
        }
    }
    return bits;
}

/* With EPT, PAE paging takes its four PDPTEs from the VMCS at entry (SDM
   26.3.2.4); an emulated write that enters or changes PAE paging loads them
   from the guest's CR3 as the CPU would (vol. 3A, 4.4.1). -1: #GP. */
static int load_pdptes(struct vcpu *v)
{
    uint64_t pdpte[4];
    uint64_t rsvd = 0x1e6ull | (~0ull << maxphyaddr());

    if (!pae_paging(v))
        return 0;
    if (copy_from_gpa(v->domain, pdpte, vmread(GUEST_CR3) & 0xffffffe0u, sizeof(pdpte)))
        return -1;
    for (int i = 0; i < 4; i++)
        if ((pdpte[i] & 1) && (pdpte[i] & rsvd))
            return -1;
    for (int i = 0; i < 4; i++)
        vmwrite(GUEST_PDPTE0 + 2 * i, pdpte[i]);
    return 0;
}

/* CR0 as the hardware would take it: LMA follows PG when LME is set. */
static void set_cr0(struct vcpu *v, uint64_t val)
{
    uint64_t efer = vmread(GUEST_EFER);

    if ((val & X86_CR0_PG) && (efer & EFER_LME))
        efer |= EFER_LMA;
    else if (!(val & X86_CR0_PG))
        efer &= ~(uint64_t)EFER_LMA;
    vmwrite(CR0_READ_SHADOW, val);
    vmwrite(GUEST_CR0, real_cr0(val));
    vmwrite(GUEST_EFER, efer);
    vmx_update_entry_mode(v);
}

void vmx_set_cr(struct vcpu *v, unsigned int cr, uint64_t val)
{
    vmx_load_vmcs(v);
    switch (cr) {
    case 0:
        set_cr0(v, val);
        break;
    case 2:
        to_vmx(v)->cr2 = val;
        return;
    case 3:
        vmwrite(GUEST_CR3, val);
        break;
    case 4:
        vmwrite(CR4_READ_SHADOW, val);
        vmwrite(GUEST_CR4, real_cr4(val));
        break;
    default:
        return;
    }
    v->needs_flush = true;
    load_pdptes(v);           /* a bad table shows at entry: the guest is not running yet */
}

/* MOV to CR0 by the guest (SDM vol. 2B "MOV-Move to/from Control Registers"
   and vol. 3A 9.8.5 for entering and leaving IA-32e mode). */
int vmx_write_cr0(struct vcpu *v, uint64_t val)
{
    uint64_t old = vmx_get_cr(v, 0), efer = vmread(GUEST_EFER);
    struct segment_register cs;

    val |= 0x10;                                   /* ET is hardwired to 1 */
    if ((val >> 32) || ((val & X86_CR0_PG) && !(val & X86_CR0_PE)) ||
        ((val & X86_CR0_NW) && !(val & X86_CR0_CD)))
        return -1;
    if (!(old & X86_CR0_PG) && (val & X86_CR0_PG) && (efer & EFER_LME)) {
        vmx_get_segment(v, HVM_SEG_CS, &cs);
        if (!(vmx_get_cr(v, 4) & X86_CR4_PAE) || (cs.attr & SEG_ATTR_L))
            return -1;
    }
    if ((old & X86_CR0_PG) && !(val & X86_CR0_PG) && (efer & EFER_LMA)) {
        vmx_get_segment(v, HVM_SEG_CS, &cs);
        if (cs.attr & SEG_ATTR_L)                  /* only from compatibility mode */
            return -1;
    }
    set_cr0(v, val);
    if ((old ^ val) & (X86_CR0_PG | X86_CR0_PE | X86_CR0_WP))
        v->needs_flush = true;
    return load_pdptes(v);
}

int vmx_write_cr3(struct vcpu *v, uint64_t val)
{
    bool pcide = vmx_get_cr(v, 4) & X86_CR4_PCIDE;

    if (vmx_get_efer(v) & EFER_LMA) {
        /* Bit 63 asks to keep the PCID's entries; it is not part of CR3. */
        if (pcide)
            val &= ~(1ull << 63);
        if (val >> maxphyaddr())
            return -1;
    }
    vmwrite(GUEST_CR3, val);
    v->needs_flush = true;
    return load_pdptes(v);
}

int vmx_write_cr4(struct vcpu *v, uint64_t val)
{
    uint64_t old = vmx_get_cr(v, 4);
    uint64_t allowed = vmx_caps.cr4_fixed1 & ~(uint64_t)(X86_CR4_VMXE | X86_CR4_SMXE);

    /* VMX and SMX are hidden from the guest's CPUID: their enables #GP. */
    if (val & ~allowed)
        return -1;
    if ((vmx_get_efer(v) & EFER_LMA) &&
        (!(val & X86_CR4_PAE) || ((val ^ old) & X86_CR4_LA57)))
        return -1;
    if ((val & X86_CR4_PCIDE) && !(old & X86_CR4_PCIDE) &&
        (!(vmx_get_efer(v) & EFER_LMA) || (vmread(GUEST_CR3) & 0xfff)))
        return -1;
    vmwrite(CR4_READ_SHADOW, val);
    vmwrite(GUEST_CR4, real_cr4(val));
    if ((old ^ val) & CR4_FLUSH_BITS)
        v->needs_flush = true;
    return load_pdptes(v);
}
