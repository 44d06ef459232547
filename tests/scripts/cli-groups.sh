#!/bin/sh
# cli-groups.sh: `samsa groups` against `samsa broker`: --list, --describe
# in kafka-consumer-groups.sh's exact table (committed offsets, log end
# offsets and lag; members with their partitions), --reset-offsets of each
# kind as a dry run (nothing changes) and with --execute (a consumer then
# starts there), refused while the group has an active member; errors are
# "% " lines with exit 1; usage errors name the flag (exit 2).
set -eu
B=${B:-build}
BIN="$B/bin/samsa"
[ -x "$BIN" ] || { echo "missing $BIN"; exit 1; }
dir=$(mktemp -d)
. tests/scripts/broker-daemon.inc

member=""
cleanup_member() {
    if [ -n "$member" ]; then
        kill "$member" 2>/dev/null || true
        wait "$member" 2>/dev/null || true
    fi
    cleanup
}
trap cleanup_member EXIT INT TERM

expect 0 '^Usage: samsa groups -b HOST:PORT --list' -- "$BIN" groups --help
expect 0 '^  groups -b HOST:PORT --list\|--describe GROUP' -- "$BIN" --help
expect 2 '^% samsa groups: one of --list, --describe, --reset-offsets is required$' -- \
    "$BIN" groups -b x:1
expect 2 '^% samsa groups: --describe needs GROUP$' -- "$BIN" groups -b x:1 --describe
expect 2 '^% samsa groups: --list and --describe exclude each other$' -- \
    "$BIN" groups -b x:1 --list --describe g
expect 2 '^% samsa groups: --reset-offsets needs one of --to-earliest, --to-latest' -- \
    "$BIN" groups -b x:1 --reset-offsets g
expect 2 '^% samsa groups: --to-earliest and --to-offset exclude each other$' -- \
    "$BIN" groups -b x:1 --reset-offsets g --to-earliest --to-offset 3
expect 2 '^% samsa groups: --to-offset: "-1" is not an integer' -- \
    "$BIN" groups -b x:1 --reset-offsets g --to-offset -1
expect 2 '^% samsa groups: --shift-by: "x" is not an integer' -- \
    "$BIN" groups -b x:1 --reset-offsets g --shift-by x
expect 2 '^% samsa groups: --execute and --dry-run exclude each other$' -- \
    "$BIN" groups -b x:1 --reset-offsets g --to-latest --execute --dry-run
expect 2 '^% samsa groups: --to-latest goes with --reset-offsets only$' -- \
    "$BIN" groups -b x:1 --describe g --to-latest
expect 2 '^% samsa groups: --topic goes with --reset-offsets only$' -- \
    "$BIN" groups -b x:1 --describe g --topic t
expect 2 '^% samsa groups: --execute goes with --reset-offsets only$' -- \
    "$BIN" groups -b x:1 --describe g --execute
expect 2 "^% samsa groups: --topic \"t:x\": partitions are numbers after ':'" -- \
    "$BIN" groups -b x:1 --reset-offsets g --to-latest --topic t:x
expect 2 "^% samsa groups: --topic \":1\" names no topic$" -- \
    "$BIN" groups -b x:1 --reset-offsets g --to-latest --topic :1
expect 2 '^% samsa groups: --list takes no group \(got g\)$' -- "$BIN" groups -b x:1 --list g
expect 2 '^% samsa groups: unknown option --all-topics$' -- \
    "$BIN" groups -b x:1 --reset-offsets g --to-latest --all-topics

start_broker

# gt: three partitions of ten messages; group gr reads them all, then five
# more arrive in partition 1.
"$BIN" topics -b "$bootstrap" --create gt --partitions 3 > /dev/null
for p in 0 1 2; do
    seq 0 9 | sed "s/^/p$p-/" | timeout 60 "$BIN" produce -b "$bootstrap" -t gt -p $p
done
timeout 120 "$BIN" consume -b "$bootstrap" -t gt -g gr -e -q > /dev/null
seq 10 14 | sed 's/^/p1-/' | timeout 60 "$BIN" produce -b "$bootstrap" -t gt -p 1

printf 'gr\n' > "$dir/want"
check "$dir/want" -- "$BIN" groups -b "$bootstrap" --list
echo "--list: ok"

# --describe without members: kafka-consumer-groups.sh's table (a blank
# line first, columns at least 15 wide), and a "% " note on stderr.
cat > "$dir/want" <<'EOF'

GROUP           TOPIC           PARTITION  CURRENT-OFFSET  LOG-END-OFFSET  LAG             CONSUMER-ID     HOST            CLIENT-ID
gr              gt              0          10              10              0               -               -               -
gr              gt              1          10              15              5               -               -               -
gr              gt              2          10              10              0               -               -               -
EOF
check "$dir/want" -- "$BIN" groups -b "$bootstrap" --describe gr
check "$dir/want" -- "$BIN" groups --bootstrap-server="$bootstrap" --describe --group=gr
grep -q "^% samsa groups: consumer group 'gr' has no active members\.$" "$dir/err" ||
    { echo "--describe: no note on stderr:"; cat "$dir/err"; exit 1; }
expect 1 "^% samsa groups: consumer group 'nope' does not exist$" -- \
    "$BIN" groups -b "$bootstrap" --describe nope
echo "--describe: ok"

# reset_table OFFSET0 OFFSET1 OFFSET2: the plan for the three partitions.
reset_table() {
    printf '\nGROUP           TOPIC           PARTITION  NEW-OFFSET\n' > "$dir/want"
    p=0
    for o in "$@"; do
        printf 'gr              gt              %-10s %s\n' $p "$o" >> "$dir/want"
        p=$((p + 1))
    done
}
# describe_offsets CURRENT0 CURRENT1 CURRENT2: the committed offsets now.
describe_offsets() {
    "$BIN" groups -b "$bootstrap" --describe gr 2>/dev/null | awk 'NR > 2 { print $4 }' |
        tr '\n' ' ' > "$dir/current"
    [ "$(cat "$dir/current")" = "$* " ] ||
        { echo "committed offsets $(cat "$dir/current"), expected $*"; exit 1; }
}

# Dry runs print the plan and change nothing.
reset_table 0 0 0
check "$dir/want" -- "$BIN" groups -b "$bootstrap" --reset-offsets gr --to-earliest
grep -q '^% samsa groups: dry run: no offset was changed' "$dir/err" ||
    { echo "dry run: no note on stderr:"; cat "$dir/err"; exit 1; }
reset_table 10 15 10
check "$dir/want" -- "$BIN" groups -b "$bootstrap" --reset-offsets gr --to-latest --dry-run
reset_table 7 7 7
check "$dir/want" -- "$BIN" groups -b "$bootstrap" --reset-offsets gr --shift-by -3
reset_table 3 3 3
check "$dir/want" -- "$BIN" groups -b "$bootstrap" --reset-offsets gr --to-offset 3 --topic gt
# Kept within the log: past the end is the end, before the start the start.
reset_table 10 12 10
check "$dir/want" -- "$BIN" groups -b "$bootstrap" --reset-offsets gr --shift-by 2
reset_table 10 15 10
check "$dir/want" -- "$BIN" groups -b "$bootstrap" --reset-offsets gr --to-offset 100
grep -q '^% samsa groups: gt \[1\]: new offset 100 is past the log end offset: using 15$' "$dir/err" ||
    { echo "--to-offset 100: no note on stderr:"; cat "$dir/err"; exit 1; }
reset_table 0 0 0
check "$dir/want" -- "$BIN" groups -b "$bootstrap" --reset-offsets gr --shift-by -50
describe_offsets 10 10 10
# Some partitions only.
printf '\nGROUP           TOPIC           PARTITION  NEW-OFFSET\ngr              gt              1          4\n' \
    > "$dir/want"
check "$dir/want" -- "$BIN" groups -b "$bootstrap" --reset-offsets gr --to-offset 4 --topic gt:1
expect 1 "^% samsa groups: topic 'gt' has no partition 5$" -- \
    "$BIN" groups -b "$bootstrap" --reset-offsets gr --to-offset 4 --topic gt:1,5
expect 1 "^% samsa groups: topic 'nope' does not exist$" -- \
    "$BIN" groups -b "$bootstrap" --reset-offsets gr --to-offset 4 --topic nope
expect 1 "^% samsa groups: group 'empty' has no committed offsets: name the partitions" -- \
    "$BIN" groups -b "$bootstrap" --reset-offsets empty --to-earliest
expect 1 "^% samsa groups: cannot shift the offset of gt \[0\]: group 'other' has no committed" -- \
    "$BIN" groups -b "$bootstrap" --reset-offsets other --shift-by 1 --topic gt
describe_offsets 10 10 10
echo "--reset-offsets dry runs: ok"

# --execute commits; a consumer of the group then starts there.
"$BIN" groups -b "$bootstrap" --reset-offsets gr --to-offset 8 --topic gt:0 --execute > /dev/null
"$BIN" groups -b "$bootstrap" --reset-offsets gr --to-offset 4 --topic gt:1 --execute > /dev/null
printf '\nGROUP           TOPIC           PARTITION  NEW-OFFSET\ngr              gt              2          9\n' \
    > "$dir/want"
check "$dir/want" -- "$BIN" groups -b "$bootstrap" --reset-offsets gr --shift-by -1 --topic gt:2 \
    --execute
grep -q 'dry run' "$dir/err" && { echo "--execute: said dry run:"; cat "$dir/err"; exit 1; }
describe_offsets 8 4 9
printf '0 8\n0 9\n1 4\n1 5\n1 6\n1 7\n1 8\n1 9\n1 10\n1 11\n1 12\n1 13\n1 14\n2 9\n' > "$dir/want"
timeout 120 "$BIN" consume -b "$bootstrap" -t gt -g gr -e -q -f '%p %o\n' | sort -k1,1n -k2,2n > "$dir/got"
cmp -s "$dir/want" "$dir/got" || { echo "after --execute:"; diff "$dir/want" "$dir/got"; exit 1; }
describe_offsets 10 15 10
reset_table 0 0 0
check "$dir/want" -- "$BIN" groups -b "$bootstrap" --reset-offsets gr --to-earliest --execute
describe_offsets 0 0 0
echo "--reset-offsets --execute: ok"

# An active member: --describe shows it on every partition; offsets cannot
# be reset until it leaves.
# (Not under timeout(1), which would pass our SIGINT on twice; the exit
# trap ends it.)
"$BIN" consume -b "$bootstrap" -t gt -g gr -X client.id=cli-test -q > /dev/null 2> "$dir/member.err" &
member=$!
i=0
# (Until the group has assigned it the partitions: while it joins, it has a
# row of its own without any.)
until "$BIN" groups -b "$bootstrap" --describe gr > "$dir/described" 2>/dev/null &&
    [ "$(grep -c '^gr  *gt  .*cli-test$' "$dir/described")" = 3 ]; do
    i=$((i + 1))
    [ $i -lt 300 ] || { echo "the member never joined:"; cat "$dir/described" "$dir/member.err"; exit 1; }
    sleep 0.1
done
sed -n 2p "$dir/described" | grep -Eq '^GROUP {11}TOPIC {11}PARTITION  CURRENT-OFFSET  LOG-END-OFFSET  LAG {13}CONSUMER-ID +HOST {12}CLIENT-ID$' ||
    { echo "--describe with a member: header:"; cat "$dir/described"; exit 1; }
n=$(grep -Ec '^gr {14}gt {14}[012] {10}[0-9-]+ +1?[05] +[0-9-]+ +cli-test-[0-9a-f-]+ /127\.0\.0\.1 {6}cli-test$' "$dir/described" || true)
[ "$n" = 3 ] || { echo "--describe with a member: rows:"; cat "$dir/described"; exit 1; }
expect 1 "^% samsa groups: cannot reset the offsets of group 'gr': it has 1 active member\(s\) \(state Stable\)" -- \
    "$BIN" groups -b "$bootstrap" --reset-offsets gr --to-latest --execute
expect 1 "^% samsa groups: cannot reset the offsets of group 'gr'" -- \
    "$BIN" groups -b "$bootstrap" --reset-offsets gr --to-latest
kill -INT "$member"
status=0
wait "$member" || status=$?
member=""
[ "$status" = 0 ] || { echo "the member exited $status on SIGINT:"; cat "$dir/member.err"; exit 1; }
describe_offsets 10 15 10
reset_table 10 15 10
check "$dir/want" -- "$BIN" groups -b "$bootstrap" --reset-offsets gr --to-latest --execute
echo "active member: ok"

# Properties from -F and -X; no broker at the address.
printf 'client.id=groups-test\n' > "$dir/admin.properties"
printf 'gr\n' > "$dir/want"
check "$dir/want" -- "$BIN" groups -b "$bootstrap" -F "$dir/admin.properties" \
    -X request.timeout.ms=20000 --list
expect 1 '^% samsa groups: cannot list groups: ' -- \
    "$BIN" groups -b 127.0.0.1:1 --list --timeout 1500
echo "samsa groups: ok"
