#!/bin/sh
# cli-consume.sh: `samsa consume` against `samsa broker`: the default
# output, every -f token and escape, -J (as kcat -J, and escaped JSON),
# -e, -c, -p, each -o form (beginning, end, stored, N, -N, @timestamp), a
# consumer group that resumes from its committed offsets, -X and -F; kcat
# reads what `samsa produce` wrote and `samsa consume` what kcat wrote;
# errors are "% " lines with exit 1; usage errors name the flag (exit 2).
set -eu
B=${B:-build}
BIN="$B/bin/samsa"
[ -x "$BIN" ] || { echo "missing $BIN"; exit 1; }
dir=$(mktemp -d)
. tests/scripts/broker-daemon.inc
need_kcat

# check_sorted WANT_FILE -- command...: the same lines in any order.
check_sorted() {
    want=$1
    shift 2
    status=0
    timeout 120 "$@" > "$dir/got" 2> "$dir/err" || status=$?
    [ "$status" = 0 ] || { echo "$*: exit $status:"; cat "$dir/err"; exit 1; }
    sort "$dir/got" > "$dir/got-sorted"
    sort "$want" > "$dir/want-sorted"
    cmp -s "$dir/want-sorted" "$dir/got-sorted" ||
        { echo "$*: unexpected lines:"; diff "$dir/want-sorted" "$dir/got-sorted"; exit 1; }
}

expect 0 '^Usage: samsa consume -b HOST:PORT -t TOPIC' -- "$BIN" consume --help
expect 0 '^  consume -b HOST:PORT -t TOPIC' -- "$BIN" --help
expect 2 '^% samsa consume: -t TOPIC is required$' -- "$BIN" consume -b x:1
expect 2 '^% samsa consume: -b HOST:PORT is required' -- "$BIN" consume -t t
expect 2 '^% samsa consume: unknown option --frob$' -- "$BIN" consume -b x:1 -t t --frob
expect 2 '^% samsa consume: -o: "middle" is not beginning, end, stored, N, -N or @MS$' -- \
    "$BIN" consume -b x:1 -t t -o middle
expect 2 '^% samsa consume: -o: "@x" is not beginning' -- "$BIN" consume -b x:1 -t t -o @x
expect 2 '^% samsa consume: -o: "-0" is not beginning' -- "$BIN" consume -b x:1 -t t -o -0
expect 2 '^% samsa consume: -o stored needs -g GROUP' -- "$BIN" consume -b x:1 -t t -o stored
expect 2 '^% samsa consume: -f: unknown token %Q in "x%Qy"$' -- "$BIN" consume -b x:1 -t t -f 'x%Qy'
expect 2 '^% samsa consume: -f: the format ends with a lone %$' -- "$BIN" consume -b x:1 -t t -f 'x%'
expect 2 '^% samsa consume: -J and -f exclude each other$' -- "$BIN" consume -b x:1 -t t -J -f '%s'
expect 2 '^% samsa consume: -p goes without -g' -- "$BIN" consume -b x:1 -t t -g g -p 0
expect 2 '^% samsa consume: -c: "0" is not an integer in 1\.\.' -- "$BIN" consume -b x:1 -t t -c 0
expect 2 '^% samsa consume: -p: "-1" is not an integer in 0\.\.' -- "$BIN" consume -b x:1 -t t -p -1
expect 2 '^% samsa consume: -g: the group id is empty$' -- "$BIN" consume -b x:1 -t t -g ''
expect 2 '^% samsa consume: unexpected argument extra$' -- "$BIN" consume -b x:1 -t t extra
expect 2 '^% samsa consume: -X "fetch.min.bytes" is not key=value$' -- \
    "$BIN" consume -b x:1 -t t -X fetch.min.bytes
expect 1 '^% samsa consume: consumer configuration: no.such.property' -- \
    "$BIN" consume -b x:1 -t t -X no.such.property=1

start_broker

# c3: three partitions of ten keyed messages each, with a header.
"$BIN" topics -b "$bootstrap" --create c3 --partitions 3 > /dev/null
for p in 0 1 2; do
    i=0
    : > "$dir/in-$p"
    while [ $i -lt 10 ]; do
        echo "k$i|p${p}v$i" >> "$dir/in-$p"
        i=$((i + 1))
    done
    timeout 60 "$BIN" produce -b "$bootstrap" -t c3 -p $p -k '|' -H h=1 < "$dir/in-$p"
done
sed 's/^k[0-9]*|//' "$dir/in-0" "$dir/in-1" "$dir/in-2" > "$dir/values-all"

# The default output: each value and a newline; one partition in order.
sed 's/^k[0-9]*|//' "$dir/in-1" > "$dir/want"
check "$dir/want" -- "$BIN" consume -b "$bootstrap" -t c3 -p 1 -e
check_sorted "$dir/values-all" -- "$BIN" consume -b "$bootstrap" -t c3 -e
echo "default format, -p, -e: ok"

# Every token but %T, and the escapes.
printf 'c3\t0\\8%%|k8|p0v8|4|2|h=1\nc3\t0\\9%%|k9|p0v9|4|2|h=1\n' > "$dir/want"
check "$dir/want" -- "$BIN" consume -b "$bootstrap" -t c3 -p 0 -o 8 -e \
    -f '%t\t%p\\%o%%|%k|%s|%S|%K|%h\n'
# %T, %S and %K as kcat prints them, null keys and values included.
printf 'a:1\nnokey\n' | kcat -b "$bootstrap" -t kc -P -K: -H x=y -H z
printf 'b:\n' | kcat -b "$bootstrap" -t kc -P -K: -Z
fmt='%t|%p|%o|%k|%s|%S|%K|%T|%h\n'
timeout 60 kcat -b "$bootstrap" -t kc -C -e -q -f "$fmt" > "$dir/want"
check "$dir/want" -- "$BIN" consume -b "$bootstrap" -t kc -e -f "$fmt"
echo "-f: ok"

# -J: kcat's objects, field for field.
timeout 60 kcat -b "$bootstrap" -t c3 -p 2 -C -e -q -J > "$dir/want"
check "$dir/want" -- "$BIN" consume -b "$bootstrap" -t c3 -p 2 -e -J
timeout 60 kcat -b "$bootstrap" -t kc -C -e -q -J > "$dir/want"
check "$dir/want" -- "$BIN" consume -b "$bootstrap" -t kc -e -J
# ... properly escaped: quotes, backslashes, control characters, UTF-8 as
# is, a byte that is not UTF-8 as U+FFFD; and valid JSON.
printf 'q"b\\s\tc\001u\303\251x\377\n' | timeout 60 "$BIN" produce -b "$bootstrap" -t esc
ts=$(timeout 60 kcat -b "$bootstrap" -t esc -C -e -q -f '%T')
printf '{"topic":"esc","partition":0,"offset":0,"tstype":"create","ts":%s,"broker":1,"key":null,"payload":"q\\"b\\\\s\\tc\\u0001u\303\251x\\ufffd"}\n' \
    "$ts" > "$dir/want"
check "$dir/want" -- "$BIN" consume -b "$bootstrap" -t esc -e --json
python3 -c 'import json, sys; [json.loads(l) for l in open(sys.argv[1], encoding="utf-8")]' "$dir/got"
echo "-J: ok"

# -o: N, -N (clamped at the start), end, @timestamp; -c.
printf 'p0v5\np0v6\n' > "$dir/want"
check "$dir/want" -- "$BIN" consume -b "$bootstrap" -t c3 -p 0 -o 5 -c 2
printf 'p2v7\np2v8\np2v9\n' > "$dir/want"
check "$dir/want" -- "$BIN" consume -b "$bootstrap" -t c3 -p 2 -o -3 -e
sed 's/^k[0-9]*|//' "$dir/in-2" > "$dir/want"
check "$dir/want" -- "$BIN" consume -b "$bootstrap" -t c3 -p 2 -o -30 -e
: > "$dir/want"
check "$dir/want" -- "$BIN" consume -b "$bootstrap" -t c3 -o end -e
check "$dir/want" -- "$BIN" consume -b "$bootstrap" -t c3 -o 10 -p 1 -e
printf 'p1v0\np1v1\np1v2\n' > "$dir/want"
check "$dir/want" -- "$BIN" consume -b "$bootstrap" -t c3 -p 1 -o beginning -c 3
# @MS: from the first message whose timestamp is at least MS.
timeout 60 kcat -b "$bootstrap" -t c3 -p 0 -C -e -q -f '%o %T\n' > "$dir/times"
t4=$(sed -n '5s/.* //p' "$dir/times")
awk -v t="$t4" '$2 >= t { print "p0v" $1 }' "$dir/times" > "$dir/want"
check "$dir/want" -- "$BIN" consume -b "$bootstrap" -t c3 -p 0 -o "@$t4" -e
: > "$dir/want"
check "$dir/want" -- "$BIN" consume -b "$bootstrap" -t c3 -o "@$((t4 + 86400000))" -e
echo "-o N, -N, end, beginning, @MS; -c: ok"

# A group: the first run takes 4 messages, the next the other 26 (from the
# committed offsets), the third none; -o beginning starts over.
"$BIN" consume -b "$bootstrap" -t c3 -g cg -c 4 > "$dir/first" 2> "$dir/err" ||
    { echo "-g cg -c 4 failed:"; cat "$dir/err"; exit 1; }
[ "$(wc -l < "$dir/first")" = 4 ] || { echo "-g cg -c 4:"; cat "$dir/first"; exit 1; }
timeout 120 "$BIN" consume -b "$bootstrap" -t c3 -G cg -e > "$dir/rest" 2> "$dir/err" ||
    { echo "-g cg -e failed:"; cat "$dir/err"; exit 1; }
cat "$dir/first" "$dir/rest" > "$dir/both"
check_sorted "$dir/values-all" -- cat "$dir/both"
: > "$dir/want"
check "$dir/want" -- "$BIN" consume -b "$bootstrap" -t c3 --group cg -o stored -e
check_sorted "$dir/values-all" -- "$BIN" consume -b "$bootstrap" -t c3 -g cg -o beginning -e
# -o with a group: every assigned partition starts there.
printf 'p0v9\np1v9\np2v9\n' > "$dir/want"
check_sorted "$dir/want" -- "$BIN" consume -b "$bootstrap" -t c3 -g cg2 -o -1 -e
# -o stored without -g, the group from -F; -X over -F.
printf 'group.id=cg\nfetch.max.wait.ms=5000\n' > "$dir/consumer.properties"
check_sorted "$dir/values-all" -- "$BIN" consume -b "$bootstrap" -t c3 -F "$dir/consumer.properties" \
    -X group.id=cg3 -X fetch.max.wait.ms=10 -o stored -e
echo "-g, -o stored, -F, -X: ok"

# Errors: a missing topic or partition; no broker.
expect 1 "^% samsa consume: topic 'nope' does not exist$" -- \
    "$BIN" consume -b "$bootstrap" -t nope -e
expect 1 "^% samsa consume: topic 'c3' has no partition 7 \\(it has 3\\)$" -- \
    "$BIN" consume -b "$bootstrap" -t c3 -p 7 -e
expect 1 '^% samsa consume: cannot look the topic up: ' -- \
    "$BIN" consume -b 127.0.0.1:1 -t c3 -e -X request.timeout.ms=1000 \
    -X socket.connection.setup.timeout.ms=500
echo "errors: ok"

# kcat reads what samsa produce wrote; samsa consume reads what kcat wrote.
printf 'k1:v1\n:empty key\nnokey\n' |
    timeout 60 "$BIN" produce -b "$bootstrap" -t from-samsa -k : -H a=b
printf 'k1|v1|a=b\n|empty key|a=b\n|nokey|a=b\n' > "$dir/want"
timeout 60 kcat -b "$bootstrap" -t from-samsa -C -e -q -f '%k|%s|%h\n' > "$dir/got"
cmp -s "$dir/want" "$dir/got" || { echo "kcat read:"; diff "$dir/want" "$dir/got"; exit 1; }
printf 'k1:v1\nk2:v:2\n' | kcat -b "$bootstrap" -t from-kcat -P -K: -H src=kcat
printf 'k1|v1|src=kcat\nk2|v:2|src=kcat\n' > "$dir/want"
check "$dir/want" -- "$BIN" consume -b "$bootstrap" -t from-kcat -e -f '%k|%s|%h\n'
echo "kcat interop: ok"
echo "samsa consume: ok"
