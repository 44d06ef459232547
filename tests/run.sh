#!/bin/sh
# run.sh: runs every test that `make test` built and prints one summary line.
#
# Check suites report "Checks: N, Failures: F, Errors: E"; their counts are
# added up. A test script (tests/scripts/*.sh) counts as one test.
# The last line is "tests: N passed, N failed".
# TEST_SKIP holds shell patterns of test names not to run this time (the
# sanitizer and clang runs of CI skip the long interop scripts that the
# first run covers); skipped tests are listed, not counted.
B=${B:-build}
export B
export CK_DEFAULT_TIMEOUT=${CK_DEFAULT_TIMEOUT:-120}
export SAMSA_LOG_LEVEL=${SAMSA_LOG_LEVEL:-4}
passed=0
failed=0
failures=""
log_dir=$B/test-logs
mkdir -p "$log_dir"

count_check_output() { # $1: name, $2: exit status, $3: log file
    line=$(grep -E '^[0-9]+%: Checks: ' "$3" | tail -n 1)
    if [ -n "$line" ]; then
        checks=$(echo "$line" | sed -E 's/.*Checks: ([0-9]+).*/\1/')
        fails=$(echo "$line" | sed -E 's/.*Failures: ([0-9]+).*/\1/')
        errs=$(echo "$line" | sed -E 's/.*Errors: ([0-9]+).*/\1/')
        bad=$((fails + errs))
        passed=$((passed + checks - bad))
        failed=$((failed + bad))
        [ "$bad" -gt 0 ] && failures="$failures $1"
        [ "$bad" -eq 0 ] && [ "$2" -ne 0 ] && { failed=$((failed + 1)); failures="$failures $1(exit $2)"; }
    else
        failed=$((failed + 1))
        failures="$failures $1(no summary, exit $2)"
    fi
}

# Only binaries whose source is in the tree: a stale one left in the build
# directory by another checkout does not count.
for src in tests/unit/test_*.c tests/integration/test_*.c; do
    [ -f "$src" ] || continue
    name=$(basename "$src" .c)
    t="$B/$(dirname "$src")/$name"
    if [ ! -x "$t" ]; then
        failed=$((failed + 1))
        failures="$failures $name(not built)"
        continue
    fi
    log="$log_dir/$name.log"
    start=$(date +%s)
    "$t" > "$log" 2>&1
    status=$?
    grep -E '^[0-9]+%: Checks: |:[EF]:' "$log" | sed "s/^/$name: /;s/\$/ ($(($(date +%s) - start)) s)/"
    count_check_output "$name" "$status" "$log"
done

skipped() { # $1: test name
    for pattern in $TEST_SKIP; do
        # shellcheck disable=SC2254
        case $1 in $pattern) echo "$1: skipped (TEST_SKIP)"; return 0 ;; esac
    done
    return 1
}

for s in tests/scripts/*.sh; do
    [ -f "$s" ] || continue
    name=$(basename "$s" .sh)
    skipped "$name" && continue
    log="$log_dir/$name.log"
    start=$(date +%s)
    if sh "$s" > "$log" 2>&1; then
        passed=$((passed + 1))
        echo "$name: passed ($(($(date +%s) - start)) s)"
    else
        failed=$((failed + 1))
        failures="$failures $name"
        echo "$name: FAILED ($(($(date +%s) - start)) s)"
        tail -n 20 "$log" | sed "s/^/  /"
    fi
done

[ -n "$failures" ] && echo "failed:$failures (logs in $log_dir)"
echo "tests: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
