#!/bin/sh
# sasl-ssl.sh: what SASL_SSL (SCRAM-SHA-512 over TLS) costs, measured with
# `samsa perf produce` (samsa's producer, acks=all, SIZE-byte records) and
# `samsa perf consume` (samsa's consumer in a new group reading RECORDS from
# the beginning; its fetch.nMsg.sec, which leaves out joining the group):
# records/sec against samsa's broker over PLAINTEXT and over SASL_SSL, and
# against Apache Kafka 4.4 over both (a KRaft node on loopback started by
# tests/scripts/client-kafka-sasl.sh --run). Each configuration runs
# twice, alternating with the other (the JVM warms up), and counts its
# better run. Prints one line per pair:
#   bench sasl-ssl <what>: A X rec/s | B Y rec/s | ratio X/Y
# Environment: SAMSA_BENCH_SASL_RECORDS (default 1000000),
# SAMSA_BENCH_SASL_SIZE (default 100). Run from the repository root.
B=${B:-build}
records=${SAMSA_BENCH_SASL_RECORDS:-1000000}
size=${SAMSA_BENCH_SASL_SIZE:-100}
samsa=$B/bin/samsa

# perf produce|consume BOOTSTRAP TOPIC [-X k=v...]: records/sec of one run
# (empty on failure).
perf() {
    mode=$1 bootstrap=$2 topic=$3
    shift 3
    if [ "$mode" = produce ]; then
        timeout 600 "$samsa" perf produce -b "$bootstrap" -t "$topic" -n "$records" -s "$size" \
            --acks all "$@" 2>/dev/null | tail -n 1 |
            sed -n 's/.* records sent, \([0-9]*\)[0-9.]* records\/sec.*/\1/p'
    else
        timeout 600 "$samsa" perf consume -b "$bootstrap" -t "$topic" -n "$records" "$@" \
            2>/dev/null | tail -n 1 | awk -F', ' 'NF == 10 { printf "%d\n", $10 }'
    fi
}

# best A B: the larger of two measurements (empty when one is missing).
best() {
    if [ -n "$1" ] && [ -n "$2" ]; then
        if [ "$1" -ge "$2" ]; then echo "$1"; else echo "$2"; fi
    fi
}

# both MODE PLAIN_BOOTSTRAP SASL_BOOTSTRAP CA USER PASSWORD: "PLAIN SASL"
# rec/s, each the better of two alternating runs.
both() {
    mode=$1
    shift
    p1=$(perf "$mode" "$1" bench-plain)
    # shellcheck disable=SC2046
    s1=$(perf "$mode" "$2" bench-sasl $(sasl_props "$3" "$4" "$5"))
    p2=$(perf "$mode" "$1" bench-plain)
    # shellcheck disable=SC2046
    s2=$(perf "$mode" "$2" bench-sasl $(sasl_props "$3" "$4" "$5"))
    echo "$(best "$p1" "$p2") $(best "$s1" "$s2")"
}

# all PLAIN_BOOTSTRAP SASL_BOOTSTRAP CA USER PASSWORD: "PLAIN SASL" for
# produce, then for consume (of what produce wrote), on one line.
all() {
    echo "$(both produce "$@") $(both consume "$@")"
}

ratio() { python3 -c "import sys; print('%.2f' % (float(sys.argv[1]) / float(sys.argv[2])))" "$1" "$2"; }

# line WHAT NAME_A A NAME_B B: "bench sasl-ssl WHAT: NAME_A A rec/s | NAME_B B
# rec/s | ratio A/B".
line() {
    if [ -z "$3" ] || [ -z "$5" ]; then
        echo "bench sasl-ssl $1: not measured (a run failed)"
        return 1
    fi
    echo "bench sasl-ssl $1: $2 $3 rec/s | $4 $5 rec/s | ratio $(ratio "$3" "$5")"
}

sasl_props() { # CA USER PASSWORD
    echo "-X security.protocol=sasl_ssl -X sasl.mechanism=SCRAM-SHA-512 -X ssl.ca.location=$1" \
        "-X sasl.username=$2 -X sasl.password=$3"
}

# Inside client-kafka-sasl.sh --run: Kafka over PLAINTEXT and SASL_SSL,
# written to $1 as "PLAINTEXT SASL_SSL".
if [ "${1:-}" = --kafka ]; then
    all "$SAMSA_TEST_KAFKA_PLAINTEXT" "$SAMSA_TEST_KAFKA_SASL_SSL" "$SAMSA_TEST_KAFKA_CA" \
        "$SAMSA_TEST_KAFKA_USER" "$SAMSA_TEST_KAFKA_PASSWORD" >"$2"
    exit 0
fi

if [ ! -x "$samsa" ]; then
    echo "bench sasl-ssl: not run: build $samsa first (make)"
    exit 1
fi
dir=$(mktemp -d)
pid=""
cleanup() {
    if [ -n "$pid" ]; then
        kill "$pid" 2>/dev/null
        wait "$pid" 2>/dev/null
    fi
    rm -rf "$dir"
}
trap cleanup EXIT INT TERM

sh tests/tools/certs.sh "$dir/certs" >/dev/null 2>&1 || { echo "bench sasl-ssl: certs.sh failed"; exit 1; }
cat >"$dir/broker.properties" <<EOF
log.dirs=$dir/data
listeners=PLAINTEXT://127.0.0.1:0,SASL_SSL://127.0.0.1:0
ssl.certificate.location=$dir/certs/broker.pem
ssl.key.location=$dir/certs/broker.key
sasl.enabled.mechanisms=SCRAM-SHA-512
sasl.credentials.file=$dir/credentials
EOF
"$samsa" users add --config "$dir/broker.properties" --user bench --password bench-secret-1 \
    --mechanism SCRAM-SHA-512 >"$dir/users.log" 2>&1 || { cat "$dir/users.log"; exit 1; }
timeout 1200 "$samsa" broker "$dir/broker.properties" 2>"$dir/broker.log" &
pid=$!
i=0
while ! grep -q 'listening on SASL_SSL://' "$dir/broker.log"; do
    i=$((i + 1))
    if [ $i -ge 100 ] || ! kill -0 "$pid" 2>/dev/null; then
        echo "bench sasl-ssl: samsa's broker did not start:"
        cat "$dir/broker.log"
        exit 1
    fi
    sleep 0.1
done
addr() { sed -n "s/.*listening on $1:\/\/\([0-9.]*:[0-9]*\).*/\1/p" "$dir/broker.log" | head -n 1; }
plain_addr=$(addr PLAINTEXT)
sasl_addr=$(addr SASL_SSL)

echo "bench sasl-ssl: $records records of $size bytes, acks=all, SCRAM-SHA-512 over TLS"
all "$plain_addr" "$sasl_addr" "$dir/certs/ca.pem" bench bench-secret-1 >"$dir/samsa.out"
read -r samsa_plain samsa_sasl samsa_cplain samsa_csasl <"$dir/samsa.out"
status=0
line "produce, samsa's broker" SASL_SSL "$samsa_sasl" PLAINTEXT "$samsa_plain" || status=1
line "consume, samsa's broker" SASL_SSL "$samsa_csasl" PLAINTEXT "$samsa_cplain" || status=1

if ! sh tests/scripts/client-kafka-sasl.sh --run \
    sh "$0" --kafka "$dir/kafka.out" >"$dir/kafka.log" 2>&1; then
    echo "bench sasl-ssl: Apache Kafka not measured:"
    tail -n 20 "$dir/kafka.log"
    exit 1
fi
read -r kafka_plain kafka_sasl kafka_cplain kafka_csasl <"$dir/kafka.out"
line "produce, Kafka's broker" SASL_SSL "$kafka_sasl" PLAINTEXT "$kafka_plain" || status=1
line "consume, Kafka's broker" SASL_SSL "$kafka_csasl" PLAINTEXT "$kafka_cplain" || status=1
line "produce over SASL_SSL" samsa "$samsa_sasl" Kafka "$kafka_sasl" || status=1
line "produce over PLAINTEXT" samsa "$samsa_plain" Kafka "$kafka_plain" || status=1
line "consume over SASL_SSL" samsa "$samsa_csasl" Kafka "$kafka_csasl" || status=1
line "consume over PLAINTEXT" samsa "$samsa_cplain" Kafka "$kafka_cplain" || status=1
exit $status
