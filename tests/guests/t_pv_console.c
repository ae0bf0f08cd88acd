/*
 * pv_console: HYPERVISOR_console_io from a 64-bit PV kernel (the PV
 * counterpart of console_io; Xen 4.17's do_console_io): CONSOLEIO_write
 * copies the buffer through the guest's own page tables in chunks and
 * returns 0, or -EFAULT at the first chunk it cannot read (unmapped,
 * non-canonical, the hypervisor's area, the end of our mappings);
 * CONSOLEIO_read as dom0 returns what input there is (none: 0), -E2BIG for
 * a count that does not fit an int; other sub-ops -ENOSYS. The system test
 * looks for the marker lines on the serial log, proving the bytes arrived.
 * Boot: dom0=pv with build/guests/pv_console.elf.
 */
#include "pv_guest.h"

#define PV_UNMAPPED 0x0000100000000000UL       /* L4 slot 32: nothing there */

static char pages[3 * 4096] __attribute__((aligned(4096)));

static long write_str(const char *s, uint64_t len)
{
    return pv_hcall(__HYPERVISOR_console_io, CONSOLEIO_write, len, (uint64_t)s, 0, 0);
}

static void fill(char *p, const char *head, unsigned int len)
{
    unsigned int n = (unsigned int)pv_strlen(head);

    for (unsigned int i = 0; i < len; i++)
        p[i] = i < n ? head[i] : (char)('a' + (i - n) % 26);
    p[len - 1] = '\n';
}

static void check_writes(void)
{
    static const char line[] = "console_io marker: plain write\n";
    static const char cross[] = "console_io marker: across a page boundary\n";
    static char unaligned[40] __attribute__((aligned(8)));
    char *p = pages + 4096 - 20;

    pv_check_eq("write of a 31-byte line", write_str(line, sizeof(line) - 1), 0);
    pv_check_eq("write of 0 bytes", write_str(line, 0), 0);
    pv_check_eq("write of 0 bytes from an unmapped buffer", write_str((char *)PV_UNMAPPED, 0), 0);
    fill(unaligned + 3, "console_io marker: unaligned\n", 29);
    pv_check_eq("write from an unaligned buffer", write_str(unaligned + 3, 29), 0);
    for (unsigned int i = 0; i < sizeof(cross) - 1; i++)
        p[i] = cross[i];
    pv_check_eq("write from a buffer crossing a page boundary", write_str(p, sizeof(cross) - 1), 0);
    /* Longer than one of Xen's 127-byte chunks: 300 bytes on one line. */
    fill(pages, "console_io marker: long ", 300);
    pv_check_eq("write of 300 bytes (several chunks)", write_str(pages, 300), 0);
    /* 16 lines over two pages in one call. */
    for (unsigned int i = 0; i < 16; i++) {
        fill(pages + 4096 - 500 + i * 64, "console_io marker: multi-line NN ", 64);
        pages[4096 - 500 + i * 64 + 30] = (char)('0' + i / 10);
        pages[4096 - 500 + i * 64 + 31] = (char)('0' + i % 10);
    }
    pv_check_eq("write of 16 lines (1024 bytes) across a page", write_str(pages + 4096 - 500, 1024), 0);
    /* More than Xen's and our per-call budget (CONSOLEIO_PER_CALL, 4096
       bytes): the hypercall is continued; the system test looks for the
       last line. 80 lines of 64 bytes. */
    for (unsigned int i = 0; i < 80; i++) {
        fill(pages + i * 64, "console_io marker: 5120-byte write, line NN ", 64);
        pages[i * 64 + 41] = (char)('0' + i / 10);
        pages[i * 64 + 42] = (char)('0' + i % 10);
    }
    pv_check_eq("write of 5120 bytes (a continuation)", write_str(pages, 5120), 0);
}

/* The L2 entry for va is not present: nothing at va or in its 2 MiB. */
static bool unmapped_2m(uint64_t va)
{
    return !(pv_read_pte(pv_pte_maddr(va, 2)) & PV_PTE_P);
}

static void check_bad_writes(void)
{
    uint64_t end = PV_VIRT_BASE + 4 * 1024 * 1024;   /* the region's end (4 MiB aligned) */

    pv_check_eq("write from an unmapped buffer -EFAULT", write_str((char *)PV_UNMAPPED, 16),
                -XEN_EFAULT);
    pv_check_eq("write from a non-canonical buffer -EFAULT",
                write_str((char *)0x8000000000000000UL, 16), -XEN_EFAULT);
    pv_check_eq("write from the hypervisor's area -EFAULT",
                write_str((char *)0xffff830000000000UL, 16), -XEN_EFAULT);
    /* Runs off the end of our mappings: stops with -EFAULT, does not print
       the rest of memory or hang. */
    while (end < pv_si->pt_base || !unmapped_2m(end))
        end += 2 * 1024 * 1024;
    if (pv_read_pte(pv_l1e_maddr(end - 64)) & PV_PTE_RW) {
        char *tail = (char *)(end - 64);

        fill(tail, "console_io marker: end of mapped memory ====", 64);
        pv_check_eq("write of 0x7fffffff bytes from the last 64 mapped bytes -EFAULT",
                    write_str(tail, 0x7fffffff), -XEN_EFAULT);
        pv_check_eq("write of 0xffffffff bytes from the last 64 mapped bytes -EFAULT",
                    write_str(tail, 0xffffffffU), -XEN_EFAULT);
    } else {
        pv_puts("SKIP: the last mapped page is not writable: huge-count writes\n");
    }
}

static void check_reads(void)
{
    char buf[32];

    for (unsigned int i = 0; i < sizeof(buf); i++)
        buf[i] = 0x5a;
    pv_check_eq("CONSOLEIO_read with no input pending (dom0) -> 0",
                pv_hcall(__HYPERVISOR_console_io, CONSOLEIO_read, sizeof(buf), (uint64_t)buf, 0, 0), 0);
    pv_check_eq("CONSOLEIO_read of nothing leaves the buffer alone", buf[0], 0x5a);
    pv_check_eq("CONSOLEIO_read with count 0x80000000 -E2BIG",
                pv_hcall(__HYPERVISOR_console_io, CONSOLEIO_read, 0x80000000U, (uint64_t)buf, 0, 0),
                -XEN_E2BIG);
    pv_check_eq("console_io sub-op 2 (unknown) -ENOSYS",
                pv_hcall(__HYPERVISOR_console_io, 2, 4, (uint64_t)"xxxx", 0, 0), -XEN_ENOSYS);
    pv_check_eq("console_io sub-op 0x8000 (unknown) -ENOSYS",
                pv_hcall(__HYPERVISOR_console_io, 0x8000, 4, (uint64_t)"xxxx", 0, 0), -XEN_ENOSYS);
}

PV_TEST_MAIN(console)
{
    check_writes();
    check_bad_writes();
    check_reads();
}
