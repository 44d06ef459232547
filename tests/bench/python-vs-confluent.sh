#!/bin/sh
# python-vs-confluent.sh: samsa's Python binding against confluent-kafka-python
# (the version tests/tools/pyenv.sh pins), both talking to one samsa broker
# (build/bin/samsa broker on a free port, data in a temporary directory) in
# the same run. Each client produces N messages with 100-byte values to a
# topic of its own (3 partitions), then consumes them from the start, with
# poll() and with consume(1000); every measurement runs in a fresh process (tests/bench/python/bench.py),
# rounds alternate the clients, and the best round of each is reported:
#   bench python-produce: samsa X msg/s | confluent-kafka Y msg/s | ratio R (goal >= 1.00: ...)
#   bench python-consume: ...
#   bench python-consume-batch: ...
# Run from the repository root, as `make bench` does.
#   SAMSA_BENCH_PY_MESSAGES   messages per run (default 1000000)
#   SAMSA_BENCH_PY_ROUNDS     rounds (default 3)
#   SAMSA_BENCH_TIMEOUT       limit of the whole run in seconds (default 1800)
B=${B:-build}
n=${SAMSA_BENCH_PY_MESSAGES:-1000000}
rounds=${SAMSA_BENCH_PY_ROUNDS:-3}
lib="$(pwd)/$B/lib/libsamsa.so.0"
if [ ! -x "$B/bin/samsa" ] || [ ! -f "$lib" ]; then
    echo "bench python: not run: build $B/bin/samsa and $lib first (make)"
    exit 1
fi
venv=$(sh bindings/python/tools/venv.sh) || { echo "bench python: FAILED: no venv"; exit 1; }
dir=$(mktemp -d) || exit 1
pid=
cleanup() {
    if [ -n "$pid" ]; then
        kill "$pid" 2>/dev/null
        wait "$pid" 2>/dev/null
    fi
    rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

timeout "${SAMSA_BENCH_TIMEOUT:-1800}" "$B/bin/samsa" broker --override "log.dirs=$dir/data" \
    --override listeners=PLAINTEXT://127.0.0.1:0 --override num.partitions=3 \
    2> "$dir/broker.log" &
pid=$!
i=0
while ! grep -q 'listening on PLAINTEXT://' "$dir/broker.log"; do
    i=$((i + 1))
    if [ $i -ge 100 ] || ! kill -0 "$pid" 2>/dev/null; then
        echo "bench python: FAILED: the broker did not start"; cat "$dir/broker.log"; exit 1
    fi
    sleep 0.1
done
bootstrap=$(sed -n 's/.*listening on PLAINTEXT:\/\/\([0-9.]*:[0-9]*\).*/\1/p' "$dir/broker.log" | head -n 1)
echo "bench python: $n messages of 100 bytes per run, $rounds rounds, broker $bootstrap," \
    "confluent-kafka $("$venv/bin/python" -c 'import confluent_kafka as c, importlib.metadata as m; print(m.version("confluent-kafka"), "librdkafka", c.libversion()[0])')"

run() { # client phase topic
    SAMSA_LIBRARY="$lib" timeout 600 "$venv/bin/python" tests/bench/python/bench.py \
        "$1" "$2" "$bootstrap" "$3" "$n" 3
}
best() { # current new: the larger
    awk -v a="$1" -v b="$2" 'BEGIN { print (b > a ? b : a) }'
}
sp=0 sc=0 sb=0 cp=0 cc=0 cb=0
r=1
while [ $r -le "$rounds" ]; do
    for client in samsa confluent; do
        topic="bench-$client-$r"
        p=$(run $client produce "$topic") || { echo "bench python: FAILED: $client produce"; exit 1; }
        c=$(run $client consume "$topic") || { echo "bench python: FAILED: $client consume"; exit 1; }
        b=$(run $client consume-batch "$topic") || { echo "bench python: FAILED: $client consume-batch"; exit 1; }
        echo "  round $r $client: produce $p msg/s, consume $c msg/s, consume-batch $b msg/s"
        if [ $client = samsa ]; then
            sp=$(best $sp "$p"); sc=$(best $sc "$c"); sb=$(best $sb "$b")
        else
            cp=$(best $cp "$p"); cc=$(best $cc "$c"); cb=$(best $cb "$b")
        fi
    done
    r=$((r + 1))
done
report() { # name samsa ref
    awk -v name="$1" -v s="$2" -v r="$3" 'BEGIN {
        ratio = r > 0 ? s / r : 0
        printf "bench %s: samsa %.1f msg/s | confluent-kafka %.1f msg/s | ratio %.2f (goal >= 1.00: %s)\n",
            name, s, r, ratio, (ratio >= 1 ? "met" : "NOT MET") }'
}
report python-produce "$sp" "$cp"
report python-consume "$sc" "$cc"
report python-consume-batch "$sb" "$cb"
