/*
 * ACPI root tables: the RSDP, table headers and checksums, and the walk of
 * the XSDT or RSDT that hands each table to its parser. Pure code: firmware
 * memory is only reached through struct acpi_mem, and every problem is
 * recorded in the result rather than printed (hypervisor/include/proxenos/acpi.h).
 */
#include <proxenos/acpi.h>
#include <proxenos/lib.h>

uint8_t acpi_checksum(const void *p, size_t len)
{
    const uint8_t *b = p;
    uint8_t sum = 0;

    for (size_t i = 0; i < len; i++)
        sum += b[i];
    return sum;
}

void acpi_problem(struct acpi_info *ai, const char *sig, paddr_t pa, const char *why)
{
    struct acpi_problem *pr;

    if (ai->nr_problems >= ACPI_MAX_PROBLEMS) {
        ai->problems_dropped++;
        return;
    }
    pr = &ai->problems[ai->nr_problems++];
    memset(pr, 0, sizeof(*pr));
    memcpy(pr->sig, sig, 4);
    pr->pa = pa;
    pr->why = why;
}

static void copy_id(char *dst, const uint8_t *src, size_t n)
{
    /* OEM fields are space padded and not terminated; keep them printable. */
    for (size_t i = 0; i < n; i++)
        dst[i] = src[i] >= 0x20 && src[i] < 0x7f ? (char)src[i] : '?';
    dst[n] = '\0';
}

/*
 * RSDP (ACPI 5.2.5.3): the checksum covers the first 20 bytes (ACPI 1.0);
 * revision 2+ adds Length, XsdtAddress and an extended checksum over Length
 * bytes. A bad v2 part is survivable: the RSDT still describes the tables.
 */
int acpi_rsdp_parse(const void *p, size_t len, struct acpi_rsdp *out)
{
    const uint8_t *r = p;
    uint32_t v2_len;

    memset(out, 0, sizeof(*out));
    if (len < ACPI_RSDP_V1_LEN || memcmp(r, "RSD PTR ", 8) || acpi_checksum(r, ACPI_RSDP_V1_LEN))
        return -EINVAL;
    out->revision = r[15];
    copy_id(out->oem_id, r + 9, 6);
    out->rsdt = acpi_get32(r + 16);
    if (out->revision < 2)
        return 0;
    v2_len = len >= ACPI_RSDP_V2_LEN ? acpi_get32(r + 20) : 0;
    if (v2_len < ACPI_RSDP_V2_LEN || v2_len > len || acpi_checksum(r, v2_len)) {
        out->xsdt_checksum_bad = true;
        return 0;
    }
    out->xsdt = acpi_get64(r + 24);
    return 0;
}

bool acpi_rsdp_scan(const struct acpi_mem *m, paddr_t start, size_t len, paddr_t *found)
{
    struct acpi_rsdp tmp;
    paddr_t pa = ALIGN_UP(start, 16);

    for (; pa + ACPI_RSDP_V1_LEN <= start + len; pa += 16) {
        const uint8_t *p = m->map(m, pa, ACPI_RSDP_V1_LEN);
        const uint8_t *p2;
        size_t avail = ACPI_RSDP_V1_LEN;

        if (!p || memcmp(p, "RSD PTR ", 8))
            continue;
        /* The v2 part may reach past the scanned area; map it if we can. */
        p2 = m->map(m, pa, ACPI_RSDP_V2_LEN);
        if (p2) {
            p = p2;
            avail = ACPI_RSDP_V2_LEN;
        }
        if (!acpi_rsdp_parse(p, avail, &tmp)) {
            *found = pa;
            return true;
        }
    }
    return false;
}

const uint8_t *acpi_table_map(const struct acpi_mem *m, paddr_t pa, const char *sig,
                              uint32_t *len, const char **why)
{
    const uint8_t *t = m->map(m, pa, ACPI_HEADER_LEN);
    uint32_t l;

    if (!pa || !t) {
        *why = "header not addressable";
        return NULL;
    }
    if (sig && memcmp(t, sig, 4)) {
        *why = "wrong signature";
        return NULL;
    }
    l = acpi_get32(t + 4);
    if (l < ACPI_HEADER_LEN) {
        *why = "length shorter than the table header";
        return NULL;
    }
    if (l > ACPI_MAX_TABLE_LEN) {
        *why = "implausible length";
        return NULL;
    }
    t = m->map(m, pa, l);
    if (!t) {
        *why = "length runs past addressable memory";
        return NULL;
    }
    if (acpi_checksum(t, l)) {
        *why = "bad checksum";
        return NULL;
    }
    *len = l;
    return t;
}

static void record_table(struct acpi_info *ai, const uint8_t *t, paddr_t pa, uint32_t len)
{
    struct acpi_table_ref *ref = &ai->tables[ai->nr_tables++];

    copy_id(ref->sig, t, 4);
    copy_id(ref->oem_id, t + 10, 6);
    copy_id(ref->oem_table_id, t + 16, 8);
    ref->revision = t[8];
    ref->pa = pa;
    ref->length = len;
}

/* The DSDT is not listed in the XSDT: the FADT points at it. Its only use
 * here is the \_S5 sleep type for poweroff (acpi_s5.c). */
static void parse_dsdt(const struct acpi_mem *m, struct acpi_info *ai)
{
    const char *why;
    uint32_t len;
    const uint8_t *t;

    if (!ai->fadt.dsdt)
        return;
    t = acpi_table_map(m, ai->fadt.dsdt, "DSDT", &len, &why);
    if (!t) {
        acpi_problem(ai, "DSDT", ai->fadt.dsdt, why);
        return;
    }
    if (ai->nr_tables < ACPI_MAX_TABLES)
        record_table(ai, t, ai->fadt.dsdt, len);
    if (!acpi_find_s5(t + ACPI_HEADER_LEN, len - ACPI_HEADER_LEN, &ai->slp_typa, &ai->slp_typb))
        ai->have_s5 = true;
}

/* Hands one validated table to its parser; the first of each kind wins. */
static void dispatch(const struct acpi_mem *m, const uint8_t *t, uint32_t len, paddr_t pa,
                     struct acpi_info *ai)
{
    if (!memcmp(t, "APIC", 4)) {
        if (ai->have_madt)
            acpi_problem(ai, "APIC", pa, "second MADT ignored");
        else if (!acpi_parse_madt(t, len, pa, ai))
            ai->have_madt = true;
    } else if (!memcmp(t, "FACP", 4)) {
        if (ai->have_fadt) {
            acpi_problem(ai, "FACP", pa, "second FADT ignored");
        } else if (!acpi_parse_fadt(t, len, pa, ai)) {
            ai->have_fadt = true;
            parse_dsdt(m, ai);
        }
    } else if (!memcmp(t, "HPET", 4)) {
        if (ai->have_hpet)
            acpi_problem(ai, "HPET", pa, "second HPET block ignored");
        else if (!acpi_parse_hpet(t, len, pa, ai))
            ai->have_hpet = true;
    }
}

/* Names a table that failed validation by its signature when the header at
 * least was readable. */
static void report_unreadable(const struct acpi_mem *m, paddr_t pa, const char *why,
                              struct acpi_info *ai)
{
    const uint8_t *hdr = pa ? m->map(m, pa, 4) : NULL;
    char sig[5] = "????";

    if (hdr)
        copy_id(sig, hdr, 4);
    acpi_problem(ai, sig, pa, why);
}

/* XSDT entries are 64-bit, RSDT entries 32-bit, both possibly unaligned
 * (ACPI 5.2.7, 5.2.8). */
static void walk_root(const struct acpi_mem *m, const uint8_t *root, uint32_t len,
                      unsigned int entry_size, struct acpi_info *ai)
{
    uint32_t n = (len - ACPI_HEADER_LEN) / entry_size;

    if ((len - ACPI_HEADER_LEN) % entry_size)
        acpi_problem(ai, entry_size == 8 ? "XSDT" : "RSDT", 0, "length not a whole number of entries");
    for (uint32_t i = 0; i < n; i++) {
        const uint8_t *e = root + ACPI_HEADER_LEN + i * entry_size;
        paddr_t pa = entry_size == 8 ? acpi_get64(e) : acpi_get32(e);
        const char *why;
        uint32_t tlen;
        const uint8_t *t;

        if (ai->nr_tables >= ACPI_MAX_TABLES) {
            acpi_problem(ai, "XSDT", 0, "too many tables; the rest are ignored");
            return;
        }
        t = acpi_table_map(m, pa, NULL, &tlen, &why);
        if (!t) {
            report_unreadable(m, pa, why, ai);
            continue;
        }
        record_table(ai, t, pa, tlen);
        dispatch(m, t, tlen, pa, ai);
    }
}

/* ACPI 5.2.5.3: "An ACPI-compatible OS must use the XSDT if present"; the
 * RSDT is the fallback when the XSDT is absent or unreadable. */
int acpi_parse(const struct acpi_mem *m, const struct acpi_rsdp *rsdp, struct acpi_info *ai)
{
    const char *why;
    uint32_t len;
    const uint8_t *root = NULL;

    memset(ai, 0, sizeof(*ai));
    ai->rsdp = *rsdp;
    if (rsdp->xsdt_checksum_bad)
        acpi_problem(ai, "RSDP", 0, "bad extended checksum: XSDT not trusted");
    if (rsdp->xsdt) {
        root = acpi_table_map(m, rsdp->xsdt, "XSDT", &len, &why);
        if (!root)
            acpi_problem(ai, "XSDT", rsdp->xsdt, why);
    }
    if (root) {
        ai->used_xsdt = true;
        record_table(ai, root, rsdp->xsdt, len);
        walk_root(m, root, len, 8, ai);
        return 0;
    }
    root = acpi_table_map(m, rsdp->rsdt, "RSDT", &len, &why);
    if (!root) {
        acpi_problem(ai, "RSDT", rsdp->rsdt, why);
        return -ENOENT;
    }
    record_table(ai, root, rsdp->rsdt, len);
    walk_root(m, root, len, 4, ai);
    return 0;
}
