#!/bin/sh
# run.sh NAME...: runs each libFuzzer target built in $B for FUZZ_SECONDS
# seconds, seeded with the captured frames and batches in tests/data that
# fit it. Fails when a target crashes, leaks or trips a sanitizer.
set -e
B=${B:-build/fuzz}
FUZZ_SECONDS=${FUZZ_SECONDS:-60}
for name in "$@"; do
    work="$B/corpus-$name"
    mkdir -p "$work"
    case $name in
    fuzz_request) cp tests/data/golden/*/*-request.bin "$work"/ 2>/dev/null || true ;;
    fuzz_batch) cp tests/data/batches/*.bin "$work"/ 2>/dev/null || true ;;
    fuzz_sasl) # a PLAIN message, and SCRAM client-first 0xff client-final
        printf '\000\000alice\000secret' > "$work/seed-plain"
        printf '\001n,,n=alice,r=abc\377c=biws,r=abcfuzzserver,p=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=' \
            > "$work/seed-scram" ;;
    esac
    echo "== fuzzing $name for ${FUZZ_SECONDS}s"
    if ! "$B/$name" -max_total_time="$FUZZ_SECONDS" -rss_limit_mb=2048 -max_len=65536 \
        -artifact_prefix="$B/$name-" -print_final_stats=1 "$work" > "$B/$name.log" 2>&1; then
        tail -n 40 "$B/$name.log"
        echo "fuzz $name: FAILED (crash input saved under $B/$name-*)"
        exit 1
    fi
    grep -E "stat::number_of_executed_units|Done" "$B/$name.log" | tail -n 2
    echo "fuzz $name: passed"
done
