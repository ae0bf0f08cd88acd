/* The initial PV domain's physical interrupts (common/pirq.c) over a fake
   IOAPIC of 24 GSIs: PHYSDEVOP_* argument checks and the pirq/GSI table,
   binding and closing, the level-triggered EOI flow, teardown. Guest
   pointers are host pointers here. */
/* @sources: hypervisor/common/pirq.c */
#include "cmocka_prelude.h"
#include <string.h>
#include <proxenos/xen_abi.h>
#include <xen/physdev.h>
#include <proxenos/apic.h>
#include <proxenos/cpu.h>
#include <proxenos/domain.h>
#include <proxenos/guest_access.h>
#include <proxenos/pirq.h>

/* ---- the fake machine ------------------------------------------------------------- */

#define NR_GSIS 24
struct pin { bool routed, masked; uint8_t vector; uint32_t dest, mode; };
static struct pin pins[NR_GSIS];
static bool hv_owned[NR_GSIS];
static irq_handler_t handlers[256];
static unsigned int eois, raised, raised_pirq;
static struct domain *raised_dom;
static bool fault_copy;

unsigned int ioapic_nr_gsis(void) { return NR_GSIS; }
bool ioapic_gsi_hypervisor_owned(unsigned int gsi) { return gsi < NR_GSIS && hv_owned[gsi]; }
uint32_t ioapic_gsi_mode(unsigned int gsi)
{
    return gsi < 16 ? 0 : IOAPIC_MODE_LEVEL | IOAPIC_MODE_ACTIVE_LOW;   /* ISA, PCI */
}
int ioapic_route_mode(unsigned int gsi, uint8_t vector, uint32_t dest, uint32_t mode)
{
    assert_true(gsi < NR_GSIS);
    pins[gsi] = (struct pin){ .routed = true, .vector = vector, .dest = dest, .mode = mode };
    return 0;
}
int ioapic_mask(unsigned int gsi) { pins[gsi].masked = true; pins[gsi].routed = false; return 0; }
int ioapic_set_masked(unsigned int gsi, bool m) { pins[gsi].masked = m; return 0; }
void lapic_eoi(void) { eois++; }
void irq_set_handler(unsigned int vector, irq_handler_t fn) { handlers[vector] = fn; }
void printk(const char *fmt, ...) {}
void send_guest_pirq(struct domain *d, uint32_t pirq) { raised++; raised_dom = d; raised_pirq = pirq; }
int copy_from_guest(struct vcpu *v, void *dst, uint64_t gla, size_t len)
{
    if (fault_copy)
        return -EFAULT;
    memcpy(dst, (void *)(uintptr_t)gla, len);
    return 0;
}
int copy_to_guest(struct vcpu *v, uint64_t gla, const void *src, size_t len)
{
    memcpy((void *)(uintptr_t)gla, src, len);
    return 0;
}

static struct domain dom0 = { .domain_id = 0, .type = DOMTYPE_PV, .is_initial = true };
static struct domain dom1 = { .domain_id = 1, .type = DOMTYPE_PV };
static struct vcpu v0 = { .domain = &dom0 }, v1 = { .domain = &dom1 };
struct domain *domain_by_id(domid_t id) { return id == 0 ? &dom0 : id == 1 ? &dom1 : NULL; }
static struct percpu cpu0 = { .apic_id = 3 };
struct percpu *percpu_table[MAX_CPUS] = { &cpu0 };

static int setup(void **state)
{
    pirq_domain_release(&dom0);
    memset(pins, 0, sizeof(pins));
    memset(hv_owned, 0, sizeof(hv_owned));
    eois = raised = 0;
    fault_copy = false;
    return 0;
}

/* ---- helpers ---------------------------------------------------------------------- */

static long op(struct vcpu *v, unsigned int cmd, void *arg)
{
    return pirq_physdev_op(v, cmd, (uint64_t)(uintptr_t)arg);
}

static long map(struct vcpu *v, domid_t dom, int type, int index, int *pirq)
{
    struct physdev_map_pirq m = { .domid = dom, .type = type, .index = index, .pirq = *pirq };
    long rc = op(v, PHYSDEVOP_map_pirq, &m);

    *pirq = m.pirq;
    return rc;
}

static long unmap(struct vcpu *v, domid_t dom, int pirq)
{
    struct physdev_unmap_pirq u = { .domid = dom, .pirq = pirq };
    return op(v, PHYSDEVOP_unmap_pirq, &u);
}

static long eoi(struct vcpu *v, uint32_t pirq)
{
    struct physdev_eoi e = { .irq = pirq };
    return op(v, PHYSDEVOP_eoi, &e);
}

static long setup_gsi(struct vcpu *v, int gsi, uint8_t trig, uint8_t pol)
{
    struct physdev_setup_gsi s = { .gsi = gsi, .triggering = trig, .polarity = pol };
    return op(v, PHYSDEVOP_setup_gsi, &s);
}

static void fire(unsigned int gsi)
{
    struct cpu_regs r = { .vector = pins[gsi].vector };

    assert_true(pins[gsi].routed);
    assert_non_null(handlers[r.vector]);
    handlers[r.vector](&r);
}

/* ---- tests ------------------------------------------------------------------------ */

static void only_the_initial_domain(void **state)
{
    int pirq = -1;

    assert_int_equal(map(&v1, DOMID_SELF, MAP_PIRQ_TYPE_GSI, 5, &pirq), -ENOSYS);
    assert_int_equal(setup_gsi(&v1, 5, 0, 0), -ENOSYS);
    assert_int_equal(pirq_guest_bind(&dom1, 5), -EPERM);
    assert_int_equal(op(&v0, PHYSDEVOP_pirq_eoi_gmfn_v2, NULL), -ENOSYS);   /* not offered */
    assert_int_equal(op(&v0, PHYSDEVOP_apic_read, NULL), -ENOSYS);
}

static void map_pirq_arguments(void **state)
{
    int pirq = -1;

    assert_int_equal(map(&v0, DOMID_SELF, MAP_PIRQ_TYPE_MSI, 5, &pirq), -EINVAL);
    assert_int_equal(map(&v0, DOMID_SELF, MAP_PIRQ_TYPE_GSI, -1, &pirq), -EINVAL);
    assert_int_equal(map(&v0, DOMID_SELF, MAP_PIRQ_TYPE_GSI, NR_GSIS, &pirq), -EINVAL);
    assert_int_equal(map(&v0, 1, MAP_PIRQ_TYPE_GSI, 5, &pirq), -EPERM);     /* no passthrough */
    assert_int_equal(map(&v0, 9, MAP_PIRQ_TYPE_GSI, 5, &pirq), -ESRCH);
    pirq = 256;
    assert_int_equal(map(&v0, DOMID_SELF, MAP_PIRQ_TYPE_GSI, 5, &pirq), -EINVAL);
    hv_owned[2] = true;                                    /* the hypervisor's own */
    pirq = -1;
    assert_int_equal(map(&v0, DOMID_SELF, MAP_PIRQ_TYPE_GSI, 2, &pirq), -EPERM);
    assert_int_equal(setup_gsi(&v0, 2, 1, 1), -EEXIST);
    fault_copy = true;
    assert_int_equal(map(&v0, DOMID_SELF, MAP_PIRQ_TYPE_GSI, 5, &pirq), -EFAULT);
}

static void pirq_numbers(void **state)
{
    int pirq = -1;

    /* Xen's default for dom0: pirq = GSI; asked again, the same one. */
    assert_int_equal(map(&v0, DOMID_SELF, MAP_PIRQ_TYPE_GSI, 5, &pirq), 0);
    assert_int_equal(pirq, 5);
    pirq = -1;
    assert_int_equal(map(&v0, 0, MAP_PIRQ_TYPE_GSI, 5, &pirq), 0);
    assert_int_equal(pirq, 5);
    pirq = 7;                                          /* GSI 5 is pirq 5 already */
    assert_int_equal(map(&v0, DOMID_SELF, MAP_PIRQ_TYPE_GSI, 5, &pirq), -EEXIST);
    pirq = 6;                                          /* an explicit pirq */
    assert_int_equal(map(&v0, DOMID_SELF, MAP_PIRQ_TYPE_GSI, 7, &pirq), 0);
    assert_int_equal(pirq, 6);
    pirq = 6;                                          /* names GSI 7 */
    assert_int_equal(map(&v0, DOMID_SELF, MAP_PIRQ_TYPE_GSI, 8, &pirq), -EEXIST);
    pirq = -1;                                         /* GSI 6's own is taken: from 16 */
    assert_int_equal(map(&v0, DOMID_SELF, MAP_PIRQ_TYPE_GSI, 6, &pirq), 0);
    assert_int_equal(pirq, 16);
    assert_int_equal(unmap(&v0, DOMID_SELF, 6), 0);
    assert_int_equal(unmap(&v0, DOMID_SELF, 6), -EINVAL);
    assert_int_equal(unmap(&v0, DOMID_SELF, -1), -EINVAL);
    assert_int_equal(unmap(&v0, DOMID_SELF, 256), -EINVAL);
    assert_int_equal(unmap(&v0, 1, 5), -EPERM);
    assert_int_equal(eoi(&v0, 6), -EINVAL);            /* not mapped any more */
    assert_int_equal(eoi(&v0, 300), -EINVAL);
}

static void status_query(void **state)
{
    struct physdev_irq_status_query q = { .irq = 4, .flags = 0xff };
    struct physdev_irq vec = { .irq = 11 };

    assert_int_equal(op(&v0, PHYSDEVOP_irq_status_query, &q), 0);
    assert_int_equal(q.flags, XENIRQSTAT_needs_eoi);   /* always, without an EOI bitmap */
    q.irq = 256;
    assert_int_equal(op(&v0, PHYSDEVOP_irq_status_query, &q), -EINVAL);
    assert_int_equal(op(&v0, PHYSDEVOP_alloc_irq_vector, &vec), 0);
    assert_int_equal(vec.vector, 11);
    assert_int_equal(setup_gsi(&v0, -1, 0, 0), -EINVAL);
    assert_int_equal(setup_gsi(&v0, NR_GSIS, 0, 0), -EINVAL);
}

static void edge_delivery(void **state)
{
    int pirq = -1;

    assert_int_equal(pirq_guest_bind(&dom0, 1), -EINVAL);   /* not mapped */
    assert_int_equal(map(&v0, DOMID_SELF, MAP_PIRQ_TYPE_GSI, 1, &pirq), 0);
    assert_false(pins[1].routed);                       /* mapping alone routes nothing */
    assert_int_equal(pirq_guest_bind(&dom0, 1), 0);
    assert_true(pins[1].routed);
    assert_int_equal(pins[1].vector, PIRQ_VECTOR_BASE + 1);
    assert_int_equal(pins[1].dest, 3);                  /* the boot CPU */
    assert_int_equal(pins[1].mode, 0);                  /* ISA: edge, high */
    assert_int_equal(setup_gsi(&v0, 1, 1, 1), -EEXIST); /* bound */
    fire(1);
    assert_int_equal(raised, 1);
    assert_ptr_equal(raised_dom, &dom0);
    assert_int_equal(raised_pirq, 1);
    assert_int_equal(eois, 1);
    assert_false(pins[1].masked);                       /* edge: no EOI wait */
    assert_int_equal(eoi(&v0, 1), 0);
    pirq_guest_unbind(&dom0, 1);                        /* the port closed */
    assert_true(pins[1].masked);
}

static void level_waits_for_eoi(void **state)
{
    int pirq = -1;

    assert_int_equal(setup_gsi(&v0, 20, 1, 1), 0);      /* level, active low */
    assert_int_equal(map(&v0, DOMID_SELF, MAP_PIRQ_TYPE_GSI, 20, &pirq), 0);
    assert_int_equal(pirq_guest_bind(&dom0, 20), 0);
    assert_int_equal(pins[20].mode, IOAPIC_MODE_LEVEL | IOAPIC_MODE_ACTIVE_LOW);
    fire(20);
    assert_true(pins[20].masked);                       /* until the domain's EOI */
    assert_int_equal(eois, 1);
    assert_int_equal(raised, 1);
    assert_int_equal(eoi(&v0, 20), 0);
    assert_false(pins[20].masked);
    assert_int_equal(eoi(&v0, 20), 0);                  /* twice: nothing to do */
    assert_false(pins[20].masked);
    /* setup_gsi's edge wins over the MADT's level for a PCI GSI. */
    pirq = -1;
    assert_int_equal(setup_gsi(&v0, 21, 0, 0), 0);
    assert_int_equal(map(&v0, DOMID_SELF, MAP_PIRQ_TYPE_GSI, 21, &pirq), 0);
    assert_int_equal(pirq_guest_bind(&dom0, 21), 0);
    assert_int_equal(pins[21].mode, 0);
    /* unmap masks a bound line; a late interrupt raises nothing. */
    assert_int_equal(unmap(&v0, DOMID_SELF, 20), 0);
    assert_true(pins[20].masked);
    pins[20].routed = true;
    fire(20);
    assert_int_equal(raised, 1);
    assert_int_equal(eois, 2);
}

static void teardown_releases(void **state)
{
    int pirq = -1;

    assert_int_equal(map(&v0, DOMID_SELF, MAP_PIRQ_TYPE_GSI, 10, &pirq), 0);
    assert_int_equal(pirq_guest_bind(&dom0, 10), 0);
    pirq_domain_release(&dom0);
    assert_true(pins[10].masked);
    assert_int_equal(eoi(&v0, 10), -EINVAL);            /* forgotten */
    assert_int_equal(pirq_guest_bind(&dom0, 10), -EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(only_the_initial_domain, setup),
        cmocka_unit_test_setup(map_pirq_arguments, setup),
        cmocka_unit_test_setup(pirq_numbers, setup),
        cmocka_unit_test_setup(status_query, setup),
        cmocka_unit_test_setup(edge_delivery, setup),
        cmocka_unit_test_setup(level_waits_for_eoi, setup),
        cmocka_unit_test_setup(teardown_releases, setup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
