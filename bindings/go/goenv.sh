# goenv.sh: sourced by tests/scripts/bindings-go.sh and
# tests/bench/go-vs-franz.sh with $what (their name for messages) and $root
# (the repository root) set. Makes B absolute, finds go (PATH or
# /usr/local/go/bin), checks that $B/lib holds the library, and exports the
# Go environment: module and build caches under
# ${SAMSA_CACHE:-$HOME/.cache/samsa}/go (go.sum pins the modules), the
# build directory's library first on the link line with an rpath, and
# warnings only from libsamsa's log.
B=${B:-build}
case $B in
/*) ;;
*) B=$root/$B ;;
esac
if ! command -v go >/dev/null 2>&1; then
    if [ -x /usr/local/go/bin/go ]; then
        PATH=/usr/local/go/bin:$PATH
    else
        echo "$what: FAILED: no go command (Go 1.26 or newer, on PATH or in /usr/local/go/bin)"
        exit 1
    fi
fi
if [ ! -e "$B/lib/libsamsa.so" ]; then
    echo "$what: FAILED: $B/lib/libsamsa.so is missing (run make first)"
    exit 1
fi
if ldd "$B/lib/libsamsa.so" 2>/dev/null | grep -q 'libasan\|libubsan'; then
    echo "$what: FAILED: $B/lib/libsamsa.so is a sanitizer build, which Go programs cannot load; use B=build"
    exit 1
fi
cache=${SAMSA_CACHE:-$HOME/.cache/samsa}/go
export GOMODCACHE="$cache/mod" GOCACHE="$cache/build" GOFLAGS=-mod=readonly CGO_ENABLED=1
export CGO_LDFLAGS="-L$B/lib -Wl,-rpath,$B/lib"
export SAMSA_LOG_LEVEL=${SAMSA_LOG_LEVEL:-4}
