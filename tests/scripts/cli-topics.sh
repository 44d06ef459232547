#!/bin/sh
# cli-topics.sh: `samsa topics` against `samsa broker`: --create (with
# partitions and configs), --list (with and without internal topics),
# --describe in kafka-topics.sh's exact layout, --delete; errors from the
# broker are "% " lines with exit 1; usage errors name the flag (exit 2).
set -eu
B=${B:-build}
BIN="$B/bin/samsa"
[ -x "$BIN" ] || { echo "missing $BIN"; exit 1; }
dir=$(mktemp -d)
. tests/scripts/broker-daemon.inc

expect 0 '^Usage: samsa topics -b HOST:PORT --list' -- "$BIN" topics --help
expect 0 '^  topics -b HOST:PORT --list\|--describe\|--create\|--delete' -- "$BIN" --help
expect 2 '^% samsa topics: one of --list, --describe, --create, --delete is required$' -- \
    "$BIN" topics -b x:1
expect 2 '^% samsa topics: --list and --describe exclude each other$' -- \
    "$BIN" topics -b x:1 --list --describe
expect 2 '^% samsa topics: --create needs TOPIC$' -- "$BIN" topics -b x:1 --create
expect 2 '^% samsa topics: --delete needs TOPIC$' -- "$BIN" topics -b x:1 --delete
expect 2 '^% samsa topics: --list takes no topic \(got t\)$' -- "$BIN" topics -b x:1 --list t
expect 2 '^% samsa topics: one topic only \(got a and b\)$' -- "$BIN" topics -b x:1 --describe a b
expect 2 '^% samsa topics: --partitions goes with --create only$' -- \
    "$BIN" topics -b x:1 --describe t --partitions 2
expect 2 '^% samsa topics: --config goes with --create only$' -- \
    "$BIN" topics -b x:1 --delete t --config a=b
expect 2 '^% samsa topics: --partitions: "0" is not an integer in 1\.\.' -- \
    "$BIN" topics -b x:1 --create t --partitions 0
expect 2 '^% samsa topics: --replication-factor: "x" is not an integer' -- \
    "$BIN" topics -b x:1 --create t --replication-factor x
expect 2 '^% samsa topics: --config "retention.ms" is not key=value$' -- \
    "$BIN" topics -b x:1 --create t --config retention.ms
expect 2 '^% samsa topics: --exclude-internal goes with --list and --describe only$' -- \
    "$BIN" topics -b x:1 --create t --exclude-internal
expect 2 '^% samsa topics: unknown option --frob$' -- "$BIN" topics -b x:1 --list --frob
expect 2 '^% samsa topics: -b HOST:PORT is required' -- "$BIN" topics --list
expect 2 '^% try: samsa topics --help$' -- "$BIN" topics --list
expect 1 '^% samsa topics: admin configuration: no.such.property' -- \
    "$BIN" topics -b x:1 --list -X no.such.property=1

start_broker

# --create, with partitions and configs; a second time fails.
printf 'Created topic tp1.\n' > "$dir/want"
check "$dir/want" -- "$BIN" topics -b "$bootstrap" --create tp1 --partitions 3 \
    --config retention.ms=60000 --config cleanup.policy=delete
printf 'Created topic tp2.\n' > "$dir/want"
check "$dir/want" -- "$BIN" topics --bootstrap-server="$bootstrap" --create --topic=tp2
expect 1 "^% samsa topics: cannot create topic 'tp1': .*TOPIC_ALREADY_EXISTS" -- \
    "$BIN" topics -b "$bootstrap" --create tp1
expect 1 "^% samsa topics: cannot create topic 'tp3': .*INVALID_REPLICATION_FACTOR" -- \
    "$BIN" topics -b "$bootstrap" --create tp3 --replication-factor 3
expect 1 "^% samsa topics: cannot create topic 'tp3': .*INVALID_CONFIG" -- \
    "$BIN" topics -b "$bootstrap" --create tp3 --config no.such.config=1
echo "--create: ok"

# --list: every topic by name, the internal one unless --exclude-internal.
printf '__consumer_offsets\ntp1\ntp2\n' > "$dir/want"
check "$dir/want" -- "$BIN" topics -b "$bootstrap" --list
printf 'tp1\ntp2\n' > "$dir/want"
check "$dir/want" -- "$BIN" topics -b "$bootstrap" --list --exclude-internal
echo "--list: ok"

# --describe: kafka-topics.sh's layout, tab for tab; the topic id is
# Kafka's base64 form of 16 bytes.
"$BIN" topics -b "$bootstrap" --describe tp1 > "$dir/got"
id=$(sed -n '1s/.*TopicId: \([^	]*\)	.*/\1/p' "$dir/got")
echo "$id" | grep -Eq '^[A-Za-z0-9_-]{22}$' || { echo "not a topic id: '$id'"; cat "$dir/got"; exit 1; }
T=$(printf '\t')
{
    echo "Topic: tp1${T}TopicId: $id${T}PartitionCount: 3${T}ReplicationFactor: 1${T}Configs: cleanup.policy=delete,retention.ms=60000"
    for p in 0 1 2; do
        echo "${T}Topic: tp1${T}Partition: $p${T}Leader: 1${T}Replicas: 1${T}Isr: 1${T}Elr: N/A${T}LastKnownElr: N/A"
    done
} > "$dir/want"
cmp -s "$dir/want" "$dir/got" || { echo "--describe tp1:"; diff "$dir/want" "$dir/got"; exit 1; }

# Every topic, by name, each in the same layout (no configs set: "Configs: ").
"$BIN" topics -b "$bootstrap" --describe --exclude-internal > "$dir/all"
id2=$(sed -n 's/^Topic: tp2	TopicId: \([^	]*\)	.*/\1/p' "$dir/all")
{
    cat "$dir/want"
    echo "Topic: tp2${T}TopicId: $id2${T}PartitionCount: 1${T}ReplicationFactor: 1${T}Configs: "
    echo "${T}Topic: tp2${T}Partition: 0${T}Leader: 1${T}Replicas: 1${T}Isr: 1${T}Elr: N/A${T}LastKnownElr: N/A"
} > "$dir/want-all"
cmp -s "$dir/want-all" "$dir/all" || { echo "--describe:"; diff "$dir/want-all" "$dir/all"; exit 1; }
[ "$id" != "$id2" ] || { echo "two topics with the id $id"; exit 1; }
"$BIN" topics -b "$bootstrap" --describe > "$dir/all"
grep -q '^Topic: __consumer_offsets	TopicId: ' "$dir/all" ||
    { echo "--describe left out __consumer_offsets:"; cat "$dir/all"; exit 1; }
expect 1 "^% samsa topics: topic 'nope' does not exist$" -- \
    "$BIN" topics -b "$bootstrap" --describe nope
echo "--describe: ok"

# --delete, with properties from -F and -X; deleting again fails.
printf 'client.id=topics-test\n' > "$dir/admin.properties"
: > "$dir/want"
check "$dir/want" -- "$BIN" topics -b "$bootstrap" -F "$dir/admin.properties" \
    -X request.timeout.ms=20000 --delete -t tp2
printf '__consumer_offsets\ntp1\n' > "$dir/want"
check "$dir/want" -- "$BIN" topics -b "$bootstrap" --list
expect 1 "^% samsa topics: topic 'tp2' does not exist$" -- "$BIN" topics -b "$bootstrap" --delete tp2
echo "--delete: ok"

# No broker at the address: a "% " line, exit 1.
expect 1 '^% samsa topics: cannot list topics: ' -- \
    "$BIN" topics -b 127.0.0.1:1 --list --timeout 1500
echo "samsa topics: ok"
