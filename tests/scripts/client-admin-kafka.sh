#!/bin/sh
# samsa's admin client against a real Apache Kafka 4.4 broker (single KRaft
# node on loopback): build/tests/tools/admin_tool creates, validates,
# describes, lists and deletes topics, adds partitions, lists offsets
# (earliest, latest, by timestamp, max timestamp) of records written by
# client_produce, deletes records, describes topic and broker configs,
# commits and reads group offsets, and lists and describes groups, one of
# them a live kcat consumer group. Every line printed is checked exactly.
set -e
B=${B:-build}
here=$(pwd)
tmp=$(mktemp -d)
kdir="$tmp/kafka"
consumer=""
cleanup() {
    [ -n "$consumer" ] && kill "$consumer" 2>/dev/null || true
    tests/interop/kafka/kafka.sh stop "$kdir" >/dev/null 2>&1 || true
    rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

command -v kcat >/dev/null || { echo "kcat not installed (apt-get install kcat)"; exit 1; }
KAFKA_LIBS=$(tests/interop/kafka/fetch.sh)
export KAFKA_LIBS
KAFKA_MAX_SECONDS=300 timeout 120 tests/interop/kafka/kafka.sh start "$kdir" >"$tmp/start.log" 2>&1 ||
    { cat "$tmp/start.log"; exit 1; }
bootstrap=$(cat "$kdir/bootstrap")

admin() {
    timeout 40 "$here/$B/tests/tools/admin_tool" -b "$bootstrap" -T 20000 "$@" 2>>"$tmp/admin.err"
}

# check NAME EXPECTED: the output of the previous step (in $tmp/out) must be EXPECTED.
check() {
    printf '%s\n' "$2" >"$tmp/want"
    if ! diff -u "$tmp/want" "$tmp/out"; then
        echo "$1: output differs (diagnostics below)"
        tail -n 20 "$tmp/admin.err"
        exit 1
    fi
    echo "$1: ok"
}

admin cluster >"$tmp/out"
check cluster "cluster controller=1 brokers=1
broker 1 $bootstrap"

{
    admin create adm-a:3:1 retention.ms=77777
    admin create adm-a:3:1
    admin create bad/name:1
    admin create adm-zero:0
    admin validate adm-v:2
} >"$tmp/out"
check create "create adm-a NONE
create adm-a TOPIC_ALREADY_EXISTS
create bad/name INVALID_TOPIC_EXCEPTION
create adm-zero INVALID_PARTITIONS
validate adm-v NONE"

{
    admin partitions adm-a 5
    admin partitions adm-a 2
    admin partitions adm-missing 2
} >"$tmp/out"
# Kafka answers CreatePartitions once its controller committed the change;
# the broker's metadata may show it a moment later.
for _ in $(seq 40); do
    admin topics adm-a adm-v >"$tmp/topics"
    grep -q '^topic adm-a partitions=5 ' "$tmp/topics" && break
    sleep 0.25
done
cat "$tmp/topics" >>"$tmp/out"
check partitions "partitions adm-a NONE
partitions adm-a INVALID_PARTITIONS
partitions adm-missing UNKNOWN_TOPIC_OR_PARTITION
topic adm-a partitions=5 internal=0 NONE
partition adm-a 0 leader=1 replicas=1 isr=1
partition adm-a 1 leader=1 replicas=1 isr=1
partition adm-a 2 leader=1 replicas=1 isr=1
partition adm-a 3 leader=1 replicas=1 isr=1
partition adm-a 4 leader=1 replicas=1 isr=1
topic adm-v partitions=0 internal=0 UNKNOWN_TOPIC_OR_PARTITION"

# Five records on partition 0 with timestamps 1700000000000 + i.
timeout 60 "$here/$B/tests/tools/client_produce" -b "$bootstrap" -t adm-a -p 0 -n 5 \
    >"$tmp/produce.out" 2>"$tmp/produce.err" || { cat "$tmp/produce.err"; exit 1; }
{
    admin offsets adm-a:0:earliest adm-a:0:latest adm-a:0:1700000000002 adm-a:0:1700000009999 \
        adm-a:0:max adm-a:1:latest adm-a:9:latest adm-missing:0:latest
    admin delete-records adm-a:0:3 adm-a:1:-1
    admin offsets adm-a:0:earliest
} >"$tmp/out"
check offsets "offset adm-a 0 earliest 0 -1 NONE
offset adm-a 0 latest 5 -1 NONE
offset adm-a 0 1700000000002 2 1700000000002 NONE
offset adm-a 0 1700000009999 -1 -1 NONE
offset adm-a 0 max 4 1700000000004 NONE
offset adm-a 1 latest 0 -1 NONE
offset adm-a 9 latest -1 -1 UNKNOWN_TOPIC_OR_PARTITION
offset adm-missing 0 latest -1 -1 UNKNOWN_TOPIC_OR_PARTITION
low adm-a 0 3 NONE
low adm-a 1 0 NONE
offset adm-a 0 earliest 3 -1 NONE"

{
    admin configs topic adm-a retention.ms cleanup.policy
    admin configs broker 1 num.partitions log.retention.hours
    admin configs topic adm-missing retention.ms
} >"$tmp/out"
check configs "config adm-a retention.ms=77777 DYNAMIC_TOPIC_CONFIG read_only=0
config adm-a cleanup.policy=delete DEFAULT_CONFIG read_only=0
config 1 num.partitions=1 STATIC_BROKER_CONFIG read_only=1
config 1 log.retention.hours=168 DEFAULT_CONFIG read_only=1
config adm-missing UNKNOWN_TOPIC_OR_PARTITION"

{
    admin commit adm-g1 adm-a:0:4 adm-a:2:1
    admin group-offsets adm-g1
} >"$tmp/out"
check group-offsets "commit adm-g1 adm-a 0 NONE
commit adm-g1 adm-a 2 NONE
committed adm-g1 adm-a 0 4 NONE
committed adm-g1 adm-a 2 1 NONE"

# A live consumer group: kcat joins and gets every partition of adm-a.
timeout 60 kcat -G adm-live -b "$bootstrap" -X client.id=adm-kcat -q adm-a >/dev/null 2>&1 &
consumer=$!
tries=0
while :; do
    admin describe-group adm-live >"$tmp/out" || true
    grep -q "^group adm-live Stable" "$tmp/out" && break
    tries=$((tries + 1))
    [ $tries -ge 30 ] && { echo "kcat's group never became stable"; cat "$tmp/out"; exit 1; }
    sleep 1
done
{
    admin describe-group adm-live adm-g1 adm-nobody
    admin groups
} >"$tmp/out"
check groups "group adm-live Stable consumer range members=1 NONE
member adm-live adm-kcat assigned=adm-a:0,adm-a:1,adm-a:2,adm-a:3,adm-a:4
group adm-g1 Empty - - members=0 NONE
group adm-nobody Dead - - members=0 GROUP_ID_NOT_FOUND
group adm-g1 Empty -
group adm-live Stable consumer"
kill "$consumer" 2>/dev/null || true
consumer=""

{
    admin delete adm-a adm-missing
    admin topics
} >"$tmp/out"
check delete "delete adm-a NONE
delete adm-missing UNKNOWN_TOPIC_OR_PARTITION"
echo "client-admin-kafka: all checks passed"
