# Proxenos: top-level build. `make help` lists the targets.
#
# Every .c/.asm file under the hypervisor directories is part of the image;
# every tests/unit/test_*.c is a host unit test that names the hypervisor
# sources it links with in a `@sources:` comment.

.SUFFIXES:
MAKEFLAGS += -rR
SHELL := /bin/bash

CC      ?= gcc
HOSTCC  := gcc
NASM    := nasm
LD      := ld
OBJCOPY := objcopy
B       := build

HV_DIRS := hypervisor vmx svm pv devicemodel firmware
HV_C    := $(shell find $(HV_DIRS) -name '*.c' 2>/dev/null | sort)
HV_ASM  := $(shell find $(HV_DIRS) -name '*.asm' 2>/dev/null | sort)

HV_CFLAGS := -std=gnu11 -O2 -g -ffreestanding -nostdinc \
	-isystem $(shell $(CC) -print-file-name=include) \
	-Ihypervisor/include -I$(B)/include -include hypervisor/include/proxenos/visibility.h \
	-Wall -Wextra -Werror -Wno-unused-parameter \
	-mno-red-zone -mgeneral-regs-only -fno-stack-protector -fpie \
	-fno-asynchronous-unwind-tables -fno-omit-frame-pointer -fno-strict-aliasing \
	-fno-common -fcf-protection=none -MMD -MP
HV_LDFLAGS := -nostdlib -static -z max-page-size=0x1000 -z noexecstack \
	--no-dynamic-linker --no-warn-rwx-segments -T hypervisor/proxenos.lds

HOST_CFLAGS := -std=gnu11 -g -O1 -Wall -Wextra -Werror -Wno-unused-parameter \
	-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer \
	-DHOST_TEST -Ihypervisor/include -I$(B)/include

# Two builds of the same sources: the image users boot, and a test image
# with the in-hypervisor self tests (selftest=NAME) compiled in.
VARIANTS := release test
release_DEFS :=
test_DEFS    := -DCONFIG_SELFTEST

-include tests/guests/guests.mk
.PHONY: all run test bench iso clean deps help unit systest fuzz linux test-slow FORCE
all: $(B)/proxenos.elf $(B)/proxenos-test.elf $(GUEST_ELFS)

help:
	@echo "make            build build/proxenos.elf (and the self-test image)"
	@echo "make run        boot Proxenos under QEMU with Debian's Linux as dom0 (a shell on hvc0)"
	@echo "make linux      fetch Debian's kernel, extract build/linux/vmlinux, build the initramfs"
	@echo "make test       build and run every test (unit, fuzz, system)"
	@echo "make test-slow  the long system tests (Linux under Bochs SVM, ryzen)"
	@echo "make bench      print the benchmark tables"
	@echo "make iso        build/proxenos.iso: a GRUB ISO with the default modules"
	@echo "make deps       install the Debian packages the build and tests need"
	@echo "make clean      remove build/"

# --- packages -----------------------------------------------------------------
DEB_PACKAGES := gcc make nasm binutils libcmocka-dev libxen-dev libfdt-dev \
	qemu-system-x86 bochs bochsbios vgabios seabios grub-pc-bin grub-common \
	xorriso mtools python3 liblzma-dev zlib1g-dev
deps:
	@tools/install-deps.sh $(DEB_PACKAGES)

# Xen's public headers, reachable as <xen/...> without the rest of /usr/include.
$(B)/include/xen:
	@mkdir -p $(B)/include
	@test -d /usr/include/xen || { echo "missing /usr/include/xen: run 'make deps'"; exit 1; }
	ln -sfn /usr/include/xen $@

# --- the image ------------------------------------------------------------------
define variant_rules
$(1)_OBJS := $$(patsubst %.c,$(B)/$(1)/%.o,$(HV_C)) $$(patsubst %.asm,$(B)/$(1)/%.o,$(HV_ASM))

$(B)/$(1)/%.o: %.c | $(B)/include/xen
	@mkdir -p $$(@D)
	@echo "  CC [$(1)] $$<"
	@$(CC) $(HV_CFLAGS) $$($(1)_DEFS) -c $$< -o $$@

$(B)/$(1)/%.o: %.asm hypervisor/boot/layout.inc
	@mkdir -p $$(@D)
	@echo "  AS [$(1)] $$<"
	@$(NASM) -f elf64 -g -F dwarf -I. -o $$@ $$<

# First link with an empty symbol table, second with the real one.
$(B)/$(1)/ksyms0.o: tools/gen-ksyms.sh
	@mkdir -p $$(@D)
	@tools/gen-ksyms.sh > $(B)/$(1)/ksyms0.S && $(CC) -c $(B)/$(1)/ksyms0.S -o $$@

# Rewritten only when the set of objects changes, so a removed source relinks.
$(B)/$(1)/objs.list: FORCE
	@mkdir -p $$(@D)
	@echo '$$($(1)_OBJS)' | cmp -s - $$@ || echo '$$($(1)_OBJS)' > $$@

$(B)/$(1)/proxenos-syms: $$($(1)_OBJS) $(B)/$(1)/ksyms0.o hypervisor/proxenos.lds $(B)/$(1)/objs.list
	@echo "  LD [$(1)] $$@"
	@$(LD) $(HV_LDFLAGS) -o $$@.pass1 $$($(1)_OBJS) $(B)/$(1)/ksyms0.o
	@tools/gen-ksyms.sh $$@.pass1 > $(B)/$(1)/ksyms.S
	@$(CC) -c $(B)/$(1)/ksyms.S -o $(B)/$(1)/ksyms.o
	@$(LD) $(HV_LDFLAGS) -o $$@ $$($(1)_OBJS) $(B)/$(1)/ksyms.o
	@cmp -s <(nm $$@.pass1 | grep -i ' t ') <(nm $$@ | grep -i ' t ') || \
		{ echo "symbol table moved code between links"; exit 1; }
endef
$(foreach v,$(VARIANTS),$(eval $(call variant_rules,$(v))))

# Flat ELF32 wrapper: one PT_LOAD at 2 MiB, entry at the physical `start`.
$(B)/proxenos.elf: $(B)/release/proxenos-syms hypervisor/elf32.lds
	@tools/mkelf32.sh $< $@
$(B)/proxenos-test.elf: $(B)/test/proxenos-syms hypervisor/elf32.lds
	@tools/mkelf32.sh $< $@

-include $(shell find $(B)/release $(B)/test -name '*.d' 2>/dev/null)

# --- host unit tests -------------------------------------------------------------
UNIT_NAMES := $(basename $(notdir $(wildcard tests/unit/test_*.c)))
unit_srcs = $(shell sed -n 's|.*@sources:\(.*\)\*/.*|\1|p' tests/unit/$(1).c)
define unit_rule
$(B)/unit/$(1): tests/unit/$(1).c $(call unit_srcs,$(1)) | $(B)/include/xen
	@mkdir -p $$(@D)
	@echo "  HOSTCC $$@"
	@$(HOSTCC) $(HOST_CFLAGS) -o $$@ $$(filter %.c,$$^) -lcmocka
endef
$(foreach t,$(UNIT_NAMES),$(eval $(call unit_rule,$(t))))
UNIT_BINS := $(addprefix $(B)/unit/,$(UNIT_NAMES))

# --- fuzz targets (gcc standalone driver; clang+libFuzzer when wanted) ---------
FUZZ_NAMES := $(basename $(notdir $(wildcard tests/fuzz/fuzz_*.c)))
fuzz_srcs = $(shell sed -n 's|.*@sources:\(.*\)\*/.*|\1|p' tests/fuzz/$(1).c)
define fuzz_rule
$(B)/fuzz/$(1): tests/fuzz/$(1).c tests/fuzz/standalone_main.c $(call fuzz_srcs,$(1)) | $(B)/include/xen
	@mkdir -p $$(@D)
	@echo "  HOSTCC $$@"
	@$(HOSTCC) $(HOST_CFLAGS) -o $$@ $$(filter %.c,$$^)
endef
$(foreach t,$(FUZZ_NAMES),$(eval $(call fuzz_rule,$(t))))
FUZZ_BINS := $(addprefix $(B)/fuzz/,$(FUZZ_NAMES))

# --- Linux as the initial domain (docs/linux-boot-notes.md) -----------------------
# Debian's stock kernel: the bzImage is fetched by tools/get-linux.sh and its
# ELF vmlinux extracted on the host by build/tools/extract-vmlinux (liblzma,
# zlib); the test initramfs is Debian's busybox-static plus tools/initramfs/.
LINUX := $(B)/linux
LINUX_FILES := $(LINUX)/vmlinux $(LINUX)/initramfs.cpio
TOOL_CFLAGS := -std=gnu11 -O2 -g -Wall -Wextra -Werror

$(B)/tools/extract-vmlinux: tools/extract-vmlinux.c
	@mkdir -p $(@D)
	@echo "  HOSTCC $@"
	@$(HOSTCC) $(TOOL_CFLAGS) -o $@ $< -llzma -lz

$(LINUX)/vmlinuz: tools/get-linux.sh
	@tools/get-linux.sh $(LINUX)

$(LINUX)/vmlinux: $(LINUX)/vmlinuz $(B)/tools/extract-vmlinux
	@echo "  EXTRACT $@"
	@$(B)/tools/extract-vmlinux --require-pvh $< $@

# A static, libc-free x86-64 Linux program for the initramfs.
$(LINUX)/tsc: tools/initramfs/tsc.c
	@mkdir -p $(@D)
	@echo "  HOSTCC $@"
	@$(HOSTCC) -Os -static -nostdlib -fno-stack-protector -fno-pie -no-pie \
		-fno-asynchronous-unwind-tables -Wl,--build-id=none -Wall -Wextra -Werror -o $@ $<

$(LINUX)/initramfs.cpio: tools/mkinitramfs.sh tools/mkcpio.py tools/initramfs/init $(LINUX)/tsc
	@tools/mkinitramfs.sh $@ $(LINUX)/tsc

# deps first (liblzma-dev is needed to build the extractor), then the files.
linux: deps
	@$(MAKE) -s --no-print-directory $(LINUX_FILES)

# --- top-level commands ------------------------------------------------------------
ISO_DEPS := $(B)/proxenos.elf tools/mkiso.sh
iso: $(B)/proxenos.iso
$(B)/proxenos.iso: $(ISO_DEPS)
	@tools/mkiso.sh $@ $(B)/proxenos.elf ""

# VENDOR=intel boots under Bochs (VMX + EPT); the default is QEMU (SVM + NPT).
run: deps all linux
	@$(if $(filter intel,$(VENDOR)),tools/run-bochs.sh,tools/run-qemu.sh) $(B)/proxenos.elf

test: deps all linux $(UNIT_BINS) $(FUZZ_BINS) $(GUEST_ELFS)
	@tests/run-all.sh

# The system tests too long for every `make test` (PROXENOS_SLOW=1 registers them).
test-slow: deps all linux
	@PROXENOS_SLOW=1 tests/system/run.sh 'slow'

unit: $(UNIT_BINS)
	@tests/run-all.sh unit

bench: deps all linux
	@tools/bench.sh

clean:
	rm -rf $(B)
