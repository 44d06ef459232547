#!/bin/sh
# tls-vs-plaintext.sh: what TLS and SASL cost on samsa's broker. One broker
# with a PLAINTEXT and a SASL_SSL (SCRAM-SHA-512, TLS 1.3) listener; kcat
# (librdkafka) produces the same records to a topic through each, then
# consumes each topic back whole through the same listener, in the same
# run. Prints, in bench.h's format, SASL_SSL's throughput beside
# PLAINTEXT's (the reference) and the ratio; also the broker's CPU time.
# Plaintext fetches go out with sendfile, TLS ones through SSL_write from
# the log's mapped pages. Run from the repository root, as `make bench`
# does.
#   SAMSA_BENCH_TLS_MESSAGES   records per topic (default 300000)
#   SAMSA_BENCH_TLS_BYTES      bytes per record (default 1000)
set -eu
B=${B:-build}
BIN="$B/bin/samsa"
[ -x "$BIN" ] || { echo "bench tls: not run: build $BIN first"; exit 1; }
command -v kcat >/dev/null 2>&1 || { echo "bench tls: not run: kcat is missing"; exit 1; }
N=${SAMSA_BENCH_TLS_MESSAGES:-300000}
SIZE=${SAMSA_BENCH_TLS_BYTES:-1000}
mkdir -p "$B"
dir=$(mktemp -d "$(cd "$B" && pwd)/bench-tls.XXXXXX")
. tests/scripts/secure-broker.inc

make_certs > /dev/null 2>&1
write_properties
sed -i 's/^ssl.client.auth=.*/ssl.client.auth=none/' "$dir/broker.properties"
"$BIN" users add --config "$dir/broker.properties" --user bench --password bench-secret \
    --mechanism SCRAM-SHA-512 2>/dev/null
python3 -c "
import sys
line = 'x' * ($SIZE - 1) + '\n'
sys.stdout.write(line * $N)" > "$dir/records"
# information only: debug logging of every request would be measured too
BROKER_LOG_LEVEL=6 start_broker > /dev/null

now() { date +%s.%N; }
# start_broker's $pid is timeout(1); the broker is its child
broker_pid=$(cat "/proc/$pid/task/$pid/children" | awk '{ print $1 }')
cpu_of_broker() { # user+system seconds of the broker so far
    awk -v hz="$(getconf CLK_TCK)" '{ print ($14 + $15) / hz }' "/proc/$broker_pid/stat"
}

run() { # LABEL KCAT-FUNCTION ARGS... : sets produce_s, consume_s, cpu_s
    label=$1
    shift
    topic="bench-$label"
    c0=$(cpu_of_broker)
    t0=$(now)
    "$@" -P -t "$topic" -X linger.ms=5 -X batch.num.messages=10000 -l "$dir/records" ||
        { echo "bench tls: $label produce failed"; exit 1; }
    t1=$(now)
    got=$("$@" -C -t "$topic" -o beginning -e -q -f '%S\n' -X fetch.max.bytes=52428800 | wc -l)
    t2=$(now)
    c1=$(cpu_of_broker)
    [ "$got" = "$N" ] || { echo "bench tls: $label read back $got of $N records"; exit 1; }
    produce_s=$(echo "$t1 - $t0" | bc -l)
    consume_s=$(echo "$t2 - $t1" | bc -l)
    cpu_s=$(echo "$c1 - $c0" | bc -l)
}

line() { # name value unit ref-value
    ratio=$(echo "$2 / $4" | bc -l)
    printf 'bench %s: SASL_SSL %.1f %s | PLAINTEXT %.1f %s | ratio %.2f\n' "$1" "$2" "$3" "$4" "$3" "$ratio"
}
mb=$(echo "$N * $SIZE / 1000000" | bc -l)
run plaintext kcat_plain --
p_prod=$(echo "$mb / $produce_s" | bc -l)
p_cons=$(echo "$mb / $consume_s" | bc -l)
p_cpu=$cpu_s
run sasl-ssl kcat_sasl SASL_SSL SCRAM-SHA-512 bench bench-secret --
s_prod=$(echo "$mb / $produce_s" | bc -l)
s_cons=$(echo "$mb / $consume_s" | bc -l)
s_cpu=$cpu_s
echo "bench tls: $N records of $SIZE bytes per listener, kcat $(kcat -V 2>&1 | sed -n 's/.*Version \([^ ]*\).*/\1/p' | head -n 1), TLS 1.3, SCRAM-SHA-512"
line "tls produce" "$s_prod" MB/s "$p_prod"
line "tls consume" "$s_cons" MB/s "$p_cons"
line "tls broker cpu" "$s_cpu" s "$p_cpu"
