#!/bin/sh
# cli-produce.sh: `samsa produce` against `samsa broker`, read back with
# kcat: keys before the delimiter, headers on every message, each codec,
# empty and key-less lines, a large input; a failed delivery is a "% "
# line and exit 1; usage errors name the flag (exit 2); --help works.
set -eu
B=${B:-build}
BIN="$B/bin/samsa"
[ -x "$BIN" ] || { echo "missing $BIN"; exit 1; }
dir=$(mktemp -d)
. tests/scripts/broker-daemon.inc
need_kcat

# --help, and usage errors that name the flag (before any broker is needed)
expect 0 '^Usage: samsa produce -b HOST:PORT -t TOPIC' -- "$BIN" produce --help
expect 0 '^  produce -b HOST:PORT -t TOPIC' -- "$BIN" --help
expect 2 '^% samsa produce: unknown option --frob$' -- "$BIN" produce -b x:1 -t t --frob
expect 2 '^% samsa produce: unknown option -q$' -- "$BIN" produce -b x:1 -t t -q
expect 2 '^% samsa produce: -t needs TOPIC$' -- "$BIN" produce -b x:1 -t
expect 2 '^% samsa produce: -t TOPIC is required$' -- "$BIN" produce -b x:1
expect 2 '^% samsa produce: -b HOST:PORT is required' -- "$BIN" produce -t t
expect 2 '^% samsa produce: -p: "abc" is not an integer' -- "$BIN" produce -b x:1 -t t -p abc
expect 2 '^% samsa produce: --partition: "-2" is not an integer' -- "$BIN" produce -b x:1 -t t --partition=-2
expect 2 '^% samsa produce: -z: "brotli" is not one of none, gzip, snappy, lz4, zstd$' -- \
    "$BIN" produce -b x:1 -t t -z brotli
expect 2 '^% samsa produce: -X "acks" is not key=value$' -- "$BIN" produce -b x:1 -t t -X acks
expect 2 '^% samsa produce: -H "=v" has no name$' -- "$BIN" produce -b x:1 -t t -H =v
expect 2 '^% samsa produce: -k: the key delimiter is empty$' -- "$BIN" produce -b x:1 -t t -k ''
expect 2 '^% samsa produce: unexpected argument extra' -- "$BIN" produce -b x:1 -t t extra
expect 2 '^% try: samsa produce --help$' -- "$BIN" produce -b x:1 -t t --frob
expect 1 '^% samsa produce: producer configuration: no.such.property' -- \
    "$BIN" produce -b x:1 -t t -X no.such.property=1
expect 1 "^% samsa produce: -F $dir/missing.properties: cannot read" -- \
    "$BIN" produce -b x:1 -t t -F "$dir/missing.properties"

start_broker

# Every codec: keys before the first delimiter, headers, a line without the
# delimiter (null key), an empty key, an empty value, an empty line.
for codec in none gzip snappy lz4 zstd; do
    topic="produce-$codec"
    printf 'k1:%s one\nk2:%s two:still the value\nno delimiter\n:empty key\nk5:\n\nlast without newline' \
        "$codec" "$codec" | timeout 60 "$BIN" produce -b "$bootstrap" -t "$topic" -k : -z "$codec" \
        -H h1=v1 -H "codec=$codec" -H nul
    timeout 60 kcat -b "$bootstrap" -t "$topic" -C -e -q -f '%k|%s|%h\n' > "$dir/got-$codec"
    h="h1=v1,codec=$codec,nul=NULL"
    {
        echo "k1|$codec one|$h"
        echo "k2|$codec two:still the value|$h"
        echo "|no delimiter|$h"
        echo "|empty key|$h"
        echo "k5||$h"
        echo "||$h"
        echo "|last without newline|$h"
    } > "$dir/want-$codec"
    cmp -s "$dir/want-$codec" "$dir/got-$codec" ||
        { echo "codec $codec: consumed messages differ"; diff "$dir/want-$codec" "$dir/got-$codec"; exit 1; }
    echo "codec $codec: round-trips"
done

# A delimiter of several bytes, an explicit partition, properties from -F
# with -X after it, and long options.
printf 'compression.type=gzip\nlinger.ms=1000\n' > "$dir/producer.properties"
printf 'a::1\nb::2::x\n' | timeout 60 "$BIN" produce --bootstrap-server="$bootstrap" --topic multi \
    --key-delimiter :: --partition 0 -F "$dir/producer.properties" -X linger.ms=0 \
    --header=h=1
timeout 60 kcat -b "$bootstrap" -t multi -C -e -q -f '%p|%k|%s|%h\n' > "$dir/got-multi"
printf '0|a|1|h=1\n0|b|2::x|h=1\n' > "$dir/want-multi"
cmp -s "$dir/want-multi" "$dir/got-multi" ||
    { echo "multi-byte delimiter: messages differ"; diff "$dir/want-multi" "$dir/got-multi"; exit 1; }
echo "-k ::, -p 0, -F then -X: ok"

# An unknown partition: each message fails with a "% " line, exit 1, and
# nothing on stdout.
status=0
printf 'x\ny\n' | timeout 60 "$BIN" produce -b "$bootstrap" -t multi -p 99 \
    > "$dir/fail.out" 2> "$dir/fail.err" || status=$?
[ "$status" = 1 ] || { echo "-p 99: exit $status, expected 1"; cat "$dir/fail.err"; exit 1; }
[ ! -s "$dir/fail.out" ] || { echo "-p 99: output on stdout:"; cat "$dir/fail.out"; exit 1; }
n=$(grep -c '^% samsa produce: delivery failed: UNKNOWN_TOPIC_OR_PARTITION: .*\[99\]' "$dir/fail.err" || true)
[ "$n" = 2 ] || { echo "-p 99: $n failure lines, expected 2:"; cat "$dir/fail.err"; exit 1; }
grep -q '^% samsa produce: 2 of 2 messages not delivered$' "$dir/fail.err" ||
    { echo "-p 99: no summary:"; cat "$dir/fail.err"; exit 1; }
echo "-p 99: every failure reported, exit 1"

# A large input arrives whole and in order.
seq 1 200000 | sed 's/^/key-&|value &/' > "$dir/big"
timeout 120 "$BIN" produce -b "$bootstrap" -t big -k '|' -z lz4 < "$dir/big"
timeout 120 kcat -b "$bootstrap" -t big -C -e -q -f '%k|%s\n' > "$dir/got-big"
cmp -s "$dir/big" "$dir/got-big" || { echo "200000 lines: what was consumed differs"; exit 1; }
echo "200000 lines: all delivered in order"

# An empty input sends nothing and succeeds.
timeout 60 "$BIN" produce -b "$bootstrap" -t empty < /dev/null
echo "samsa produce: ok"
