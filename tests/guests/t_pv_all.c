/*
 * pv_all: the checks of every other PV guest in one boot, one part after
 * the other, for the emulators where a boot is expensive (Bochs: ~20 s).
 * The parts are the guests' own mains built with PV_COMBINED (pv_guest.h);
 * lib/pv_guests.mk lists them in PV_ALL_PARTS, pv_shutdown last (its end
 * is the run's end: the verdict covers every part).
 * Boot: dom0=pv with build/guests/pv_all.elf [tcg].
 */
#include "pv_guest.h"

#define X(n) void pv_main_##n(void);
PV_ALL_PARTS
#undef X

const char pv_test_name[] = "pv_all";

void pv_test_main(void)
{
#define X(n)                                  \
    pv_puts("--- part pv_" #n "\n");          \
    pv_main_##n();
    PV_ALL_PARTS
#undef X
}
