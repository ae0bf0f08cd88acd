#!/bin/bash
# Runs the system tests: boots Proxenos under QEMU and Bochs and judges each
# run. Prints one line per test and a closing "N passed, N failed".
# Usage: tests/system/run.sh [NAME-FILTER-REGEX]
cd "$(dirname "$0")/../.." || exit 1
. tests/system/lib.sh
for f in tests/system/cases/*.sh; do . "$f"; done

filter=${1:-.}
passed=0 failed=0 failed_names=()
for entry in "${SYSTESTS[@]}"; do
    name=${entry%%:*} fn=${entry#*:}
    [[ $name =~ $filter ]] || continue
    start=$SECONDS
    if out=$("$fn" "$name" 2>&1); then
        printf '  PASS  %-36s (%ds)\n' "$name" $((SECONDS - start))
        passed=$((passed + 1))
    else
        printf '  FAIL  %-36s (%ds)\n' "$name" $((SECONDS - start))
        [ -n "$out" ] && echo "$out"
        failed=$((failed + 1)) failed_names+=("$name")
    fi
done
[ $failed -gt 0 ] && echo "system tests failed: ${failed_names[*]}"
echo "system: $passed passed, $failed failed"
[ $failed -eq 0 ]
