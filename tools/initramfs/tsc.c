/*
 * tsc: prints the time-stamp counter in decimal, for the test initramfs
 * (tools/mkinitramfs.sh). Under QEMU's -icount shift=0 the TSC counts the
 * instructions the machine has executed since it started (platform.md), so
 * /init's first reading is the boot-to-init cost that `make bench` reports.
 * Linux leaves RDTSC to user space (CR4.TSD clear).
 *
 * No libc: a static, freestanding x86-64 Linux program (built by the
 * Makefile with -nostdlib -static), two system calls, write and exit.
 */
typedef unsigned long u64;

static long sys3(long nr, long a, long b, long c)
{
    long ret;

    __asm__ volatile("syscall" : "=a"(ret) : "a"(nr), "D"(a), "S"(b), "d"(c)
                     : "rcx", "r11", "memory");
    return ret;
}

static u64 rdtsc(void)
{
    unsigned int lo, hi;

    __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
    return (u64)hi << 32 | lo;
}

void __attribute__((noreturn, used)) tsc_main(void)
{
    char buf[24];
    int i = sizeof(buf);
    u64 t = rdtsc();

    buf[--i] = '\n';
    do {
        buf[--i] = (char)('0' + t % 10);
        t /= 10;
    } while (t);
    sys3(1, 1, (long)(buf + i), (long)(sizeof(buf) - i));     /* write(1, ...) */
    sys3(60, 0, 0, 0);                                        /* exit(0) */
    __builtin_unreachable();
}

/* The entry: align the stack as the ABI wants at a call, then C. */
__asm__(".globl _start\n_start:\n\tandq $-16, %rsp\n\tcall tsc_main\n");
