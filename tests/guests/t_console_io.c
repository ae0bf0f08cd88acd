/*
 * console_io: HYPERVISOR_console_io as Xen 4.17 implements it
 * (xen/drivers/char/console.c do_console_io): CONSOLEIO_write copies the
 * buffer in chunks and returns 0, or -EFAULT at the first chunk it cannot
 * read; CONSOLEIO_read returns the bytes it had (0 here), -E2BIG for a count
 * that does not fit an int; other sub-ops -ENOSYS. The system test also
 * looks for the marker lines on the serial log, proving the bytes arrived.
 */
#include "common.h"

TEST_GUEST("console_io", NEEDS_XEN, "HYPERVISOR_console_io writes, reads and bad arguments");

static char pages[2 * 4096] __aligned(4096);

static long write_str(const char *s, unsigned int len)
{
    return HYPERVISOR_console_io(CONSOLEIO_write, len, s);
}

static void test_writes(void)
{
    static const char line[] = "console_io marker: plain write\n";
    check_rc("write of a 31-byte line", write_str(line, sizeof(line) - 1), 0);
    check_rc("write of 0 bytes", write_str(line, 0), 0);
    check_rc("write of 0 bytes from an unmapped buffer", write_str(BAD_PTR_UNMAPPED, 0), 0);

    /* An odd address. */
    static char unaligned[40] __aligned(8);
    memcpy(unaligned + 3, "console_io marker: unaligned\n", 29);
    check_rc("write from an unaligned buffer", write_str(unaligned + 3, 29), 0);

    /* A buffer that crosses a page boundary. */
    static const char cross[] = "console_io marker: across a page boundary\n";
    char *p = pages + 4096 - 20;
    memcpy(p, cross, sizeof(cross) - 1);
    check_rc("write from a buffer crossing a page boundary", write_str(p, sizeof(cross) - 1), 0);

    /* Longer than one of Xen's 127-byte chunks: 300 bytes on one line. */
    char *l = pages;
    memcpy(l, "console_io marker: long ", 24);
    for (unsigned int i = 24; i < 299; i++)
        l[i] = (char)('a' + (i - 24) % 26);
    l[299] = '\n';
    check_rc("write of 300 bytes (several chunks)", write_str(l, 300), 0);
}

static void test_bad_writes(void)
{
    check_rc("write from an unmapped buffer", write_str(BAD_PTR_UNMAPPED, 16), -XEN_EFAULT);
    check_rc("write from a non-canonical buffer", write_str(BAD_PTR_NONCANON, 16), -XEN_EFAULT);
    check_rc("write from a non-RAM GPA", write_str(BAD_PTR_NOT_RAM, 16), -XEN_EFAULT);

    /* A huge count over a short valid buffer placed at the end of RAM: the
     * hypervisor walks off RAM within one chunk and must stop with -EFAULT,
     * not hang or print the rest of memory. */
    uint64_t end = ram_end_below_4g();
    if (!end || end - 64 < (uintptr_t)_end) {
        test_skip("no RAM end below 4 GiB followed by non-RAM: huge-count write");
        return;
    }
    if (start_info.memmap_paddr >= end - 4096 && start_info.memmap_paddr < end) {
        test_skip("the builder's data shares the last RAM page: huge-count write");
        return;
    }
    char *tail = (char *)(uintptr_t)(end - 64);
    memset(tail, '=', 63);
    tail[63] = '\n';
    check_rc("write of 0x7fffffff bytes from the last 64 bytes of RAM",
             write_str(tail, 0x7fffffff), -XEN_EFAULT);
    check_rc("write of 0xffffffff bytes from the last 64 bytes of RAM",
             write_str(tail, 0xffffffffU), -XEN_EFAULT);
}

static void test_reads_and_subops(void)
{
    char buf[32];
    memset(buf, 0x5a, sizeof(buf));
    long rc = HYPERVISOR_console_io(CONSOLEIO_read, sizeof(buf), buf);
    check(rc == 0, "CONSOLEIO_read with no input pending -> %ld (%s), want 0", rc, errno_name(rc));
    check(buf[0] == 0x5a, "CONSOLEIO_read of nothing leaves the buffer alone");
    check_rc("CONSOLEIO_read with count 0x80000000", HYPERVISOR_console_io(CONSOLEIO_read,
             0x80000000U, buf), -XEN_E2BIG);
    check_rc("console_io sub-op 2 (unknown)", HYPERVISOR_console_io(2, 4, "xxxx"), -XEN_ENOSYS);
    check_rc("console_io sub-op 0x8000 (unknown)", HYPERVISOR_console_io(0x8000, 4, "xxxx"),
             -XEN_ENOSYS);
}

void test_main(void)
{
    test_writes();
    test_bad_writes();
    test_reads_and_subops();
}
