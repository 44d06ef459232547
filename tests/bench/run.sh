#!/bin/sh
# run.sh: runs every benchmark `make bench` built; each prints its own
# comparison lines (see bench.h). Script benchmarks (tests/bench/*.sh) run after.
B=${B:-build}
export B
status=0
for b in "$B"/tests/bench/bench_*; do
    [ -x "$b" ] || continue
    echo "== $(basename "$b")"
    "$b" || status=1
done
for s in tests/bench/*.sh; do
    [ "$(basename "$s")" = run.sh ] && continue
    [ -f "$s" ] || continue
    echo "== $(basename "$s" .sh)"
    sh "$s" || status=1
done
exit $status
