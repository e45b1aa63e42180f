#!/bin/sh
# Run test tiers (make targets) each under a time limit, sum their PASS/FAIL lines; end with `N passed, N failed`.
#
# Usage: tests/run.sh [--expect "TIER ..."] TIER[:SECONDS] ...
# A tier fails as a whole (one FAIL line of its own) when it runs past its limit (default
# $TIER_LIMIT, 900 s), exits non-zero without a FAIL line, or prints no PASS/FAIL line at all.
# --expect names every tier the makefiles define: one missing from the run fails the suite.
# The run exits non-zero unless every tier reported and nothing failed. RUN_MAKE overrides `make`.
RUN_MAKE=${RUN_MAKE:-make}
LOGS=${TEST_LOGS:-build/test-logs}
mkdir -p "$LOGS"
passed=0
failed=0
silent=""
start=$(date +%s)

if [ "$1" = "--expect" ]; then
    expected=$2
    shift 2
    for want in $expected; do
        case " $* " in
        *" $want "* | *" $want:"*) ;;
        *) echo "FAIL suite.unlisted_tier.$want (defined by a makefile but not in TEST_TIERS: it never runs)"
           failed=$((failed + 1)) ;;
        esac
    done
fi

# tier_fail NAME WHY LOG: the tier's own failure line and the end of its log.
tier_fail() {
    echo "FAIL $1 ($2; last lines of $3:)"
    tail -n 20 "$3" | sed 's/^/    /'
}

for arg in "$@"; do
    tier=${arg%%:*}
    limit=${TIER_LIMIT:-900}
    [ "$arg" != "$tier" ] && limit=${arg#*:}
    log="$LOGS/$tier.log"
    t0=$(date +%s)
    echo "=== $tier (limit $limit s)"
    # timeout(1) signals its whole process group; emulators die with their driver (PR_SET_PDEATHSIG).
    timeout -k 30 "$limit" $RUN_MAKE -s --no-print-directory "$tier" > "$log" 2>&1
    rc=$?
    grep -E '^(PASS|FAIL) ' "$log"
    p=$(grep -c '^PASS ' "$log")
    f=$(grep -c '^FAIL ' "$log")
    if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
        tier_fail "$tier.time_limit" "still running after $limit s: stopped" "$log"
        f=$((f + 1))
    elif [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
        tier_fail "$tier" "exited $rc without a result line" "$log"
        f=1
    elif [ "$p" -eq 0 ] && [ "$f" -eq 0 ]; then
        tier_fail "$tier.no_result" "exited $rc and ran no test" "$log"
        f=1
    elif [ "$f" -ne 0 ]; then
        echo "--- failure details ($log):"
        grep -v -E '^(PASS) ' "$log" | tail -n 60 | sed 's/^/    /'
    fi
    [ "$p" -eq 0 ] && silent="$silent $tier"
    echo "--- $tier: $p passed, $f failed in $(( $(date +%s) - t0 )) s"
    passed=$((passed + p))
    failed=$((failed + f))
done
echo "all tiers took $(( $(date +%s) - start )) s"
[ -n "$silent" ] && echo "tiers with no passing test:$silent"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ -z "$silent" ]
