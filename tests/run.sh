#!/bin/sh
# Run each test tier (a make target) and sum its PASS/FAIL lines; end with `N passed, N failed`.
# A tier that exits non-zero without reporting a failure counts as one failure of its own.
mkdir -p build/test-logs
passed=0
failed=0
start=$(date +%s)
for tier in "$@"; do
    log="build/test-logs/$tier.log"
    t0=$(date +%s)
    echo "=== $tier"
    make -s --no-print-directory "$tier" > "$log" 2>&1
    rc=$?
    grep -E '^(PASS|FAIL) ' "$log"
    p=$(grep -c '^PASS ' "$log")
    f=$(grep -c '^FAIL ' "$log")
    if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
        echo "FAIL $tier (exited $rc without a result line; last lines of $log:)"
        tail -n 20 "$log" | sed 's/^/    /'
        f=1
    elif [ "$f" -ne 0 ]; then
        echo "--- failure details ($log):"
        grep -v -E '^(PASS) ' "$log" | tail -n 60 | sed 's/^/    /'
    fi
    echo "--- $tier: $p passed, $f failed in $(( $(date +%s) - t0 )) s"
    passed=$((passed + p))
    failed=$((failed + f))
done
echo "all tiers took $(( $(date +%s) - start )) s"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
