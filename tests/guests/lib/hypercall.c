/* Hypercall plumbing: the instruction choice, the hypercall page, errno names. */
#include "guest.h"

uint8_t hcall_method = HCALL_VMCALL;
uint8_t hypercall_page[4096] __aligned(4096);

/* Linux and Xen pick VMMCALL on AMD (and Hygon) and VMCALL elsewhere. */
uint8_t hcall_direct_method(void)
{
    return cpu_vendor == VENDOR_AMD ? HCALL_VMMCALL : HCALL_VMCALL;
}

/* CPUID base+2: EAX = number of hypercall pages, EBX = the MSR that takes
 * the page's guest-physical address (Xen fills the page on the write). */
bool hypercall_page_init(void)
{
    uint32_t msr = cpuid(xen_cpuid_base + 2).b;
    return wrmsr_safe(msr, (uintptr_t)hypercall_page);
}

struct errno_entry { int value; const char *name; };
static const struct errno_entry errno_names[] = {
#define XEN_ERRNO(name, value) { value, #name },
#include <xen/errno.h>
};

const char *errno_name(long rc)
{
    if (rc >= 0)
        return rc == 0 ? "ok" : "positive";
    for (unsigned int i = 0; i < ARRAY_SIZE(errno_names); i++)
        if (errno_names[i].value == -rc)
            return errno_names[i].name;
    return "?";
}
