#!/bin/sh
# broker-kcat.sh: kcat (librdkafka) against `samsa broker`: produce records
# with keys and headers under every codec, consume them back with -e and
# compare exactly; then SIGTERM must stop the broker cleanly (exit 0,
# clean-shutdown markers written) and a restart must serve the same data.
set -eu
B=${B:-build}
BIN="$B/bin/samsa"
[ -x "$BIN" ] || { echo "missing $BIN"; exit 1; }
if ! command -v kcat >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ]; then
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q kcat >/dev/null
    else
        echo "kcat is missing: apt-get install kcat (as root)"
        exit 1
    fi
fi

dir=$(mktemp -d)
pid=""
cleanup() {
    [ -n "$pid" ] && kill "$pid" 2>/dev/null || true
    rm -rf "$dir"
}
trap cleanup EXIT INT TERM

start_broker() {
    : > "$dir/broker.log"
    SAMSA_LOG_LEVEL=6 timeout 120 "$BIN" broker --override "log.dirs=$dir/data" \
        --override listeners=PLAINTEXT://127.0.0.1:0 2> "$dir/broker.log" &
    pid=$!
    i=0
    while ! grep -q 'listening on PLAINTEXT://' "$dir/broker.log"; do
        i=$((i + 1))
        [ $i -lt 100 ] || { echo "broker did not start:"; cat "$dir/broker.log"; exit 1; }
        kill -0 "$pid" 2>/dev/null || { echo "broker exited:"; cat "$dir/broker.log"; exit 1; }
        sleep 0.1
    done
    bootstrap=$(sed -n 's/.*bootstrap.servers=\([0-9.:]*\).*/\1/p' "$dir/broker.log" | head -n 1)
    echo "broker at $bootstrap"
}

stop_broker() {
    kill -TERM "$pid"
    status=0
    wait "$pid" || status=$?
    pid=""
    [ "$status" = 0 ] || { echo "broker exited with $status:"; cat "$dir/broker.log"; exit 1; }
}

start_broker

expected="$dir/expected"
: > "$expected"
for codec in none gzip snappy lz4 zstd; do
    topic="kcat-$codec"
    printf 'k1:%s one\nk2:%s two\n:%s no key\nk4:\n' "$codec" "$codec" "$codec" > "$dir/in"
    timeout 60 kcat -b "$bootstrap" -t "$topic" -P -K: -z "$codec" -H "h1=v1" -H "codec=$codec" \
        -l "$dir/in"
    timeout 60 kcat -b "$bootstrap" -t "$topic" -C -e -q \
        -f '%t|%p|%o|%k|%s|%h\n' > "$dir/out-$codec"
    printf '%s|0|0|k1|%s one|h1=v1,codec=%s\n' "$topic" "$codec" "$codec" > "$dir/want-$codec"
    printf '%s|0|1|k2|%s two|h1=v1,codec=%s\n' "$topic" "$codec" "$codec" >> "$dir/want-$codec"
    printf '%s|0|2||%s no key|h1=v1,codec=%s\n' "$topic" "$codec" "$codec" >> "$dir/want-$codec"
    printf '%s|0|3|k4||h1=v1,codec=%s\n' "$topic" "$codec" >> "$dir/want-$codec"
    if ! cmp -s "$dir/want-$codec" "$dir/out-$codec"; then
        echo "codec $codec: consumed records differ"
        diff "$dir/want-$codec" "$dir/out-$codec" || true
        exit 1
    fi
    cat "$dir/want-$codec" >> "$expected"
done
echo "produce and consume: every codec round-trips"

# Offsets by time and the end offset, through librdkafka's ListOffsets
end=$(timeout 60 kcat -b "$bootstrap" -Q -t "kcat-none:0:-1" | sed -n 's/.*offset \([0-9-]*\).*/\1/p')
[ "$end" = 4 ] || { echo "end offset of kcat-none is '$end', expected 4"; exit 1; }

stop_broker
for d in "$dir"/data/kcat-*-0; do
    [ -f "$d/clean-shutdown" ] || { echo "no clean-shutdown marker in $d"; exit 1; }
done
echo "SIGTERM: exit 0, clean-shutdown markers written"

start_broker
: > "$dir/again"
for codec in none gzip snappy lz4 zstd; do
    timeout 60 kcat -b "$bootstrap" -t "kcat-$codec" -C -e -q -f '%t|%p|%o|%k|%s|%h\n' >> "$dir/again"
done
cmp -s "$expected" "$dir/again" || { echo "after a restart the records differ"; diff "$expected" "$dir/again"; exit 1; }
echo "restart: the same records"
stop_broker
