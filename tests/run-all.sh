#!/bin/bash
# Runs every test of `make test` (host unit tests, fuzz runs, system tests
# under the emulators) and prints the closing line "N passed, N failed".
# Usage: tests/run-all.sh [unit|fuzz|system]...  (default: all)
cd "$(dirname "$0")/.." || exit 1
B=build
parts=${*:-unit fuzz system}
total_pass=0 total_fail=0

count() { total_pass=$((total_pass + $1)); total_fail=$((total_fail + $2)); }

run_unit() {
    local bin out p f
    for bin in $B/unit/test_*; do
        [ -x "$bin" ] || continue
        out=$("$bin" 2>&1); rc=$?
        p=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' <<<"$out" | awk '{s+=$1} END {print s+0}')
        f=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' <<<"$out" | awk '{s+=$1} END {print s+0}')
        if [ $rc -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi   # crashed (sanitizer, abort)
        printf '  %-5s %-36s %d passed, %d failed\n' "$([ $rc -eq 0 ] && echo PASS || echo FAIL)" \
            "$(basename "$bin")" "$p" "$f"
        [ $rc -eq 0 ] || echo "$out" | grep -E 'FAIL|ERROR|error|Sanitizer|runtime error' | head -20
        count "$p" "$f"
    done
}

run_fuzz() {
    local bin
    for bin in $B/fuzz/fuzz_*; do
        [ -x "$bin" ] || continue
        if out=$("$bin" -runs=${FUZZ_RUNS:-100000} 2>&1); then
            printf '  PASS  %-36s %s\n' "$(basename "$bin")" "$(tail -1 <<<"$out")"
            count 1 0
        else
            printf '  FAIL  %-36s\n' "$(basename "$bin")"
            tail -20 <<<"$out"
            count 0 1
        fi
    done
}

run_system() {
    local out
    out=$(tests/system/run.sh 2>&1 | tee /dev/stderr)
    local line
    line=$(grep -E '^system: [0-9]+ passed, [0-9]+ failed' <<<"$out" | tail -1)
    if [ -z "$line" ]; then count 0 1; return; fi
    count "$(awk '{print $2}' <<<"$line")" "$(awk '{print $4}' <<<"$line")"
}

for part in $parts; do
    echo "== $part tests"
    "run_$part"
done
echo
echo "$total_pass passed, $total_fail failed"
[ $total_fail -eq 0 ]
