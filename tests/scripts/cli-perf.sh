#!/bin/sh
# cli-perf.sh: `samsa perf produce` prints kafka-producer-perf-test's total
# line, with an embedded broker (whose temporary directory is removed) and
# against `samsa broker` (where the records then are); failed deliveries
# make exit 1. `samsa perf consume` prints kafka-consumer-perf-test's
# detailed progress lines and summary, embedded and against the daemon
# (where its group then has committed what it read); too few records make
# exit 1. Usage errors name the flag (exit 2); --help works.
set -eu
B=${B:-build}
BIN="$B/bin/samsa"
[ -x "$BIN" ] || { echo "missing $BIN"; exit 1; }
dir=$(mktemp -d)
. tests/scripts/broker-daemon.inc
need_kcat

# kafka-producer-perf-test's lines: the total, and the progress line.
total_re='^[0-9]+ records sent, [0-9]+\.[0-9]{6} records/sec \([0-9]+\.[0-9]{2} MB/sec\), [0-9]+\.[0-9]{2} ms avg latency, [0-9]+\.[0-9]{2} ms max latency, [0-9]+ ms 50th, [0-9]+ ms 95th, [0-9]+ ms 99th, [0-9]+ ms 99\.9th\.$'
window_re='^[0-9]+ records sent, [0-9]+\.[0-9] records/sec \([0-9]+\.[0-9]{2} MB/sec\), [0-9]+\.[0-9] ms avg latency, [0-9]+\.[0-9] ms max latency\.$'

# check_output FILE COUNT: every line is a progress line but the last,
# which is the total for COUNT records.
check_output() {
    last=$(tail -n 1 "$1")
    echo "$last" | grep -Eq "$total_re" || { echo "not a total line: $last"; cat "$1"; exit 1; }
    [ "${last%% *}" = "$2" ] || { echo "total of ${last%% *} records, expected $2: $last"; exit 1; }
    n=$(sed '$d' "$1" | grep -Evc "$window_re" || true)
    [ "$n" = 0 ] || { echo "lines that are not progress lines:"; sed '$d' "$1"; exit 1; }
}

expect 0 '^Usage: samsa perf TEST' -- "$BIN" perf --help
expect 0 '^Usage: samsa perf produce -b HOST:PORT\|embedded -n COUNT -s SIZE' -- "$BIN" perf produce --help
expect 0 '^  perf produce\|consume -b HOST:PORT\|embedded' -- "$BIN" --help
expect 2 '^% samsa perf: which test\?$' -- "$BIN" perf
expect 2 '^% samsa perf: unknown test frob$' -- "$BIN" perf frob
expect 2 '^% samsa perf produce: unknown option --frob$' -- "$BIN" perf produce --frob
expect 2 '^% samsa perf produce: -n COUNT is required$' -- "$BIN" perf produce -b embedded -s 1
expect 2 '^% samsa perf produce: -s SIZE is required$' -- "$BIN" perf produce -b embedded -n 1
expect 2 '^% samsa perf produce: -b HOST:PORT is required' -- "$BIN" perf produce -n 1 -s 1
expect 2 '^% samsa perf produce: -n: "0" is not an integer in 1\.\.' -- "$BIN" perf produce -b embedded -n 0 -s 1
expect 2 '^% samsa perf produce: --acks: "2" is not one of all, -1, 0, 1$' -- \
    "$BIN" perf produce -b embedded -n 1 -s 1 --acks 2
expect 2 '^% samsa perf produce: --throughput 0 would send nothing' -- \
    "$BIN" perf produce -b embedded -n 1 -s 1 --throughput 0
expect 2 '^% samsa perf produce: --throughput needs N$' -- "$BIN" perf produce -b embedded --throughput
expect 2 '^% samsa perf produce: -X "linger.ms" is not key=value$' -- \
    "$BIN" perf produce -b embedded -n 1 -s 1 -X linger.ms

# Embedded: the total line, and the broker's temporary directory removed.
mkdir "$dir/tmp"
TMPDIR="$dir/tmp" timeout 120 "$BIN" perf produce -b embedded -n 20000 -s 100 \
    > "$dir/embedded.out" 2> "$dir/embedded.err" || { echo "embedded run failed:"; cat "$dir/embedded.err"; exit 1; }
check_output "$dir/embedded.out" 20000
[ -z "$(ls -A "$dir/tmp")" ] || { echo "left behind in TMPDIR:"; ls -A "$dir/tmp"; exit 1; }
echo "embedded: $(cat "$dir/embedded.out")"

# Against the daemon: the records are there afterwards, 100 capital letters each.
start_broker
timeout 120 "$BIN" perf produce -b "$bootstrap" -t perf-acks1 -n 20000 -s 100 --acks 1 \
    -X linger.ms=2 > "$dir/daemon.out"
check_output "$dir/daemon.out" 20000
timeout 60 kcat -b "$bootstrap" -t perf-acks1 -C -e -q -f '%s\n' > "$dir/values"
n=$(grep -Ec '^[A-Z]{100}$' "$dir/values" || true)
[ "$n" = 20000 ] || { echo "$n records of 100 capital letters in the topic, expected 20000"; exit 1; }
echo "daemon: $(cat "$dir/daemon.out")"

# Throttled, with acks=all (the default) and a properties file.
printf 'compression.type=zstd\n' > "$dir/perf.properties"
timeout 120 "$BIN" perf produce --bootstrap-server "$bootstrap" --topic perf-throttled \
    --num-records 300 --record-size 10 --throughput 1000 --producer.config "$dir/perf.properties" \
    > "$dir/throttled.out"
check_output "$dir/throttled.out" 300

# No broker at the address: every record fails, a "% " line says why, exit 1.
status=0
timeout 60 "$BIN" perf produce -b 127.0.0.1:1 -n 5 -s 10 -X delivery.timeout.ms=1500 \
    -X request.timeout.ms=1000 -X linger.ms=0 > "$dir/fail.out" 2> "$dir/fail.err" || status=$?
[ "$status" = 1 ] || { echo "no broker: exit $status, expected 1"; cat "$dir/fail.err"; exit 1; }
check_output "$dir/fail.out" 0
grep -q '^% samsa perf produce: delivery failed: _TIMED_OUT: ' "$dir/fail.err" ||
    { echo "no broker: no failure line:"; cat "$dir/fail.err"; exit 1; }
grep -q '^% samsa perf produce: 5 of 5 records not delivered$' "$dir/fail.err" ||
    { echo "no broker: no summary:"; cat "$dir/fail.err"; exit 1; }
echo "samsa perf produce: ok"

# ---- perf consume ----

expect 0 '^Usage: samsa perf consume -b HOST:PORT\|embedded -n COUNT' -- "$BIN" perf consume --help
expect 0 '^  consume -b HOST:PORT\|embedded -n COUNT' -- "$BIN" perf --help
expect 2 '^% samsa perf consume: -n COUNT is required$' -- "$BIN" perf consume -b embedded
expect 2 '^% samsa perf consume: -s SIZE goes with -b embedded only$' -- \
    "$BIN" perf consume -b x:1 -n 1 -s 10
expect 2 '^% samsa perf consume: --reporting-interval: "0" is not an integer in 1\.\.' -- \
    "$BIN" perf consume -b x:1 -n 1 --reporting-interval 0
expect 2 '^% samsa perf consume: -g: the group id is empty$' -- "$BIN" perf consume -b x:1 -n 1 -g ''
expect 2 '^% samsa perf consume: unknown option --frob$' -- "$BIN" perf consume --frob
expect 1 '^% samsa perf consume: consumer configuration: no.such.property' -- \
    "$BIN" perf consume -b x:1 -n 1 -X no.such.property=1

# kafka-consumer-perf-test's lines.
summary_header='start.time, end.time, data.consumed.in.MB, MB.sec, data.consumed.in.nMsg, nMsg.sec, rebalance.time.ms, fetch.time.ms, fetch.MB.sec, fetch.nMsg.sec'
progress_header='time, threadId, data.consumed.in.MB, MB.sec, data.consumed.in.nMsg, nMsg.sec, rebalance.time.ms, fetch.time.ms, fetch.MB.sec, fetch.nMsg.sec'
date_re='[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}:[0-9]{3}'
num_re='[0-9]+\.[0-9]{4}'
summary_re="^$date_re, $date_re, $num_re, $num_re, [0-9]+, $num_re, [0-9]+, -?[0-9]+, $num_re, $num_re\$"
progress_re="^$date_re, 0, $num_re, $num_re, [0-9]+, $num_re, [0-9]+, -?[0-9]+, $num_re, $num_re\$"

# check_consume_output FILE COUNT MB: progress lines (after their header)
# but for the last two lines, the summary's header and the summary of COUNT
# records of MB megabytes.
check_consume_output() {
    [ "$(tail -n 2 "$1" | head -n 1)" = "$summary_header" ] ||
        { echo "no summary header:"; cat "$1"; exit 1; }
    last=$(tail -n 1 "$1")
    echo "$last" | grep -Eq "$summary_re" || { echo "not a summary line: $last"; exit 1; }
    fields=$(echo "$last" | awk -F', ' '{ print $3 " " $5 }')
    [ "$fields" = "$3 $2" ] || { echo "summary of $fields, expected $3 $2: $last"; exit 1; }
    head -n -2 "$1" > "$dir/progress"
    if [ -s "$dir/progress" ]; then
        [ "$(head -n 1 "$dir/progress")" = "$progress_header" ] ||
            { echo "progress lines without their header:"; cat "$1"; exit 1; }
        n=$(sed 1d "$dir/progress" | grep -Evc "$progress_re" || true)
        [ "$n" = 0 ] || { echo "lines that are not progress lines:"; cat "$1"; exit 1; }
    fi
}

# Embedded: the topic filled first, the broker's directory removed after.
TMPDIR="$dir/tmp" timeout 120 "$BIN" perf consume -b embedded -n 5000 -s 10 \
    > "$dir/cembedded.out" 2> "$dir/cembedded.err" ||
    { echo "perf consume embedded failed:"; cat "$dir/cembedded.err"; exit 1; }
check_consume_output "$dir/cembedded.out" 5000 0.0477
[ -z "$(ls -A "$dir/tmp")" ] || { echo "left behind in TMPDIR:"; ls -A "$dir/tmp"; exit 1; }
echo "consume embedded: $(tail -n 1 "$dir/cembedded.out")"

# Against the daemon: the 20000 records of 100 bytes written above, with a
# progress line every millisecond or so; the group committed all of them.
timeout 120 "$BIN" perf consume -b "$bootstrap" -t perf-acks1 -n 20000 -g perf-group \
    --reporting-interval 1 -X fetch.max.wait.ms=100 > "$dir/cdaemon.out" 2> "$dir/cdaemon.err" ||
    { echo "perf consume failed:"; cat "$dir/cdaemon.err"; exit 1; }
check_consume_output "$dir/cdaemon.out" 20000 1.9073
grep -Eq "$progress_re" "$dir/cdaemon.out" || { echo "no progress line:"; cat "$dir/cdaemon.out"; exit 1; }
"$BIN" groups -b "$bootstrap" --describe perf-group 2>/dev/null |
    awk 'NR > 2 { sum += $4 } END { print sum }' > "$dir/committed"
[ "$(cat "$dir/committed")" = 20000 ] ||
    { echo "perf-group committed $(cat "$dir/committed"), expected 20000"; exit 1; }
echo "consume daemon: $(tail -n 1 "$dir/cdaemon.out")"

# More records than there are: the summary of what came, a "% " line, exit 1.
printf 'fetch.min.bytes=1\n' > "$dir/consumer.properties"
status=0
timeout 120 "$BIN" perf consume -b "$bootstrap" -t perf-acks1 -n 20001 --timeout 1500 \
    --hide-header -F "$dir/consumer.properties" > "$dir/short.out" 2> "$dir/short.err" || status=$?
[ "$status" = 1 ] || { echo "-n 20001: exit $status, expected 1"; cat "$dir/short.err"; exit 1; }
[ "$(wc -l < "$dir/short.out")" = 1 ] || { echo "--hide-header: headers printed:"; cat "$dir/short.out"; exit 1; }
grep -Eq "$summary_re" "$dir/short.out" || { echo "-n 20001: no summary:"; cat "$dir/short.out"; exit 1; }
[ "$(awk -F', ' '{ print $5 }' "$dir/short.out")" = 20000 ] ||
    { echo "-n 20001: summary:"; cat "$dir/short.out"; exit 1; }
grep -q '^% samsa perf consume: 20000 of 20001 records: no record for 1500 ms (--timeout)$' "$dir/short.err" ||
    { echo "-n 20001: no \"% \" line:"; cat "$dir/short.err"; exit 1; }
echo "samsa perf consume: ok"
