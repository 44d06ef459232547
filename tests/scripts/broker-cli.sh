#!/bin/sh
# broker-cli.sh: the `samsa` command line: help, usage errors that name the
# wrong flag, configuration errors that name the key, a properties file
# with --override taking precedence, and a clean stop on SIGINT.
set -eu
B=${B:-build}
BIN="$B/bin/samsa"
[ -x "$BIN" ] || { echo "missing $BIN"; exit 1; }
dir=$(mktemp -d)
pid=""
cleanup() {
    [ -n "$pid" ] && kill "$pid" 2>/dev/null || true
    rm -rf "$dir"
}
trap cleanup EXIT INT TERM

expect() { # expect STATUS PATTERN -- command...: exit status and a stderr/stdout line
    want_status=$1
    pattern=$2
    shift 3
    status=0
    "$@" > "$dir/out" 2>&1 || status=$?
    [ "$status" = "$want_status" ] || { echo "$*: exit $status, expected $want_status"; cat "$dir/out"; exit 1; }
    grep -q -- "$pattern" "$dir/out" || { echo "$*: no '$pattern' in:"; cat "$dir/out"; exit 1; }
}

expect 0 'broker \[FILE.properties\]' -- "$BIN" --help
expect 0 'Usage: samsa broker' -- "$BIN" broker --help
expect 2 'unknown command frob' -- "$BIN" frob
expect 2 'unknown option --frob' -- "$BIN" broker --frob
expect 2 '--override needs key=value' -- "$BIN" broker --override
expect 2 '"novalue" is not key=value' -- "$BIN" broker --override novalue
expect 1 'no.such.property' -- "$BIN" broker --override no.such.property=1 --override "log.dirs=$dir/x"
expect 1 'num.partitions' -- "$BIN" broker --override num.partitions=none --override "log.dirs=$dir/x"
expect 1 "cannot read $dir/missing.properties" -- "$BIN" broker "$dir/missing.properties"

# A file, one of whose values an override replaces
cat > "$dir/server.properties" <<PROPS
# as Kafka's own file would say it
node.id=3
listeners=PLAINTEXT://127.0.0.1:1
log.dirs=$dir/data
num.partitions = 4
PROPS
: > "$dir/log"
SAMSA_LOG_LEVEL=6 timeout 60 "$BIN" broker "$dir/server.properties" \
    --override listeners=PLAINTEXT://127.0.0.1:0 2> "$dir/log" &
pid=$!
i=0
while ! grep -q 'listening on PLAINTEXT://127.0.0.1:' "$dir/log"; do
    i=$((i + 1))
    [ $i -lt 100 ] || { echo "broker did not start:"; cat "$dir/log"; exit 1; }
    kill -0 "$pid" 2>/dev/null || { echo "broker exited:"; cat "$dir/log"; exit 1; }
    sleep 0.1
done
grep -q 'node.id=3' "$dir/data/meta.properties" || { echo "meta.properties lacks node.id=3"; exit 1; }
grep -q '^cluster.id=' "$dir/data/meta.properties" || { echo "meta.properties lacks cluster.id"; exit 1; }
kill -INT "$pid"
status=0
wait "$pid" || status=$?
pid=""
[ "$status" = 0 ] || { echo "SIGINT: exit $status"; cat "$dir/log"; exit 1; }
grep -q 'stopped cleanly' "$dir/log" || { echo "no clean stop in the log"; cat "$dir/log"; exit 1; }

# The same data dir with another node id is refused, naming both
expect 1 'node.id' -- "$BIN" broker "$dir/server.properties" --override node.id=4
echo "samsa command line: ok"
