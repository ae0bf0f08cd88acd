/*
 * triple_fault: loads an empty IDT and executes ud2. #UD cannot be
 * delivered (#GP), neither can that (#DF), and the #DF failing is a triple
 * fault: shutdown. The hypervisor must crash this domain alone, report it,
 * and carry on: the system test expects QEMU exit 35 (domain crashed, not a
 * hypervisor panic) and a hypervisor line naming the triple fault. This
 * guest never reports PASS itself.
 */
#include "guest.h"

TEST_GUEST("triple_fault", NEEDS_XEN, "empty IDT then ud2: the hypervisor must crash this domain alone");

void test_main(void)
{
    printk("loading an empty IDT and executing ud2: expect a triple fault\n");
    load_empty_idt();
    asm volatile ("ud2");
    /* Not reached on a correct hypervisor. */
    test_fail("still running after a triple fault");
}
