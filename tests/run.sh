#!/bin/sh
# Run test tiers (make targets) each under a time limit, sum their PASS/FAIL lines; end with `N passed, N failed`.
#
# Usage: tests/run.sh [-j JOBS] [--expect "TIER ..."] TIER[:SECONDS] ...
# A tier fails as a whole (one FAIL line of its own) when it runs past its limit (default
# $TIER_LIMIT, 900 s), exits non-zero without a FAIL line, or prints no PASS/FAIL line at all.
# --expect names every tier the makefiles define: one missing from the run fails the suite.
# -j runs up to JOBS tiers at once, started in the order given (put the longest first); each tier's
# lines are printed together when it ends. Tiers run at once must not share anything they write: the
# caller builds every tier's prerequisites before (see `make test`).
# The run exits non-zero unless every tier reported and nothing failed. RUN_MAKE overrides `make`; logs go
# to $TEST_LOGS, else $BUILD/test-logs, else build/test-logs.
RUN_MAKE=${RUN_MAKE:-make}
LOGS=${TEST_LOGS:-${BUILD:-build}/test-logs}
mkdir -p "$LOGS"
jobs=1
passed=0
failed=0
silent=""
running=""
start=$(date +%s)

if [ "$1" = "-j" ]; then
    jobs=$2
    shift 2
fi
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

# launch TIER LIMIT: run the tier in the background; its exit status and times land in $LOGS/TIER.rc.
launch() {
    rm -f "$LOGS/$1.rc"
    (
        t0=$(date +%s)
        # timeout(1) signals its whole process group; emulators die with their driver (PR_SET_PDEATHSIG).
        timeout -k 30 "$2" $RUN_MAKE -s --no-print-directory "$1" > "$LOGS/$1.log" 2>&1
        rc=$?
        echo "$rc $2 $(( $(date +%s) - t0 ))" > "$LOGS/$1.rc.tmp"
        mv "$LOGS/$1.rc.tmp" "$LOGS/$1.rc"
    ) &
    running="$running $1"
}

# report TIER: print the ended tier's result lines and its verdict, add them to the totals.
report() {
    r_tier=$1 log="$LOGS/$1.log"
    read -r rc r_limit took < "$LOGS/$r_tier.rc"
    echo "=== $r_tier (limit $r_limit s)"
    grep -E '^(PASS|FAIL) ' "$log"
    p=$(grep -c '^PASS ' "$log")
    f=$(grep -c '^FAIL ' "$log")
    if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
        tier_fail "$r_tier.time_limit" "still running after $r_limit s: stopped" "$log"
        f=$((f + 1))
    elif [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
        tier_fail "$r_tier" "exited $rc without a result line" "$log"
        f=1
    elif [ "$p" -eq 0 ] && [ "$f" -eq 0 ]; then
        tier_fail "$r_tier.no_result" "exited $rc and ran no test" "$log"
        f=1
    elif [ "$f" -ne 0 ]; then
        echo "--- failure details ($log):"
        grep -v -E '^(PASS) ' "$log" | tail -n 60 | sed 's/^/    /'
    fi
    [ "$p" -eq 0 ] && silent="$silent $r_tier"
    echo "--- $r_tier: $p passed, $f failed in $took s"
    passed=$((passed + p))
    failed=$((failed + f))
}

# reap: report every running tier that has ended; print how many still run.
reap() {
    still=""
    for t in $running; do
        if [ -e "$LOGS/$t.rc" ]; then report "$t"; else still="$still $t"; fi
    done
    running=$still
    n=0
    for t in $running; do n=$((n + 1)); done
}

trap 'kill 0' INT TERM
n=0
for arg in "$@"; do
    tier=${arg%%:*}
    limit=${TIER_LIMIT:-900}
    [ "$arg" != "$tier" ] && limit=${arg#*:}
    reap
    while [ "$n" -ge "$jobs" ]; do
        sleep 1
        reap
    done
    launch "$tier" "$limit"
done
reap
while [ "$n" -gt 0 ]; do
    sleep 1
    reap
done
wait
echo "all tiers took $(( $(date +%s) - start )) s"
[ -n "$silent" ] && echo "tiers with no passing test:$silent"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ -z "$silent" ]
