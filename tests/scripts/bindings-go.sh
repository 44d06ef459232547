#!/bin/sh
# bindings-go.sh: builds the Go binding (bindings/go) against the build
# tree's library ($B/lib), runs go vet, and runs its tests under the race
# detector: produce/consume, consumer groups, commit/seek, admin, errors,
# cancellation, and franz-go 1.22.3 reading and writing through samsa's
# embedded broker. Modules are downloaded once into
# ${SAMSA_CACHE:-$HOME/.cache/samsa}/go (go.sum pins them).
#   SAMSA_GO_TEST_TIMEOUT   limit of the test run in seconds (default 600)
root=$(cd "$(dirname "$0")/../.." && pwd)
what="bindings-go"
. "$root/bindings/go/goenv.sh"

cd "$root/bindings/go" || exit 1
echo "bindings-go: $(go version), library $B/lib"
go vet ./... || { echo "bindings-go: FAILED: go vet"; exit 1; }
limit=${SAMSA_GO_TEST_TIMEOUT:-600}
timeout --kill-after=10 "$limit" go test -race -count=1 -timeout "$((limit - 10))s" ./...
status=$?
if [ "$status" -ne 0 ]; then
    [ "$status" -eq 124 ] && echo "bindings-go: FAILED: tests took longer than $limit s"
    echo "bindings-go: FAILED"
    exit 1
fi
# The installed-library variant (-tags samsa_pkgconfig): samsa.pc pointed at
# this tree, no CGO_LDFLAGS; the test binary links and runs a test.
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT INT TERM
sed -e "s|^libdir=.*|libdir=$B/lib|" -e "s|^includedir=.*|includedir=$root/include|" \
    "$B/samsa.pc" >"$tmp/samsa.pc" || exit 1
if ! PKG_CONFIG_PATH="$tmp" CGO_LDFLAGS= go test -tags samsa_pkgconfig -c -o "$tmp/pc.test" . ||
    ! LD_LIBRARY_PATH="$B/lib" "$tmp/pc.test" -test.run '^TestErrorCodeNames$' >/dev/null; then
    echo "bindings-go: FAILED: the samsa_pkgconfig build"
    exit 1
fi
echo "bindings-go: passed"
