#!/bin/sh
# The shared library exports samsa_* symbols and nothing else.
set -e
B=${B:-build}
lib="$B/lib/libsamsa.so"
[ -f "$lib" ] || { echo "missing $lib"; exit 1; }
soname=$(objdump -p "$lib" | awk '/SONAME/ {print $2}')
major=$(sed -n 's/^#define SAMSA_VERSION_MAJOR *//p' include/samsa.h)
[ "$soname" = "libsamsa.so.$major" ] || { echo "soname is '$soname', expected libsamsa.so.$major"; exit 1; }
exported=$(nm -D --defined-only "$lib" | awk '$2 ~ /[TDBRVW]/ {print $3}')
[ -n "$exported" ] || { echo "no exported symbols"; exit 1; }
bad=$(echo "$exported" | grep -v '^samsa_' || true)
if [ -n "$bad" ]; then
    echo "symbols exported without the samsa_ prefix:"
    echo "$bad"
    exit 1
fi
echo "$(echo "$exported" | wc -l) symbols, all samsa_*"
