# Test guests: tests/guests/t_NAME.c + the framework in tests/guests/lib/
# -> build/guests/NAME.elf, a PVH-bootable ELF (XEN_ELFNOTE_PHYS32_ENTRY) that
# loads at 1 MiB. Included by the root Makefile; `make guests` builds them all.

B ?= build
# Included before the root Makefile's first rule: keep `all` its default goal.
guests_saved_goal := $(.DEFAULT_GOAL)
GUEST_CC      ?= gcc
GUEST_LD      ?= ld
GUEST_NASM    ?= nasm
GUEST_OBJCOPY ?= objcopy
GUEST_DIR   := tests/guests
# t_pv_*.c and lib/pv_* are the 64-bit PV guests (lib/pv_guests.mk).
GUEST_NAMES := $(patsubst $(GUEST_DIR)/t_%.c,%,$(sort $(filter-out $(GUEST_DIR)/t_pv_%,$(wildcard $(GUEST_DIR)/t_*.c))))
GUEST_ELFS  := $(addprefix $(B)/guests/,$(addsuffix .elf,$(GUEST_NAMES)))

GUEST_LIB_C   := $(sort $(filter-out $(GUEST_DIR)/lib/pv_%,$(wildcard $(GUEST_DIR)/lib/*.c)))
GUEST_LIB_OBJ := $(patsubst $(GUEST_DIR)/lib/%.c,$(B)/guests/lib/%.o,$(GUEST_LIB_C)) \
                 $(B)/guests/lib/head.o

# The interface version Xen 4.17's public headers call current (xen-compat.h).
GUEST_CFLAGS := -std=gnu11 -O2 -g -ffreestanding -nostdinc \
	-isystem $(shell $(GUEST_CC) -print-file-name=include) \
	-I$(B)/include -I$(GUEST_DIR)/lib -D__XEN_INTERFACE_VERSION__=0x00040e00 \
	-Wall -Wextra -Werror -Wno-unused-parameter \
	-m64 -mno-red-zone -mgeneral-regs-only -fno-pic -fno-pie -mcmodel=small \
	-fno-stack-protector -fno-asynchronous-unwind-tables -fno-omit-frame-pointer \
	-fno-tree-loop-distribute-patterns -fno-strict-aliasing -fcf-protection=none \
	-fno-common -MMD -MP
GUEST_LDFLAGS := -m elf_x86_64 -static -nostdlib -z max-page-size=0x1000 \
	-z noexecstack --no-warn-rwx-segments --build-id=none -T $(GUEST_DIR)/lib/guest.lds

.PHONY: guests
guests: $(GUEST_ELFS)

$(B)/guests/lib/%.o: $(GUEST_DIR)/lib/%.c | $(B)/include/xen
	@mkdir -p $(@D)
	@echo "  CC [guest] $<"
	@$(GUEST_CC) $(GUEST_CFLAGS) -c $< -o $@

$(B)/guests/lib/head.o: $(GUEST_DIR)/lib/head.asm $(GUEST_DIR)/lib/layout.inc
	@mkdir -p $(@D)
	@echo "  AS [guest] $<"
	@$(GUEST_NASM) -f elf64 -g -F dwarf -I. -o $@ $<

$(B)/guests/t_%.o: $(GUEST_DIR)/t_%.c | $(B)/include/xen
	@mkdir -p $(@D)
	@echo "  CC [guest] $<"
	@$(GUEST_CC) $(GUEST_CFLAGS) -c $< -o $@

# NAME-syms keeps the symbols for debugging (objdump -d, gdb); NAME.elf is
# the same image in a 32-bit ELF container with its 32-bit entry note, the
# form every PVH loader accepts (QEMU reads the note's value as 32 bits from
# ELF32, as 64 from ELF64).
$(B)/guests/%.elf: $(B)/guests/t_%.o $(GUEST_LIB_OBJ) $(GUEST_DIR)/lib/guest.lds
	@echo "  LD [guest] $@"
	@$(GUEST_LD) $(GUEST_LDFLAGS) -o $(B)/guests/$*-syms $(B)/guests/t_$*.o $(GUEST_LIB_OBJ)
	@$(GUEST_OBJCOPY) -O elf32-i386 $(B)/guests/$*-syms $@

include $(GUEST_DIR)/lib/pv_guests.mk

.SECONDARY: $(GUEST_LIB_OBJ) $(patsubst %,$(B)/guests/t_%.o,$(GUEST_NAMES))
-include $(wildcard $(B)/guests/*.d $(B)/guests/lib/*.d)
.DEFAULT_GOAL := $(guests_saved_goal)
