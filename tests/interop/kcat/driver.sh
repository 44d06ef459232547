#!/usr/bin/env bash
# The kcat driver of samsa's interoperability tests.
#
#   driver.sh produce BOOTSTRAP TOPIC N [BASE_MS]
#   driver.sh consume BOOTSTRAP TOPIC GROUP N TIMEOUT_S
#
# produce: kcat takes one header list and no timestamp per invocation, so
# each message (key k-i, value v-i, header h=i) is one idempotent kcat run,
# partitioned by murmur2 of the key (librdkafka's murmur2_random); the
# broker sees one producer id per message and the timestamps are the
# client's creation times (BASE_MS is ignored).
# consume: one kcat balanced consumer (-G) that exits after N messages and
# commits on close (librdkafka's automatic offset store and commit); its
# JSON (-J) is rewritten into the drivers' common line format.
set -euo pipefail

die() { echo "kcat driver: $*" >&2; exit 1; }

produce() {
    local bootstrap=$1 topic=$2 n=$3 i
    for ((i = 0; i < n; i++)); do
        printf 'v-%d' "$i" |
            timeout 60 kcat -P -b "$bootstrap" -t "$topic" -k "k-$i" -H "h=$i" \
                -X enable.idempotence=true -X partitioner=murmur2_random \
                -X client.id=interop-kcat-producer -D '\n' -c 1 ||
            die "produce of message $i failed"
    done
}

consume() {
    local bootstrap=$1 topic=$2 group=$3 n=$4 timeout_s=$5
    timeout --kill-after=5 "$timeout_s" \
        kcat -C -b "$bootstrap" -G "$group" -c "$n" -J -q \
            -X client.id=interop-kcat-consumer -X auto.offset.reset=earliest "$topic" |
        python3 -c '
import json, sys
for raw in sys.stdin:
    m = json.loads(raw)
    h = m.get("headers") or []
    print(json.dumps({"partition": m["partition"], "offset": m["offset"],
                      "key": m.get("key"), "value": m.get("payload"),
                      "headers": [[h[j], h[j + 1]] for j in range(0, len(h), 2)],
                      "timestamp": m["ts"]}), flush=True)
'
    local rc=("${PIPESTATUS[@]}")
    ((rc[0] == 0)) || die "kcat consumer exited with ${rc[0]}"
    ((rc[1] == 0)) || die "output conversion failed"
}

case "${1:-} $#" in
    "produce 4" | "produce 5") produce "$2" "$3" "$4" ;;
    "consume 6") consume "$2" "$3" "$4" "$5" "$6" ;;
    *) die "usage: driver.sh produce BOOTSTRAP TOPIC N [BASE_MS] | consume BOOTSTRAP TOPIC GROUP N TIMEOUT_S" ;;
esac
