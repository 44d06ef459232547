#!/bin/sh
# The examples build outside the library (public header only) and work:
# examples/producer sends stdin's lines to `samsa broker`, and kcat reads
# exactly those lines back.
set -eu
B=${B:-build}
dir=$(mktemp -d)
cleanup() {
    TARGET=samsa bash tests/interop/broker.sh stop "$dir" >/dev/null 2>&1 || true
    rm -rf "$dir"
}
trap cleanup EXIT INT TERM
TARGET=samsa bash tests/interop/broker.sh start "$dir" >/dev/null
bootstrap=$(cat "$dir/bootstrap")

printf 'first\nsecond line\n\nfourth\n' > "$dir/in"
timeout 60 "$B/examples/producer" "$bootstrap" examples-topic < "$dir/in"
timeout 60 kcat -C -b "$bootstrap" -t examples-topic -o beginning -e -q -f '%s\n' > "$dir/out"
diff "$dir/in" "$dir/out"

# a broker that is not there: the example reports the failure and exits non-zero
if echo lost | timeout 60 "$B/examples/producer" 127.0.0.1:1 t -X 2> "$dir/err"; then
    echo "producer succeeded without a broker"
    exit 1
fi
echo "producer example delivered 4 messages, read back by kcat"
