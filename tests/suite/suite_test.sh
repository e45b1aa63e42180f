#!/bin/sh
# The suite's own plumbing: tests/run.sh against fake tiers, the order `make test` runs tiers in, the linker-table
# check, and fatal UBSan in every sanitized build.
# Argument: the unit and fuzz tiers whose build commands are checked. Prints PASS/FAIL lines.
MAKE=${MAKE:-make}
BUILD=${BUILD:-build}
W=$(mktemp -d /tmp/shoal-suite.XXXXXX)
trap 'rm -rf "$W"' EXIT INT TERM
failed=0
pass() { echo "PASS suite.$1"; }
fail() { echo "FAIL suite.$1: $2"; sed 's/^/    /' "$W/out" | tail -n 15; failed=1; }

# runsh ARGS...: tests/run.sh over tests/suite/fake.mk; output in $W/out, its status in $rc.
runsh() {
    rm -f "$W"/mark.*
    RUN_MAKE="make -f tests/suite/fake.mk MARK=$W/mark" TEST_LOGS="$W/logs" sh tests/run.sh "$@" > "$W/out" 2>&1
    rc=$?
}

# expect NAME RC_WANT(0|nonzero) PATTERN ARGS...
expect() {
    name=$1 want=$2 pat=$3
    shift 3
    runsh "$@"
    if [ "$want" = 0 ] && [ $rc -ne 0 ]; then fail "$name" "run.sh exited $rc, expected 0"
    elif [ "$want" != 0 ] && [ $rc -eq 0 ]; then fail "$name" "run.sh exited 0 on a broken tier"
    elif ! grep -q -- "$pat" "$W/out"; then fail "$name" "no line matching '$pat'"
    else pass "$name"; fi
}

expect run_good_tier 0 "^1 passed, 0 failed" t-pass
expect run_fail_line_with_status_0 1 "^2 passed, 1 failed" t-pass t-fail-rc0
expect run_silent_tier_fails 1 "^FAIL t-silent.no_result" t-pass t-silent
expect run_crash_without_fail_line 1 "^FAIL t-crash (exited 2" t-crash
expect run_unlisted_tier 1 "^FAIL suite.unlisted_tier.t-other" --expect "t-pass t-other" t-pass
expect run_listed_tiers 0 "^1 passed, 0 failed" --expect "t-pass" t-pass:60

# -j: tiers run at once (each of the t-meet pair waits for the other), and every verdict is still counted.
expect run_parallel_at_once 0 "^2 passed, 0 failed" -j 2 t-meet-a t-meet-b
expect run_serial_is_serial 1 "^FAIL fake.t-meet-a" t-meet-a:40 t-meet-b:40
expect run_parallel_sums 1 "^3 passed, 2 failed" -j 2 t-pass t-fail-rc0 t-crash
expect run_parallel_silent 1 "^FAIL t-silent.no_result" -j 3 t-pass t-silent t-pass
expect run_parallel_time_limit 1 "^FAIL t-slow.time_limit" -j 2 t-slow:2 t-pass

# Without TEST_LOGS the logs go under $BUILD.
BUILD="$W/b" RUN_MAKE="make -f tests/suite/fake.mk MARK=$W/mark" sh tests/run.sh t-pass > "$W/out" 2>&1
if [ -s "$W/b/test-logs/t-pass.log" ]; then pass run_logs_under_build; else fail run_logs_under_build "no $W/b/test-logs/t-pass.log"; fi

t0=$(date +%s)
expect run_time_limit 1 "^FAIL t-slow.time_limit" t-pass t-slow:2
dt=$(( $(date +%s) - t0 ))
sleep 7
if [ -e "$W/mark" ]; then fail run_time_limit_kills "the tier's command outlived its limit"
elif [ $dt -gt 15 ]; then fail run_time_limit_kills "run.sh took $dt s for a 2 s limit"
else pass run_time_limit_kills; fi

# `make test` hands run.sh the unit tiers first, then the fuzz tiers, then the slow emulator tiers in the order
# TEST_SLOW_FIRST lists them (longest first), then the rest; `make unit` runs every unit tier and nothing else.
$MAKE -n --no-print-directory test 2>/dev/null | grep 'tests/run\.sh' | sed 's/--expect "[^"]*"//' | tr ' ' '\n' |
    sed -n 's/^\(test-[a-z0-9-]*\):[0-9]*$/\1/p' > "$W/order"
slow=$($MAKE -s --no-print-directory -f Makefile -f - suite-print-slow 2>/dev/null <<'MK'
suite-print-slow:
	@echo $(foreach t,$(TEST_SLOW_FIRST),$(filter $(t),$(TEST_TIERS)))
MK
)
if awk -v slow="$slow" '
    BEGIN { n = split(slow, s, " "); for (i = 1; i <= n; i++) rank[s[i]] = i }
    { kind = $0 ~ /^test-unit-/ ? 0 : $0 ~ /^test-fuzz-/ ? 1 : ($0 in rank) ? 2 : 3
      if (kind < last) { print "tier " $0 " after a tier of a later group"; bad = 1 }
      if (kind == 2 && rank[$0] < lastrank) { print "slow tier " $0 " after a shorter one"; bad = 1 }
      if (kind == 2) lastrank = rank[$0]
      last = kind; seen[kind]++ }
    END { if (!seen[0] || !seen[1] || !seen[2] || !seen[3]) { print "a group of tiers is missing"; bad = 1 }
          exit bad }' "$W/order" > "$W/out" 2>&1
then pass test_order; echo "    $(wc -l < "$W/order") tiers: $(head -n 1 "$W/order") first, $(tail -n 1 "$W/order") last"
else cat "$W/order" >> "$W/out"; fail test_order "make test does not run unit, fuzz, slow, other tiers in that order"; fi
RUN_MAKE="$MAKE" sh tests/tier-prereqs.sh unit > "$W/unit"
echo "$1" | tr ' ' '\n' | grep '^test-unit-' | sort > "$W/want"
if [ -s "$W/want" ] && cmp -s "$W/unit" "$W/want"; then pass unit_is_every_unit_tier
else diff "$W/want" "$W/unit" > "$W/out"; fail unit_is_every_unit_tier "make unit's prerequisites differ from the unit tiers"; fi

# Every variable expanded where the makefiles are read (prerequisites, := values, $(eval) calls) is set before
# any fragment read later adds to it.
if python3 tests/suite/prereq_order.py > "$W/out" 2>&1; then pass prereq_vars_set_before_use
else fail prereq_vars_set_before_use "a fragment read later changes a variable already expanded"; fi

# No file target has a phony normal prerequisite: it would be rebuilt by every tier that names it, under a tier
# that is reading it (test-smp rewrote shoal-linux.iso while test-linux-vmx's Bochs booted from it).
if $MAKE -pq --no-print-directory 2>/dev/null | python3 tests/suite/phony_prereqs.py > "$W/out" 2>&1
then pass no_phony_file_prereqs; sed 's/^/    /' "$W/out"
else fail no_phony_file_prereqs "a file target is rebuilt on every make run"; fi

# The object list the link records does not depend on how BUILD is spelled: the kernel built under BUILD=build is
# up to date when make names the same directory by its absolute path (make-gdb's test does), or that make relinks
# shoal.elf under the tiers booting it.
if [ -e "$BUILD/kobjs.txt" ]; then
    abs=$(cd "$BUILD" && pwd)
    $MAKE -n --no-print-directory BUILD="$abs" "$abs/kobjs.txt" 2>&1 |
        sed -n "s/^echo '\([^']*\)' | cmp .*/\1/p" > "$W/kobjs"
    if [ ! -s "$W/kobjs" ]; then fail build_dir_spelling "make -n $abs/kobjs.txt printed no object list"
    elif cmp -s "$W/kobjs" "$BUILD/kobjs.txt"; then pass build_dir_spelling
    else cut -c1-200 "$W/kobjs" > "$W/out"; fail build_dir_spelling "BUILD=$abs records another object list than BUILD=$BUILD"; fi
else fail build_dir_spelling "no $BUILD/kobjs.txt: build the kernel first"; fi

# The linker-table check: the kernel linked without blk/delta_boot.c and net/iscsi_cmds.c (only tables name
# what they define) must fail, naming each registration missing. The objects are copied, so only the link runs.
if [ -e "$BUILD/shoal.elf" ]; then
    mkdir -p "$W/k"
    cp -a "$BUILD/k" "$BUILD/guests" "$BUILD/ksyms0.S" "$BUILD/ksyms0.o" "$W/k/"
    if $MAKE --no-print-directory BUILD="$W/k" "$W/k/shoal.elf" > "$W/out" 2>&1; then
        $MAKE --no-print-directory BUILD="$W/k" KSRC_OMIT="blk/delta_boot.c net/iscsi_cmds.c" "$W/k/shoal.elf" \
            > "$W/out" 2>&1
        rc=$?
        missing=""
        for want in "BOOT_PARAM(delta_param)" "INIT_HOOK(delta_boot_init)" "SHELL_COMMAND(cmd_iscsi)"; do
            grep -qF "$want" "$W/out" || missing="$missing $want"
        done
        if [ $rc -eq 0 ]; then fail table_check "the kernel linked without two files and the build passed"
        elif [ -e "$W/k/shoal.elf" ]; then fail table_check "the failed check left $W/k/shoal.elf behind"
        elif [ -n "$missing" ]; then fail table_check "the failure does not name:$missing"
        else pass table_check; grep -c '^    [A-Z_]*(' "$W/out" | sed 's/^/    entries named missing: /'; fi
    else fail table_check "the kernel did not link from copied objects"; fi
else fail table_check "no $BUILD/shoal.elf: build it first"; fi

# Every unit or fuzz binary built from the host shim is rebuilt when the shim changes (its prerequisites
# name the shim: a variable set after the fragment that used it would leave it out).
n=0
: > "$W/out"
for bin in $(RUN_MAKE="$MAKE" sh tests/tier-prereqs.sh $1 | grep -E '/(unit|fuzz)/'); do
    [ -e "$bin" ] || continue
    $MAKE -n -B "$bin" 2>/dev/null | grep -q 'tests/unit/host_shim\.c' || continue
    n=$((n + 1))
    $MAKE -n -W tests/unit/host_shim.c "$bin" 2>/dev/null | grep -q 'host_shim\.c' || echo "$bin" >> "$W/out"
done
if [ "$n" -eq 0 ]; then fail shim_is_a_prerequisite "no built unit or fuzz binary links the host shim"
elif [ -s "$W/out" ]; then fail shim_is_a_prerequisite "not rebuilt when tests/unit/host_shim.c changes"
else pass shim_is_a_prerequisite; echo "    $n binaries link the host shim, each rebuilt when it changes"; fi

# compile_commands.json names every product C file and every unit test file, and its commands compile them.
$MAKE -s --no-print-directory compile_commands.json COMPILE_DB="$W/cc.json" > "$W/out" 2>&1
if python3 - "$W/cc.json" >> "$W/out" 2>&1 <<'PY'
import json, os, subprocess, sys
db = {os.path.relpath(e["file"]): e for e in json.load(open(sys.argv[1]))}
files = subprocess.run(["git", "ls-files", "arch", "boot", "kernel", "drivers", "vmm", "blk", "net", "pool",
                        "tests/unit"], stdout=subprocess.PIPE, text=True).stdout.split()
want = [f for f in files if f.endswith(".c") and not f.startswith("tests/unit/") or
        os.path.basename(f).startswith("test_") and f.endswith(".c")]
missing = [f for f in want if f not in db]
if missing:
    sys.exit("not in compile_commands.json: " + " ".join(missing))
for f in ("kernel/main.c", "vmm/mig/dstpages.c", "tests/unit/test_mig_dst.c"):
    args = [a for a in db[f]["arguments"] if not a.startswith("-M")] + ["-fsyntax-only"]
    p = subprocess.run(args, cwd=db[f]["directory"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if p.returncode:
        sys.exit("%s does not compile with its entry:\n%s" % (f, p.stdout[-800:]))
print("    %d sources, %d of them product or unit test files" % (len(db), len(want)))
PY
then pass compile_commands; tail -n 1 "$W/out"; else fail compile_commands "see above"; fi

# Every compiler command of the unit and fuzz tiers that enables UBSan makes it fatal.
$MAKE -n -B $1 2>&1 | sed -e ':a' -e '/\\$/N; s/\\\n//; ta' > "$W/cmds"
grep -E -- '-fsanitize=[a-z,]*undefined' "$W/cmds" | grep -v -- '-fno-sanitize-recover=all' > "$W/out"
n=$(grep -c -E -- '-fsanitize=[a-z,]*undefined' "$W/cmds")
if [ "$n" -eq 0 ]; then fail ubsan_fatal_everywhere "no sanitized build command among: $1"
elif [ -s "$W/out" ]; then fail ubsan_fatal_everywhere "UBSan recovers in these build commands"
else pass ubsan_fatal_everywhere; echo "    $n sanitized build commands, all with -fno-sanitize-recover=all"; fi
exit $failed
