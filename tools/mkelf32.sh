#!/bin/bash
# Turns the linked ELF64 hypervisor into the bootable ELF32 image: the flat
# memory image from the load address, one PT_LOAD whose size covers .bss,
# and the physical entry point `start`.
# Usage: mkelf32.sh build/<variant>/proxenos-syms build/proxenos.elf
set -euo pipefail
syms=$1 out=$2
bin=${syms%-syms}.bin
objcopy -O binary "$syms" "$bin"
end=$(nm "$syms" | awk '$3 == "_end" { print $1 }')
entry=$(nm "$syms" | awk '$3 == "start" { print $1 }')
load=0x200000
# _end is a higher-half address: its physical twin is _end - HV_VIRT_OFFSET.
memsz=$(( 0x$end - 0xffff82d040000000 - load ))
filesz=$(stat -c %s "$bin")
bss=$(( memsz - filesz ))
if (( bss < 0 )); then echo "mkelf32: image larger than its memory size" >&2; exit 1; fi
(cd "$(dirname "$bin")" && ld -m elf_i386 -T "$OLDPWD/hypervisor/elf32.lds" --defsym BSS_SIZE=$bss \
    -e 0x$entry --no-warn-rwx-segments -b binary "$(basename "$bin")" -o "$OLDPWD/$out")
echo "  ELF32 $out ($(( memsz / 1024 )) KiB in memory, entry 0x$entry)"
