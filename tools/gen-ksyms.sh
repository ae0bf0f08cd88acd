#!/bin/sh
# Emits the embedded symbol table (assembly for the .ksyms section) from the
# `nm -n` output of a first link, so stack traces name functions.
# Usage: gen-ksyms.sh [image]   (no image: an empty table for the first link)
set -e
echo '    .section .ksyms, "a"'
echo '    .balign 8'
echo '    .globl ksyms_count, ksyms_addrs, ksyms_names'
if [ -z "$1" ]; then
    echo 'ksyms_count: .quad 0'
    echo 'ksyms_addrs:'
    echo 'ksyms_names: .byte 0'
    exit 0
fi
nm -n --defined-only "$1" | awk '
    $2 ~ /^[tT]$/ && $1 ~ /^ffff/ { addr[n] = $1; name[n] = $3; n++ }
    END {
        printf "ksyms_count: .quad %d\n", n
        printf "ksyms_addrs:\n"
        off = 0
        for (i = 0; i < n; i++) {
            printf "    .quad 0x%s, %d\n", addr[i], off
            off += length(name[i]) + 1
        }
        printf "ksyms_names:\n"
        for (i = 0; i < n; i++) printf "    .asciz \"%s\"\n", name[i]
    }'
