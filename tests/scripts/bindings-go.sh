#!/bin/sh
# bindings-go.sh: builds the Go binding (bindings/go) against the build
# tree's library ($B/lib), runs go vet, and runs its tests under the race
# detector: produce/consume, consumer groups, commit/seek, admin, errors,
# cancellation, and franz-go 1.22.3 reading and writing through samsa's
# embedded broker. Modules are downloaded once into
# ${SAMSA_CACHE:-$HOME/.cache/samsa}/go (go.sum pins them).
#   SAMSA_GO_TEST_TIMEOUT   limit of the test run in seconds (default 600)
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
        echo "bindings-go: FAILED: no go command (Go 1.26 or newer, on PATH or in /usr/local/go/bin)"
        exit 1
    fi
fi
if [ ! -e "$B/lib/libsamsa.so" ]; then
    echo "bindings-go: FAILED: $B/lib/libsamsa.so is missing (run make first)"
    exit 1
fi
if ldd "$B/lib/libsamsa.so" 2>/dev/null | grep -q 'libasan\|libubsan'; then
    echo "bindings-go: FAILED: $B/lib/libsamsa.so is a sanitizer build, which Go programs cannot load; use B=build"
    exit 1
fi

cache=${SAMSA_CACHE:-$HOME/.cache/samsa}/go
export GOMODCACHE="$cache/mod" GOCACHE="$cache/build" GOFLAGS=-mod=readonly CGO_ENABLED=1
# The build directory's library first (the package's own directives name
# build/lib), with an rpath so the test binary finds it.
export CGO_LDFLAGS="-L$B/lib -Wl,-rpath,$B/lib"
# Only warnings from the embedded broker and the clients.
export SAMSA_LOG_LEVEL=${SAMSA_LOG_LEVEL:-4}

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
