/*
 * copy_from_guest / copy_to_guest for host unit tests of hypercall code
 * (guest_access.h): byte by byte through the including test's
 *     static uint8_t *gpa_ptr(struct domain *d, uint64_t gpa, bool write);
 * which maps a guest-physical address of its fake domains (NULL: not
 * mapped, or not writable when write). Guest addresses are taken as
 * guest-physical: the tests' guests run without paging.
 */
#ifndef FAKE_GUEST_COPY_H
#define FAKE_GUEST_COPY_H

static int fake_copy(struct vcpu *vc, uint8_t *hv, uint64_t gla, size_t len, bool to_guest)
{
    for (size_t i = 0; i < len; i++) {
        uint8_t *p = gpa_ptr(vc->domain, gla + i, to_guest);
        if (!p)
            return -EFAULT;
        if (to_guest)
            *p = hv[i];
        else
            hv[i] = *p;
    }
    return 0;
}
int copy_from_guest(struct vcpu *vc, void *dst, uint64_t gla, size_t len) { return fake_copy(vc, dst, gla, len, false); }
int copy_to_guest(struct vcpu *vc, uint64_t gla, const void *src, size_t len) { return fake_copy(vc, (void *)src, gla, len, true); }

#endif
