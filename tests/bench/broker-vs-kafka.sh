#!/bin/sh
# broker-vs-kafka.sh: the broker benchmark, samsa's broker against Apache
# Kafka 4.x on this machine in the same run (see tests/bench/bench_broker.c
# for what is measured and printed).  This script prepares the run: Debian's
# librdkafka (installed with apt-get when missing and we are root), the Kafka
# jars (tests/interop/kafka/fetch.sh), a temporary directory under $B, and
# traps that stop both brokers and remove the directory whatever happens.
# Run from the repository root, as `make bench` does.
#   SAMSA_BENCH_MESSAGES     messages per topic (default 10000000)
#   SAMSA_BENCH_TIMEOUT      hard limit of the whole run in seconds (default 1800)
B=${B:-build}
kafka_sh=tests/interop/kafka/kafka.sh

if [ ! -x "$B/tests/bench/bench_broker" ] || [ ! -x "$B/bin/samsa" ]; then
    echo "bench broker: not run: build $B/tests/bench/bench_broker and $B/bin/samsa first (make bench)"
    exit 1
fi

if ! ldconfig -p 2>/dev/null | grep -q 'librdkafka\.so\.1 '; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        echo "% broker-vs-kafka: installing librdkafka1" >&2
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q librdkafka1 >&2 ||
            { apt-get update -q >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q librdkafka1 >&2; }
    fi
fi

no_kafka=
if ! libs=$(tests/interop/kafka/fetch.sh); then
    no_kafka="tests/interop/kafka/fetch.sh failed (no Java or no Kafka jars)"
    libs=
fi

mkdir -p "$B" || exit 1
dir=$(mktemp -d "$(cd "$B" && pwd)/bench-broker.XXXXXX") || exit 1
driver=

cleanup() {
    if [ -n "$driver" ]; then
        kill -TERM "$driver" 2>/dev/null
        wait "$driver" 2>/dev/null
    fi
    # samsa's broker dies with the driver (parent-death signal); Kafka is
    # stopped by kafka.sh, which falls back to KILL after a grace period.
    if [ -d "$dir/kafka" ]; then
        bash "$kafka_sh" stop "$dir/kafka" 2>/dev/null
    fi
    rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# kafka.sh's test settings put back to Kafka's defaults where they differ
# in what this measures: the heap of kafka-server-start.sh and 1 GiB log
# segments (a later line of server.properties wins).
KAFKA_HEAP_OPTS=${KAFKA_HEAP_OPTS:--Xmx1G -Xms1G}
KAFKA_EXTRA_PROPS=log.segment.bytes=1073741824
export KAFKA_HEAP_OPTS KAFKA_EXTRA_PROPS
[ -n "$no_kafka" ] || echo "bench broker: kafka from $libs, KRaft single node on loopback, heap $KAFKA_HEAP_OPTS, log.segment.bytes=1073741824, other settings default"

SAMSA_BENCH_BROKER_DIR=$dir KAFKA_SH=$kafka_sh KAFKA_LIBS=$libs \
    SAMSA_BENCH_NO_KAFKA=$no_kafka SAMSA_BIN=$B/bin/samsa \
    KAFKA_MAX_SECONDS=${SAMSA_BENCH_TIMEOUT:-1800} \
    timeout --kill-after=10 "${SAMSA_BENCH_TIMEOUT:-1800}" "$B/tests/bench/bench_broker" &
driver=$!
wait "$driver"
status=$?
driver=
if [ "$status" = 124 ]; then
    echo "bench broker: FAILED: the run took longer than ${SAMSA_BENCH_TIMEOUT:-1800} s and was stopped"
fi
exit "$status"
