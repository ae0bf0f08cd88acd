/*
 * io_ports: port I/O the hypervisor intercepts. An unbacked port (0x2000)
 * reads all-ones at every width and swallows writes, like an empty ISA bus
 * (Xen completes such accesses with ~0 when no device model claims them);
 * string I/O (INS/OUTS, REP, both directions) moves the right number of
 * elements, advances RDI/RSI and RCX, and fills all-ones; port 0x80 (POST
 * codes) takes writes. I/O at CPL 3 without IOPL #GPs before any intercept.
 * The emulated i8254 PIT (0x40-0x43) and port 0x61 (hvm/vpit.c): channel 2
 * counts down in mode 0 while port 0x61 bit 0 gates it, latches and
 * read-back status work, OUT2 shows in port 0x61 bit 5 at terminal count,
 * and accesses wider than a byte read all-ones.
 */
#include "guest.h"

TEST_GUEST("io_ports", NEEDS_XEN, "port I/O: unbacked ports, string I/O, port 0x80, CPL 3");

#define PORT 0x2000

static void test_plain(void)
{
    check_eq("inb(0x2000)", inb(PORT), 0xff);
    check_eq("inw(0x2000)", inw(PORT), 0xffff);
    check_eq("inl(0x2000)", inl(PORT), 0xffffffff);
    check_eq("inw(0x2001) (odd port)", inw(PORT + 1), 0xffff);
    check_eq("inl(0x2003) (unaligned port)", inl(PORT + 3), 0xffffffff);

    /* IN AL only replaces AL: the rest of RAX must survive the emulation. */
    uint64_t rax = 0x1122334455667788ULL;
    asm volatile ("inb %w1, %b0" : "+a" (rax) : "d" (PORT));
    check_eq("inb leaves RAX[63:8] alone", rax, 0x11223344556677ffULL);
    rax = 0x1122334455667788ULL;
    asm volatile ("inw %w1, %w0" : "+a" (rax) : "d" (PORT));
    check_eq("inw leaves RAX[63:16] alone", rax, 0x112233445566ffffULL);
    rax = 0x1122334455667788ULL;
    asm volatile ("inl %w1, %k0" : "+a" (rax) : "d" (PORT));
    check_eq("inl zero-extends into RAX", rax, 0xffffffffULL);
    rax = 0x1122334455667788ULL;
    asm volatile ("inb $0x21, %b0" : "+a" (rax));   /* immediate port form */
    printk("inb $0x21 (PIC mask, may be backed) -> %#lx\n", rax & 0xff);

    outb(PORT, 0x12);
    outw(PORT, 0x3456);
    outl(PORT, 0x789abcde);
    check_eq("inl(0x2000) after writes (discarded)", inl(PORT), 0xffffffff);

    outb(0x80, 0x55);
    outb(0x80, 0xaa);
    test_pass("port 0x80 writes accepted");
}

static void test_string(void)
{
    static uint8_t buf[64];
    memset(buf, 0, sizeof(buf));
    void *di = buf + 8;
    uint64_t cx = 16;
    asm volatile ("cld; rep insb" : "+D" (di), "+c" (cx) : "d" (PORT) : "memory");
    bool ok = di == buf + 24 && cx == 0 && buf[7] == 0 && buf[24] == 0;
    for (unsigned int i = 8; i < 24; i++)
        ok &= buf[i] == 0xff;
    check(ok, "rep insb x16: 16 bytes of 0xff, RDI +16, RCX 0, neighbours untouched");

    memset(buf, 0, sizeof(buf));
    di = buf + 8;
    cx = 8;
    asm volatile ("cld; rep insw" : "+D" (di), "+c" (cx) : "d" (PORT) : "memory");
    const uint16_t *w = (const uint16_t *)(buf + 8);
    ok = di == buf + 24 && cx == 0 && buf[24] == 0;
    for (unsigned int i = 0; i < 8; i++)
        ok &= w[i] == 0xffff;
    check(ok, "rep insw x8: 8 words of 0xffff, RDI +16, RCX 0");

    memset(buf, 0, sizeof(buf));
    di = buf + 8;
    cx = 4;
    asm volatile ("cld; rep insl" : "+D" (di), "+c" (cx) : "d" (PORT) : "memory");
    const uint32_t *d = (const uint32_t *)(buf + 8);
    ok = di == buf + 24 && cx == 0 && d[0] == ~0U && d[3] == ~0U && buf[24] == 0;
    check(ok, "rep insl x4: 4 dwords of 0xffffffff, RDI +16, RCX 0");

    /* Backwards (DF=1): from buf+23 down to buf+8. */
    memset(buf, 0, sizeof(buf));
    di = buf + 23;
    cx = 16;
    asm volatile ("std; rep insb; cld" : "+D" (di), "+c" (cx) : "d" (PORT) : "memory");
    ok = di == buf + 7 && cx == 0 && buf[7] == 0 && buf[8] == 0xff && buf[23] == 0xff &&
         buf[24] == 0;
    check(ok, "rep insb with DF=1 fills downwards, RDI -16");

    memset(buf, 0x11, sizeof(buf));
    const void *si = buf;
    cx = 32;
    asm volatile ("cld; rep outsb" : "+S" (si), "+c" (cx) : "d" (PORT) : "memory");
    check(si == buf + 32 && cx == 0, "rep outsb x32: RSI +32, RCX 0");
    si = buf;
    asm volatile ("cld; outsw" : "+S" (si) : "d" (PORT) : "memory");
    check(si == buf + 2, "outsw: RSI +2");

    /* REP with RCX = 0 does nothing at all. */
    memset(buf, 0, sizeof(buf));
    di = buf;
    cx = 0;
    asm volatile ("cld; rep insb" : "+D" (di), "+c" (cx) : "d" (PORT) : "memory");
    check(di == buf && buf[0] == 0, "rep insb with RCX 0 moves nothing");
}

/* Channel 2 in mode 0, LSB then MSB, with `count`; gate on, speaker off. */
static void pit2_start(uint16_t count)
{
    outb(0x61, (inb(0x61) & ~0x02) | 0x01);
    outb(0x43, 0xb0);
    outb(0x42, count & 0xff);
    outb(0x42, count >> 8);
}

static uint16_t pit2_latched(void)
{
    outb(0x43, 0x80);                                /* counter latch, channel 2 */
    uint16_t lo = inb(0x42);
    return lo | inb(0x42) << 8;
}

static void test_pit(void)
{
    pit2_start(0xffff);                              /* ~55 ms */
    check_eq("port 0x61: gate on, speaker off", inb(0x61) & 0x03, 0x01);
    outb(0x43, 0xe8);                                /* read-back: status of channel 2 */
    check_eq("read-back status: OUT 0, LSB/MSB, mode 0, binary", inb(0x42), 0x30);

    uint16_t a = pit2_latched(), b = pit2_latched();
    check(b <= a, "channel 2 counts down from 0xffff: %#x then %#x", a, b);
    unsigned int n = 0;
    while (pit2_latched() == b && ++n < 1000000)
        ;
    check(n < 1000000, "the latched count moves on (%u reads)", n);

    outb(0x61, 0x00);                                /* gate off: held */
    a = pit2_latched();
    for (unsigned int i = 0; i < 100; i++)
        (void)inb(0x61);
    check_eq("gate off holds the count", pit2_latched(), a);

    pit2_start(0x0800);                              /* ~1.7 ms */
    check_eq("OUT2 (port 0x61 bit 5) low while counting", inb(0x61) & 0x20, 0);
    n = 0;
    while (!(inb(0x61) & 0x20) && ++n < 10000000)
        ;
    check(n < 10000000, "OUT2 goes high at terminal count (%u polls)", n);
    outb(0x43, 0xe8);
    check_eq("read-back status after terminal count: OUT 1", inb(0x42), 0xb0);

    check_eq("inb(0x43) (write-only control word)", inb(0x43), 0xff);
    check_eq("inw(0x40): byte accesses only", inw(0x40), 0xffff);
    check_eq("inl(0x40)", inl(0x40), 0xffffffff);
    check_eq("inw(0x60) covering port 0x61", inw(0x60), 0xffff);
    outb(0x61, 0x00);
}

static uint64_t user_in(void)
{
    return inb(PORT);
}

static void test_user(void)
{
    exinfo_clear();
    uint64_t r = exec_user(user_in);
    check(r == EXEC_USER_FAULTED && last_exception.vector == X86_EXC_GP &&
          last_exception.error_code == 0,
          "inb at CPL 3 with IOPL 0 and no I/O bitmap -> #GP(0) (%s)",
          r == EXEC_USER_FAULTED ? exception_name(last_exception.vector) : "no fault");
}

void test_main(void)
{
    test_plain();
    test_string();
    test_pit();
    test_user();
}
