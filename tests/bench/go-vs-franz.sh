#!/bin/sh
# go-vs-franz.sh: the Go binding against franz-go 1.22.3, both producing and
# consuming N 100-byte messages through the same samsa broker (embedded in
# the benchmark program, bindings/go/internal/gobench, with the build tree's
# library) in the same run. Prints
#   bench go-produce: samsa X msg/s | ref Y msg/s | ratio R
#   bench go-consume: samsa X msg/s | ref Y msg/s | ratio R
# Run from the repository root with B=build dir.
#   SAMSA_BENCH_MESSAGES   messages per client and direction (default 1000000)
#   SAMSA_BENCH_TIMEOUT    hard limit of the run in seconds (default 900)
root=$(cd "$(dirname "$0")/../.." && pwd)
what="bench go-vs-franz"
. "$root/bindings/go/goenv.sh"

tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT INT TERM
(cd "$root/bindings/go" && go build -o "$tmp/gobench" ./internal/gobench) || {
    echo "bench go-vs-franz: FAILED: cannot build the benchmark program"
    exit 1
}
limit=${SAMSA_BENCH_TIMEOUT:-900}
TMPDIR=$tmp timeout --kill-after=10 "$limit" "$tmp/gobench" -n "${SAMSA_BENCH_MESSAGES:-1000000}"
status=$?
[ "$status" -eq 124 ] && echo "bench go-vs-franz: FAILED: the run took longer than $limit s and was stopped"
exit "$status"
