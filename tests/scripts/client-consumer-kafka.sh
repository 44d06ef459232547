#!/bin/sh
# samsa's consumer against a real Apache Kafka 4.4 broker (single KRaft node
# on loopback): build/tests/integration/test_consumer, pointed at it with
# SAMSA_TEST_KAFKA_BOOTSTRAP, creates topics, produces with samsa's
# producer and consumes in a group: every message with its key, header and
# timestamp; manual assignment with seeks to an offset, the beginning, a
# timestamp and the end; two consumers of one group split six partitions and
# a third joining triggers a rebalance (range, then cooperative-sticky) with
# no message delivered twice past committed offsets; a topic written in
# transactions (some aborted) read with `samsa consume` under both isolation
# levels. Kafka is always stopped.
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

# Transactions (written by confluent-kafka's transactional producer): a
# read_committed consumer skips the aborted ones, a read_uncommitted one
# (the default, as in Java) sees every record; both get past the COMMIT
# marker that ends the log, so -e exits.
bootstrap=$SAMSA_TEST_KAFKA_BOOTSTRAP
venv=$(sh tests/tools/pyenv.sh)
"$B/bin/samsa" topics -b "$bootstrap" --create txn --partitions 1 >/dev/null
timeout 120 "$venv/bin/python" tests/tools/txn_produce.py "$bootstrap" txn >"$tmp/committed"
timeout 60 "$B/bin/samsa" consume -b "$bootstrap" -t txn -e -X isolation.level=read_committed \
    >"$tmp/read" 2>"$tmp/consume.log" ||
    { echo "read_committed consume failed:"; cat "$tmp/consume.log"; exit 1; }
if ! cmp -s "$tmp/committed" "$tmp/read"; then
    echo "read_committed: expected"; cat "$tmp/committed"; echo "got"; cat "$tmp/read"; exit 1
fi
timeout 60 "$B/bin/samsa" consume -b "$bootstrap" -t txn -e >"$tmp/read" 2>"$tmp/consume.log" ||
    { echo "read_uncommitted consume failed:"; cat "$tmp/consume.log"; exit 1; }
printf 'a0\na1\na2\na3\na4\nc0\nc1\nc2\nc3\nc4\np0\np1\na5\na6\nc5\n' >"$tmp/all"
if ! cmp -s "$tmp/all" "$tmp/read"; then
    echo "read_uncommitted: expected"; cat "$tmp/all"; echo "got"; cat "$tmp/read"; exit 1
fi
echo "transactions: read_committed and read_uncommitted consumers read what they must"
