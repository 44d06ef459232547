#!/bin/sh
# samsa's consumer against a real Apache Kafka 4.4 broker (single KRaft node
# on loopback): build/tests/integration/test_consumer, pointed at it with
# SAMSA_TEST_KAFKA_BOOTSTRAP, creates topics, produces with samsa's
# producer and consumes in a group: every message with its key, header and
# timestamp; manual assignment with seeks to an offset, the beginning, a
# timestamp and the end; two consumers of one group split six partitions and
# a third joining triggers a rebalance (range, then cooperative-sticky) with
# no message delivered twice past committed offsets. Kafka is always stopped.
set -e
B=${B:-build}
tmp=$(mktemp -d)
kdir="$tmp/kafka"
cleanup() {
    tests/interop/kafka/kafka.sh stop "$kdir" >/dev/null 2>&1 || true
    rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

KAFKA_LIBS=$(tests/interop/kafka/fetch.sh)
export KAFKA_LIBS
KAFKA_MAX_SECONDS=300 KAFKA_EXTRA_PROPS="group.initial.rebalance.delay.ms=0" \
    timeout 120 tests/interop/kafka/kafka.sh start "$kdir" >"$tmp/start.log" 2>&1 ||
    { cat "$tmp/start.log"; exit 1; }
SAMSA_TEST_KAFKA_BOOTSTRAP=$(cat "$kdir/bootstrap")
export SAMSA_TEST_KAFKA_BOOTSTRAP
if ! timeout 240 "$B/tests/integration/test_consumer" >"$tmp/test.log" 2>&1; then
    grep -v ' INFO ' "$tmp/test.log" | tail -n 40
    exit 1
fi
grep -E '^[0-9]+%: Checks' "$tmp/test.log"
