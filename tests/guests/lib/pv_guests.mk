# 64-bit PV test guests: tests/guests/t_pv_NAME.c + lib/pv_* -> build/guests/pv_NAME.elf,
# a PV kernel (XEN_ELFNOTE_ENTRY/VIRT_BASE/HYPERCALL_PAGE, no PHYS32_ENTRY)
# linked at 0x400000. Included by guests.mk, which keeps these files out of
# the PVH guests. pv_all is every other guest's checks in one image: their
# mains built again with PV_COMBINED, run in PV_ALL_PARTS order.
PV_GUEST_NAMES := $(patsubst $(GUEST_DIR)/t_pv_%.c,pv_%,$(sort $(wildcard $(GUEST_DIR)/t_pv_*.c)))
PV_GUEST_ELFS  := $(addprefix $(B)/guests/,$(addsuffix .elf,$(PV_GUEST_NAMES)))
PV_GUEST_LIB   := $(B)/guests/pvlib/pv_lib.o $(B)/guests/pvlib/pv_head.o
PV_GUEST_HDR   := $(GUEST_DIR)/lib/pv_guest.h
PV_ALL_PARTS   := discovery console pagetable traps desc emul usermode shutdown
PV_ALL_OBJS    := $(patsubst %,$(B)/guests/pvlib/part_%.o,$(PV_ALL_PARTS))
# The root Makefile builds $(GUEST_ELFS) for `all` and `test`: PV guests too.
GUEST_ELFS     += $(PV_GUEST_ELFS)

.PHONY: pv-guests
guests: $(PV_GUEST_ELFS)
pv-guests: $(PV_GUEST_ELFS)

$(B)/guests/pvlib/pv_lib.o: $(GUEST_DIR)/lib/pv_lib.c $(PV_GUEST_HDR) | $(B)/include/xen
	@mkdir -p $(@D)
	@echo "  CC [pv guest] $<"
	@$(GUEST_CC) $(GUEST_CFLAGS) -c $< -o $@

$(B)/guests/pvlib/pv_head.o: $(GUEST_DIR)/lib/pv_head.asm
	@mkdir -p $(@D)
	@echo "  AS [pv guest] $<"
	@$(GUEST_NASM) -f elf64 -g -F dwarf -o $@ $<

$(B)/guests/pvlib/t_pv_all.o: $(GUEST_DIR)/t_pv_all.c $(PV_GUEST_HDR) $(GUEST_DIR)/lib/pv_guests.mk | $(B)/include/xen
	@mkdir -p $(@D)
	@echo "  CC [pv guest] $<"
	@$(GUEST_CC) $(GUEST_CFLAGS) '-DPV_ALL_PARTS=$(foreach p,$(PV_ALL_PARTS),X($(p)))' -c $< -o $@

$(B)/guests/pvlib/t_pv_%.o: $(GUEST_DIR)/t_pv_%.c $(PV_GUEST_HDR) | $(B)/include/xen
	@mkdir -p $(@D)
	@echo "  CC [pv guest] $<"
	@$(GUEST_CC) $(GUEST_CFLAGS) -c $< -o $@

$(B)/guests/pvlib/part_%.o: $(GUEST_DIR)/t_pv_%.c $(PV_GUEST_HDR) | $(B)/include/xen
	@mkdir -p $(@D)
	@echo "  CC [pv guest part] $<"
	@$(GUEST_CC) $(GUEST_CFLAGS) -DPV_COMBINED -c $< -o $@

PV_LD = $(GUEST_LD) $(filter-out -T $(GUEST_DIR)/lib/guest.lds,$(GUEST_LDFLAGS)) -T $(GUEST_DIR)/lib/pv_guest.lds

$(B)/guests/pv_all.elf: $(B)/guests/pvlib/t_pv_all.o $(PV_ALL_OBJS) $(PV_GUEST_LIB) $(GUEST_DIR)/lib/pv_guest.lds
	@echo "  LD [pv guest] $@"
	@$(PV_LD) -o $@ $(B)/guests/pvlib/t_pv_all.o $(PV_ALL_OBJS) $(PV_GUEST_LIB)

$(B)/guests/pv_%.elf: $(B)/guests/pvlib/t_pv_%.o $(PV_GUEST_LIB) $(GUEST_DIR)/lib/pv_guest.lds
	@echo "  LD [pv guest] $@"
	@$(PV_LD) -o $@ $(B)/guests/pvlib/t_pv_$*.o $(PV_GUEST_LIB)

.SECONDARY: $(PV_GUEST_LIB) $(PV_ALL_OBJS) $(patsubst pv_%,$(B)/guests/pvlib/t_pv_%.o,$(PV_GUEST_NAMES))
-include $(wildcard $(B)/guests/pvlib/*.d)

# The PV benchmark guest (tools/bench.sh, `make bench`; not a test):
# tests/guests/bench_pv.c -> build/guests/bench_pv.elf, with the same library.
PV_BENCH_ELFS := $(B)/guests/bench_pv.elf
GUEST_ELFS    += $(PV_BENCH_ELFS)
guests: $(PV_BENCH_ELFS)

$(B)/guests/pvlib/bench_pv.o: $(GUEST_DIR)/bench_pv.c $(PV_GUEST_HDR) | $(B)/include/xen
	@mkdir -p $(@D)
	@echo "  CC [pv guest] $<"
	@$(GUEST_CC) $(GUEST_CFLAGS) -c $< -o $@

$(B)/guests/bench_pv.elf: $(B)/guests/pvlib/bench_pv.o $(PV_GUEST_LIB) $(GUEST_DIR)/lib/pv_guest.lds
	@echo "  LD [pv guest] $@"
	@$(PV_LD) -o $@ $< $(PV_GUEST_LIB)
