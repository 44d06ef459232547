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
B=${B:-build}
case $B in
/*) ;;
*) B=$root/$B ;;
esac

if ! command -v go >/dev/null 2>&1; then
    if [ -x /usr/local/go/bin/go ]; then
        PATH=/usr/local/go/bin:$PATH
    else
        echo "bench go-vs-franz: not run: no go command (Go 1.26 or newer)"
        exit 1
    fi
fi
if [ ! -e "$B/lib/libsamsa.so" ]; then
    echo "bench go-vs-franz: not run: $B/lib/libsamsa.so is missing (run make first)"
    exit 1
fi

cache=${SAMSA_CACHE:-$HOME/.cache/samsa}/go
export GOMODCACHE="$cache/mod" GOCACHE="$cache/build" GOFLAGS=-mod=readonly CGO_ENABLED=1
export CGO_LDFLAGS="-L$B/lib -Wl,-rpath,$B/lib"
export SAMSA_LOG_LEVEL=${SAMSA_LOG_LEVEL:-4}

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
