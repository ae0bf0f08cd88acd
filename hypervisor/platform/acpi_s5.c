/*
 * The S5 (soft off) sleep type without an AML interpreter.
 *
 * Entering S5 means writing SLP_TYP|SLP_EN to the PM1 control registers
 * (ACPI 6.5, 7.4.2 and 4.8.3.2.1), and SLP_TYP comes from the \_S5 object
 * in the DSDT. Interpreting AML is out of scope, so, like many small
 * kernels, we look for the one shape firmware uses for it,
 *
 *     NameOp ['\'] "_S5_" PackageOp PkgLength NumElements SLP_TYPa SLP_TYPb ...
 *
 * (ACPI 20.2.5.1 DefName, 20.2.5.4 DefPackage, 20.2.4 PkgLength,
 * 20.2.3 data objects). QEMU's and Bochs's DSDTs declare \_S5 that way with
 * constant values. A \_S5 computed by a method, or one only defined in an
 * SSDT, is not found, and poweroff then falls back to the other methods.
 */
#include <proxenos/acpi.h>
#include <proxenos/lib.h>

#define AML_ZERO_OP    0x00
#define AML_ONE_OP     0x01
#define AML_NAME_OP    0x08
#define AML_BYTE_PFX   0x0a
#define AML_WORD_PFX   0x0b
#define AML_DWORD_PFX  0x0c
#define AML_QWORD_PFX  0x0e
#define AML_PACKAGE_OP 0x12
#define AML_ROOT_CHAR  0x5c
#define AML_ONES_OP    0xff
#define SLP_TYP_MAX    7               /* a 3-bit field of PM1_CNT */

/* PkgLength (20.2.4): bits 7:6 of the lead byte count the bytes that follow;
 * with followers, bits 3:0 are the low nibble and bits 5:4 must be zero. */
static int pkg_length(const uint8_t *p, size_t avail, uint32_t *len, size_t *used)
{
    unsigned int n = p[0] >> 6;

    if (avail < 1 + n)
        return -EINVAL;
    if (!n) {
        *len = p[0] & 0x3f;
    } else {
        if (p[0] & 0x30)
            return -EINVAL;
        *len = p[0] & 0x0f;
        for (unsigned int i = 1; i <= n; i++)
            *len |= (uint32_t)p[i] << (4 + 8 * (i - 1));
    }
    *used = 1 + n;
    return 0;
}

/* One constant data object (20.2.3); anything else is not a plain \_S5. */
static int data_value(const uint8_t *p, size_t avail, uint64_t *v, size_t *used)
{
    static const struct { uint8_t op, size; } prefixed[] = {
        { AML_BYTE_PFX, 1 }, { AML_WORD_PFX, 2 }, { AML_DWORD_PFX, 4 }, { AML_QWORD_PFX, 8 },
    };

    if (!avail)
        return -EINVAL;
    *used = 1;
    switch (p[0]) {
    case AML_ZERO_OP: *v = 0; return 0;
    case AML_ONE_OP:  *v = 1; return 0;
    case AML_ONES_OP: *v = ~0ull; return 0;
    }
    for (size_t i = 0; i < ARRAY_SIZE(prefixed); i++) {
        if (p[0] != prefixed[i].op)
            continue;
        if (avail < 1u + prefixed[i].size)
            return -EINVAL;
        *v = 0;
        for (unsigned int b = 0; b < prefixed[i].size; b++)
            *v |= (uint64_t)p[1 + b] << (8 * b);
        *used = 1 + prefixed[i].size;
        return 0;
    }
    return -EINVAL;
}

/* Parses the package that follows "_S5_" at p (avail bytes to the end). */
static int parse_s5_package(const uint8_t *p, size_t avail, uint8_t *a, uint8_t *b)
{
    uint32_t pkg_len;
    size_t used, end, off;
    uint64_t v[2];

    if (avail < 1 || p[0] != AML_PACKAGE_OP)
        return -EINVAL;
    if (pkg_length(p + 1, avail - 1, &pkg_len, &used))
        return -EINVAL;
    /* PkgLength counts itself and the package contents, not the opcode. */
    end = 1 + (size_t)pkg_len;
    if (pkg_len < used + 1 || end > avail)
        return -EINVAL;
    off = 1 + used;
    if (p[off++] < 2)                  /* NumElements: need SLP_TYPa and b */
        return -EINVAL;
    for (int i = 0; i < 2; i++) {
        if (data_value(p + off, end - off, &v[i], &used) || v[i] > SLP_TYP_MAX)
            return -EINVAL;
        off += used;
    }
    *a = (uint8_t)v[0];
    *b = (uint8_t)v[1];
    return 0;
}

static bool is_name_decl(const uint8_t *aml, size_t at)
{
    if (at >= 1 && aml[at - 1] == AML_NAME_OP)
        return true;
    return at >= 2 && aml[at - 1] == AML_ROOT_CHAR && aml[at - 2] == AML_NAME_OP;
}

int acpi_find_s5(const uint8_t *aml, size_t len, uint8_t *slp_typa, uint8_t *slp_typb)
{
    for (size_t i = 0; i + 4 <= len; i++) {
        if (memcmp(aml + i, "_S5_", 4) || !is_name_decl(aml, i))
            continue;
        if (!parse_s5_package(aml + i + 4, len - i - 4, slp_typa, slp_typb))
            return 0;
    }
    return -ENOENT;
}
