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
. tests/bench/kafka.inc

if [ ! -x "$B/tests/bench/bench_broker" ] || [ ! -x "$B/bin/samsa" ]; then
    echo "bench broker: not run: build $B/tests/bench/bench_broker and $B/bin/samsa first (make bench)"
    exit 1
fi

bench_need_librdkafka broker-vs-kafka

bench_kafka_libs
libs=$kafka_libs

bench_kafka_dir bench-broker

[ -n "$no_kafka" ] || echo "bench broker: kafka from $libs, KRaft single node on loopback, heap $KAFKA_HEAP_OPTS, log.segment.bytes=1073741824, other settings default"

bench_kafka_drive broker "${SAMSA_BENCH_TIMEOUT:-1800}" \
    env SAMSA_BENCH_BROKER_DIR="$dir" KAFKA_SH="$kafka_sh" KAFKA_LIBS="$libs" \
    SAMSA_BENCH_NO_KAFKA="$no_kafka" SAMSA_BIN="$B/bin/samsa" \
    KAFKA_MAX_SECONDS="${SAMSA_BENCH_TIMEOUT:-1800}" "$B/tests/bench/bench_broker"
