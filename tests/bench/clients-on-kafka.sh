#!/bin/sh
# clients-on-kafka.sh: the client benchmarks (bench_consumer, bench_e2e) on
# Apache Kafka 4.x instead of samsa's broker: one KRaft single node on
# loopback, started here and stopped whatever happens, that both clients of
# each benchmark use in the same run. Figure names start with "kafka_".
# Prepares Debian's librdkafka and the Kafka jars as broker-vs-kafka.sh does.
# Run from the repository root, as `make bench` does.
#   SAMSA_BENCH_CONSUMER_MESSAGES, SAMSA_BENCH_E2E_SECONDS  as for the benchmarks
#   SAMSA_BENCH_TIMEOUT   hard limit of each benchmark in seconds (default 1800)
B=${B:-build}
kafka_sh=tests/interop/kafka/kafka.sh
. tests/bench/kafka.inc

for b in bench_consumer bench_e2e; do
    if [ ! -x "$B/tests/bench/$b" ]; then
        echo "bench clients on kafka: not run: build $B/tests/bench/$b first (make bench)"
        exit 1
    fi
done

bench_need_librdkafka clients-on-kafka
bench_kafka_libs
if [ -n "$no_kafka" ]; then
    echo "bench clients on kafka: not run: $no_kafka"
    exit 0
fi

bench_kafka_dir bench-clients

# bench_consumer's producer topics keep their last 64 MiB per partition:
# retention is checked every second, as on samsa's broker in that
# benchmark, and the segments it drops are deleted a second later instead
# of a minute (samsa deletes them at once): on this machine, page cache
# that grows into new memory is slow (see bench_consumer.c), and with
# Kafka's delay a run of 10 million messages wrote to new memory
# throughout.
KAFKA_EXTRA_PROPS="$KAFKA_EXTRA_PROPS
log.retention.check.interval.ms=1000
log.segment.delete.delay.ms=1000"
limit=${SAMSA_BENCH_TIMEOUT:-1800}
KAFKA_LIBS=$kafka_libs KAFKA_MAX_SECONDS=$((2 * limit + 600)) \
    bash "$kafka_sh" start "$dir/kafka" >"$dir/kafka-sh.log" 2>&1 || {
    tail -n 20 "$dir/kafka-sh.log"
    echo "bench clients on kafka: FAILED: kafka did not start"
    exit 1
}
echo "bench clients on kafka: kafka from $kafka_libs, KRaft single node on $(cat "$dir/kafka/bootstrap"), heap $KAFKA_HEAP_OPTS, log.segment.bytes=1073741824, log.retention.check.interval.ms=1000, log.segment.delete.delay.ms=1000, other settings default"

# The JVM is the child of the process kafka.sh records: its CPU is Kafka's.
jvm=$(pgrep -P "$(cat "$dir/kafka/pid")" java | head -n 1)
status=0
for b in bench_consumer bench_e2e; do
    echo "== $b on kafka"
    bench_kafka_drive "$b on kafka" "$limit" env SAMSA_BENCH_BOOTSTRAP="$(cat "$dir/kafka/bootstrap")" \
        SAMSA_BENCH_BROKER_NAME=kafka SAMSA_BENCH_BROKER_PID="$jvm" "$B/tests/bench/$b" || status=1
done
exit "$status"
