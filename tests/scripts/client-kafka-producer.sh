#!/bin/sh
# samsa's producer against a real Apache Kafka 4.4 broker (single KRaft node
# on loopback, topics auto-created with 4 partitions): for each codec, with
# idempotence on and off and with acks 0, 1 and all, build/tests/tools/
# client_produce sends numbered messages with keys, headers and timestamps,
# and kcat reads them back. Every message must be there exactly once, in
# order within its partition, on the partition the Java client's default
# partitioner picks (murmur2, written again below in Python from Java's
# definition and checked against hashes the Java client computes), with its
# timestamp and headers; the delivery reports must name the same offsets.
set -e
B=${B:-build}
here=$(pwd)
tmp=$(mktemp -d)
kdir="$tmp/kafka"
cleanup() {
    tests/interop/kafka/kafka.sh stop "$kdir" >/dev/null 2>&1 || true
    rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

command -v kcat >/dev/null || { echo "kcat not installed (apt-get install kcat)"; exit 1; }
KAFKA_LIBS=$(tests/interop/kafka/fetch.sh)
export KAFKA_LIBS
KAFKA_MAX_SECONDS=300 KAFKA_EXTRA_PROPS="num.partitions=4" \
    timeout 120 tests/interop/kafka/kafka.sh start "$kdir" >"$tmp/start.log" 2>&1 ||
    { cat "$tmp/start.log"; exit 1; }
bootstrap=$(cat "$kdir/bootstrap")
N=300

run() { # name, then client_produce options
    name=$1
    shift
    topic="samsa-$name"
    if ! timeout 60 "$here/$B/tests/tools/client_produce" -b "$bootstrap" -t "$topic" -n $N \
        -X delivery.timeout.ms=40000 -X linger.ms=2 -X batch.size=4096 "$@" \
        >"$tmp/$name.reports" 2>"$tmp/$name.err"; then
        echo "$name: client_produce failed"
        tail -n 20 "$tmp/$name.err"
        exit 1
    fi
    tries=0
    while :; do
        timeout 30 kcat -C -b "$bootstrap" -t "$topic" -e -q \
            -f '%p %o %k %s %T %h\n' >"$tmp/$name.kcat" 2>"$tmp/$name.kcat.err" || true
        [ "$(wc -l <"$tmp/$name.kcat")" -ge $N ] && break
        tries=$((tries + 1))
        [ $tries -ge 10 ] && break
        sleep 1
    done
    python3 - "$tmp/$name.kcat" "$tmp/$name.reports" $N "$name" "$@" <<'PY'
import sys

def murmur2(data):
    """org.apache.kafka.common.utils.Utils.murmur2, as an unsigned int."""
    m, r = 0x5BD1E995, 24
    h = (0x9747B28C ^ len(data)) & 0xFFFFFFFF
    n4 = len(data) // 4
    for i in range(n4):
        k = int.from_bytes(data[4 * i:4 * i + 4], "little")
        k = (k * m) & 0xFFFFFFFF
        k ^= k >> r
        k = (k * m) & 0xFFFFFFFF
        h = (h * m) & 0xFFFFFFFF
        h ^= k
    rest = data[4 * n4:]
    if len(rest) >= 3:
        h ^= rest[2] << 16
    if len(rest) >= 2:
        h ^= rest[1] << 8
    if len(rest) >= 1:
        h ^= rest[0]
        h = (h * m) & 0xFFFFFFFF
    h ^= h >> 13
    h = (h * m) & 0xFFFFFFFF
    h ^= h >> 15
    return h

# hashes Java's Utils.murmur2 gives (read as unsigned)
assert murmur2(b"kafka") == 0xD067CF64
assert murmur2(b"21") == 0xC5F2F8EC
assert murmur2(b"a-little-bit-longer-string") == 0xA768C9C3

kcat_file, reports_file, n, name = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
opts = sys.argv[5:]
keyless = "-K" in opts and opts[opts.index("-K") + 1] == "0"
acks0 = "acks=0" in opts
parts = 4
seen = {}
last = {}
for line in open(kcat_file):
    p, o, k, v, ts, h = line.rstrip("\n").split(" ")
    if v == "warm-up":
        continue
    p, o, i = int(p), int(o), int(v[1:])
    assert i not in seen, "%s: v%d twice" % (name, i)
    seen[i] = (p, o)
    if not keyless:
        assert k == "k%d" % (i % 16), (name, line)
        want = (murmur2(k.encode()) & 0x7FFFFFFF) % parts
        assert p == want, "%s: key %s on partition %d, Java picks %d" % (name, k, p, want)
    assert int(ts) == 1700000000000 + i, (name, line)
    assert h == "seq=%d,nul=NULL" % i, (name, line)
    assert last.get(p, -1) < i, "%s: v%d after v%d on partition %d" % (name, i, last[p], p)
    last[p] = i
assert sorted(seen) == list(range(n)), "%s: %d of %d messages arrived" % (name, len(seen), n)
reports = {}
for line in open(reports_file):
    p, o, k, v, ts, err = line.split()
    assert err == "NONE", (name, line)
    reports[int(v[1:])] = (int(p), int(o))
assert len(reports) == n, (name, len(reports))
for i, (p, o) in reports.items():
    assert p == seen[i][0], (name, i, p, seen[i])
    assert o == (-1 if acks0 else seen[i][1]), (name, i, o, seen[i])
if keyless:
    assert len(set(p for p, o in seen.values())) > 1, "%s: sticky partitioning never moved" % name
print("%s: %d messages, %d partitions, order and partitions as Java" % (name, n, len(last)))
PY
}

for codec in none gzip snappy lz4 zstd; do
    run "idem-$codec" -X compression.type=$codec
done
run "acks1-noidem" -X acks=1 -X enable.idempotence=false -X compression.type=lz4
# acks=0 learns of no error: a topic still being created would lose messages,
# so this one is created (by one acknowledged message) first.
echo warm-up | timeout 30 kcat -P -b "$bootstrap" -t samsa-acks0 -p 0 -k w -H seq=0 -X acks=all
run "acks0" -X acks=0 -X enable.idempotence=false
run "acksall-noidem" -X acks=all -X enable.idempotence=false -X compression.type=zstd
# Keyless messages stay on a partition until their records fill batch.size
# (KIP-794); 300 small ones fill 16 KiB less than once, so a smaller batch
# makes the partitioner move several times.
run "keyless" -K 0 -X compression.type=snappy -X batch.size=1000
run "lent" -L -X max.in.flight.requests.per.connection=1
echo "client-kafka-producer: all runs passed"
