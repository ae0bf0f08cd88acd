/*
 * A main() for libFuzzer targets when libFuzzer is not there (gcc builds):
 * feeds LLVMFuzzerTestOneInput() N pseudo-random inputs from a fixed seed,
 * so runs are reproducible, biased towards bytes that matter to x86 and
 * binary parsers (prefixes, escapes, small and boundary values).
 *
 *   ./fuzz_target [-runs=N] [-seed=S] [-max_len=L] [file...]
 *
 * Files given on the command line are run as inputs first (to replay a
 * crash found by libFuzzer). Exits non-zero only through the target
 * crashing or aborting, as libFuzzer would.
 */
#include <stdint.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv) __attribute__((weak));

static uint64_t rng_state;

/* xorshift64* (Vigna): small, fast and good enough to drive a fuzz target. */
static uint64_t rng(void)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545f4914f6cdd1dull;
}

static const uint8_t interesting[] = {
    0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x0f, 0x10, 0x24, 0x25, 0x26, 0x2e, 0x36, 0x38,
    0x3a, 0x3e, 0x40, 0x41, 0x44, 0x48, 0x4c, 0x4f, 0x62, 0x64, 0x65, 0x66, 0x67, 0x7f,
    0x80, 0x81, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0x89, 0x8a, 0x8b, 0x8f, 0xa0, 0xa1,
    0xa2, 0xa3, 0xa4, 0xa5, 0xaa, 0xab, 0xac, 0xad, 0xb6, 0xb7, 0xba, 0xbe, 0xbf, 0xc0,
    0xc3, 0xc4, 0xc5, 0xc6, 0xc7, 0xf0, 0xf2, 0xf3, 0xf6, 0xf7, 0xfe, 0xff,
};

static int run_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    static uint8_t buf[1 << 20];
    size_t n;

    if (!f) {
        perror(path);
        return 1;
    }
    n = fread(buf, 1, sizeof(buf), f);
    fclose(f);
    LLVMFuzzerTestOneInput(buf, n);
    return 0;
}

int main(int argc, char **argv)
{
    unsigned long runs = 100000, max_len = 64;
    uint64_t seed = 0x5eed0f7e57ull;
    int files = 0;

    if (LLVMFuzzerInitialize)
        LLVMFuzzerInitialize(&argc, &argv);
    for (int i = 1; i < argc; i++) {
        if (strncmp(argv[i], "-runs=", 6) == 0)
            runs = strtoul(argv[i] + 6, NULL, 0);
        else if (strncmp(argv[i], "-seed=", 6) == 0)
            seed = strtoull(argv[i] + 6, NULL, 0);
        else if (strncmp(argv[i], "-max_len=", 9) == 0)
            max_len = strtoul(argv[i] + 9, NULL, 0);
        else if (argv[i][0] != '-') {
            if (run_file(argv[i]))
                return 1;
            files++;
        }
    }
    if (max_len == 0 || max_len > 4096)
        max_len = 64;
    rng_state = seed ? seed : 1;

    for (unsigned long r = 0; r < runs; r++) {
        size_t len = (size_t)(rng() % (max_len + 1));
        uint8_t *buf = malloc(len ? len : 1);   /* exact size: ASan sees overreads */

        if (!buf)
            return 1;
        for (size_t i = 0; i < len; i++) {
            uint64_t x = rng();

            buf[i] = (x & 3) == 0 ? interesting[(x >> 8) % sizeof(interesting)]
                                  : (uint8_t)(x >> 16);
        }
        LLVMFuzzerTestOneInput(buf, len);
        free(buf);
    }
    printf("%s: %lu random runs (seed %#llx, max_len %lu), %d files: no crash\n",
           argv[0], runs, (unsigned long long)seed, max_len, files);
    return 0;
}
