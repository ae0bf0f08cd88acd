/*
 * mmio: loads and stores to guest-physical addresses with nothing behind
 * them. The hypervisor must emulate each instruction (a nested page fault
 * on an unmapped GPA): every read gives all-ones of its size, with the
 * architectural register write-back (8/16-bit loads merge, 32-bit loads
 * zero-extend, MOVZX/MOVSX extend), and every write is dropped. Addresses
 * use base+index*scale and an FS override with a non-zero FS base, which
 * the emulator must apply. Also: the local APIC at 0xfee00000 answers with
 * an ID matching CPUID and a sane version, and keeps TPR writes.
 */
#include "guest.h"

TEST_GUEST("mmio", NEEDS_XEN, "MMIO emulation: unbacked GPAs with every MOV form, the local APIC");

#define PATTERN 0x1122334455667788ULL

static bool gpa_free(uint64_t gpa)
{
    for (unsigned int i = 0; i < guest_memmap_nr; i++)
        if (gpa >= guest_memmap[i].addr && gpa - guest_memmap[i].addr < guest_memmap[i].size)
            return false;
    return true;
}

/* "where: insn" with the asm template's %% shown as %. */
static const char *label(char *buf, size_t size, const char *where, const char *insn)
{
    size_t n = (size_t)snprintf(buf, size, "%s: ", where);
    for (; *insn && n + 1 < size; insn++) {
        if (insn[0] == '%' && insn[1] == '%')
            insn++;
        buf[n++] = *insn;
    }
    buf[n < size ? n : size - 1] = '\0';
    return buf;
}

static void reads(const char *where, uintptr_t a)
{
    uint64_t r;
    char what[96];
#define READ(insn, want) do { \
        r = PATTERN; \
        asm volatile (insn : "+a" (r) : "b" (a) : "memory"); \
        check_eq(label(what, sizeof(what), where, insn), r, want); \
    } while (0)
    READ("movb (%%rbx), %%al", 0x11223344556677ffULL);
    READ("movb (%%rbx), %%ah", 0x112233445566ff88ULL);
    READ("movw (%%rbx), %%ax", 0x112233445566ffffULL);
    READ("movl (%%rbx), %%eax", 0x00000000ffffffffULL);
    READ("movq (%%rbx), %%rax", ~0ULL);
    READ("movzbl (%%rbx), %%eax", 0xffULL);
    READ("movzwl (%%rbx), %%eax", 0xffffULL);
    READ("movzbw (%%rbx), %%ax", 0x11223344556600ffULL);
    READ("movsbl (%%rbx), %%eax", 0x00000000ffffffffULL);
    READ("movsbq (%%rbx), %%rax", ~0ULL);
    READ("movswq (%%rbx), %%rax", ~0ULL);
    READ("movslq (%%rbx), %%rax", ~0ULL);
    READ("movl 4(%%rbx), %%eax", 0x00000000ffffffffULL);
#undef READ

    /* A register the ModRM reg field names with REX.R, and an index. */
    register uint64_t r9 asm("r9") = PATTERN;
    uint64_t idx = 4;
    asm volatile ("movl -16(%%rbx,%%rcx,4), %%r9d" : "+r" (r9) : "b" (a), "c" (idx) : "memory");
    check_eq(label(what, sizeof(what), where, "movl -16(%%rbx,%%rcx,4), %%r9d"), r9, 0xffffffffULL);

    /* FS override: FS base = a - 0x1000, so %fs:0x1000 is a. */
    uint64_t fs_old = rdmsr(MSR_FS_BASE);
    wrmsr(MSR_FS_BASE, a - 0x1000);
    r = PATTERN;
    asm volatile ("movq %%fs:0x1000, %0" : "=r" (r) :: "memory");
    wrmsr(MSR_FS_BASE, fs_old);
    check_eq(label(what, sizeof(what), where, "movq %%fs:0x1000 (FS base = address - 0x1000)"),
             r, ~0ULL);
}

static void writes(const char *where, uintptr_t a)
{
    asm volatile ("movb $0x12, (%0)\n\t"
                  "movw $0x1234, 2(%0)\n\t"
                  "movl $0x12345678, 4(%0)\n\t"
                  "movq $-2, 8(%0)\n\t"
                  "movq %1, 16(%0)\n\t"
                  "movb %b1, 24(%0)"
                  :: "r" (a), "r" (PATTERN) : "memory");
    volatile uint64_t *p = (volatile uint64_t *)a;
    bool dropped = p[0] == ~0ULL && p[1] == ~0ULL && p[2] == ~0ULL && p[3] == ~0ULL;
    check(dropped, "%s: writes (imm8/16/32/64, reg) dropped, reads still all-ones", where);
}

static void test_unbacked(void)
{
    static const struct { uint64_t gpa; const char *what; } targets[] = {
        { 0xc0000000ULL, "GPA 0xc0000000" },
        { 0xe0001000ULL, "GPA 0xe0001000" },
    };
    for (unsigned int i = 0; i < ARRAY_SIZE(targets); i++) {
        if (!gpa_free(targets[i].gpa)) {
            test_skip("%s is in the memory map", targets[i].what);
            continue;
        }
        reads(targets[i].what, targets[i].gpa);
        writes(targets[i].what, targets[i].gpa);
    }

    /* Right after the RAM the image lives in, and far above 4 GiB (mapped
     * through a scratch slot: PD entries, not the identity map). */
    uint64_t end = ram_region_end((uintptr_t)_start_image);
    if (end && end < 0xfec00000ULL && gpa_free(end)) {
        reads("first GPA above RAM", end);
        writes("first GPA above RAM", end);
    }
    uint64_t high = 0x1000000000ULL;       /* 64 GiB */
    if (gpa_free(high)) {
        uintptr_t va = (uintptr_t)map_scratch(0, high, PTE_W);
        reads("GPA 64 GiB", va);
        writes("GPA 64 GiB", va);
    }
}

static void test_apic(void)
{
    volatile uint32_t *apic = (volatile uint32_t *)0xfee00000ULL;
    uint32_t id = apic[0x20 / 4], ver = apic[0x30 / 4];
    uint32_t cpuid_id = cpuid(1).b >> 24;
    check(id >> 24 == cpuid_id, "APIC ID register %#x: ID %u matches CPUID initial APIC ID %u",
          id, id >> 24, cpuid_id);
    uint32_t version = ver & 0xff, maxlvt = (ver >> 16) & 0xff;
    check(version >= 0x10 && version <= 0x1f && maxlvt >= 2 && maxlvt <= 6,
          "APIC version register %#x: integrated APIC (version %#x), max LVT %u", ver, version,
          maxlvt);
    uint32_t tpr = apic[0x80 / 4];
    apic[0x80 / 4] = 0x20;
    uint32_t got = apic[0x80 / 4];
    apic[0x80 / 4] = tpr;
    check_eq("APIC TPR after writing 0x20", got & 0xff, 0x20);
}

void test_main(void)
{
    test_unbacked();
    test_apic();
}
