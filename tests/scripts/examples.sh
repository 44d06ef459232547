#!/bin/sh
# The examples build outside the library (public header only) and work
# against `samsa broker`, each checked by its exact output:
# examples/producer sends stdin's lines and kcat reads exactly those back;
# examples/consumer prints them, stops cleanly on SIGTERM and resumes from
# its committed offset; examples/admin creates and describes topics and
# fails on one that exists; examples/embedded runs its own broker.
set -eu
B=${B:-build}
BIN="$B/bin/samsa"
E="$B/examples"
dir=$(mktemp -d)
. tests/scripts/broker-daemon.inc
consumer_pid=""
stop_all() {
    [ -z "$consumer_pid" ] || kill "$consumer_pid" 2>/dev/null || true
    cleanup
}
trap stop_all EXIT INT TERM
need_kcat
start_broker

# producer: stdin's lines, read back by another client
printf 'first\nsecond line\n\nfourth\n' > "$dir/in"
timeout 60 "$E/producer" "$bootstrap" examples-topic < "$dir/in"
timeout 60 kcat -C -b "$bootstrap" -t examples-topic -o beginning -e -q -f '%s\n' > "$dir/out"
diff "$dir/in" "$dir/out"
# a broker that is not there: the delivery report says so, exit 1
status=0
echo lost | timeout 60 "$E/producer" 127.0.0.1:1 t request.timeout.ms=500 \
    delivery.timeout.ms=1000 2> "$dir/err" || status=$?
[ $status -eq 1 ] || { echo "producer without a broker exited $status"; exit 1; }
grep -q '^% delivery failed: ' "$dir/err" || { echo "no failed delivery reported:"; cat "$dir/err"; exit 1; }
# a property the producer does not know is named
status=0
timeout 60 "$E/producer" "$bootstrap" t no.such.property=1 < /dev/null 2> "$dir/err" || status=$?
[ $status -eq 1 ] && grep -q 'no.such.property' "$dir/err" || { echo "exit $status:"; cat "$dir/err"; exit 1; }
echo "producer: 4 messages delivered, read back by kcat"

# consumer: runs until SIGTERM. wait_lines FILE N waits (bounded) until
# FILE has N lines.
wait_lines() {
    i=0
    while [ "$(wc -l < "$1")" -lt "$2" ]; do
        i=$((i + 1))
        [ $i -lt 600 ] || { echo "waited for $2 lines of $1:"; cat "$1"; exit 1; }
        sleep 0.1
    done
}
run_consumer() { # OUT N: consume into OUT until it has N lines, then stop
    : > "$1"
    timeout 120 "$E/consumer" "$bootstrap" examples-topic > "$1" 2> "$dir/consumer.err" &
    consumer_pid=$!
    wait_lines "$1" "$2"
    kill -TERM "$consumer_pid"
    status=0
    wait "$consumer_pid" || status=$?
    consumer_pid=""
    [ $status -eq 0 ] || { echo "consumer exited $status:"; cat "$dir/consumer.err"; exit 1; }
}
run_consumer "$dir/consumed" 4
printf 'examples-topic\t0\t0\t\tfirst\nexamples-topic\t0\t1\t\tsecond line\nexamples-topic\t0\t2\t\t\nexamples-topic\t0\t3\t\tfourth\n' \
    > "$dir/want"
diff "$dir/want" "$dir/consumed"
# keyed messages from kcat; a new run starts after what the first one committed
printf 'k1:fifth\nk2:sixth\n' | timeout 60 kcat -P -b "$bootstrap" -t examples-topic -K :
run_consumer "$dir/consumed" 2
printf 'examples-topic\t0\t4\tk1\tfifth\nexamples-topic\t0\t5\tk2\tsixth\n' > "$dir/want"
diff "$dir/want" "$dir/consumed"
echo "consumer: printed every message once across a restart"

# admin: creates, then fails on topics that exist
timeout 60 "$E/admin" "$bootstrap" admin-a admin-b > "$dir/admin.out"
printf 'admin-a: created\nadmin-b: created\nadmin-a 0 leader 1\nadmin-b 0 leader 1\n' > "$dir/want"
diff "$dir/want" "$dir/admin.out"
status=0
timeout 60 "$E/admin" "$bootstrap" admin-a admin-c > "$dir/admin.out" || status=$?
[ $status -eq 1 ] || { echo "admin on an existing topic exited $status"; exit 1; }
grep -q '^admin-a: TOPIC_ALREADY_EXISTS: ' "$dir/admin.out" || { cat "$dir/admin.out"; exit 1; }
sed -n '2,$p' "$dir/admin.out" > "$dir/got"
printf 'admin-c: created\nadmin-a 0 leader 1\nadmin-c 0 leader 1\n' > "$dir/want"
diff "$dir/want" "$dir/got"
echo "admin: created, described, and refused an existing topic"

# embedded: a broker of its own on a free port, removed afterwards
before=$(ls -d /tmp/samsa-embedded-* 2>/dev/null | wc -l)
SAMSA_LOG_LEVEL=0 timeout 60 "$E/embedded" > "$dir/embedded.out" 2> "$dir/embedded.err" ||
    { cat "$dir/embedded.err"; exit 1; }
sed -n '1s/^broker at 127\.0\.0\.1:[0-9][0-9]*$/broker at ADDR/p; 2,$p' "$dir/embedded.out" > "$dir/got"
printf 'broker at ADDR\nen=hello\nfr=bonjour\nde=hallo\n' > "$dir/want"
diff "$dir/want" "$dir/got"
after=$(ls -d /tmp/samsa-embedded-* 2>/dev/null | wc -l)
[ "$before" = "$after" ] || { echo "embedded left its directory behind"; exit 1; }
echo "embedded: produced and consumed through its own broker"
