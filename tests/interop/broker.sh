#!/usr/bin/env bash
# broker.sh: the broker under test of the interoperability suite.
#
#   broker.sh start DIR     start a fresh broker (empty data) in DIR
#   broker.sh stop DIR      stop it: TERM, then KILL after a grace period
#   broker.sh restart DIR   stop it and start it again on the same port,
#                           keeping its data, so DIR/bootstrap stays valid
#
# TARGET selects the broker:
#   samsa (default)  $SAMSA_BIN (default ${B:-build}/bin/samsa) run as
#                    `samsa broker --override listeners=PLAINTEXT://127.0.0.1:PORT
#                     --override log.dirs=DIR/data
#                     --override group.initial.rebalance.delay.ms=0`
#                    with PORT 0 on start (the broker logs
#                    "listening on PLAINTEXT://HOST:PORT" to stderr, which goes
#                    to DIR/broker.log) and the previous port on restart.
#   kafka            Apache Kafka 4.4 through tests/interop/kafka/kafka.sh.
# Either way DIR/bootstrap holds HOST:PORT and DIR/pid the pid once started.
#
# Env: SAMSA_START_TIMEOUT (seconds, default 20), SAMSA_MAX_SECONDS (hard
# lifetime of the samsa broker, default 1800).  Stop waits 30 s before KILL.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
target=${TARGET:-samsa}

log() { echo "broker.sh: $*" >&2; }
die() { log "$*"; exit 1; }

is_running() {
    local pid
    [[ -f "$1/pid" ]] || return 1
    pid=$(cat "$1/pid")
    [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null
}

samsa_launch() {
    local dir=$1 port=$2 bin=${SAMSA_BIN:-${B:-build}/bin/samsa}
    [[ "$bin" == /* ]] || bin="$root/$bin"
    [[ -x "$bin" ]] || die "no samsa binary at $bin (build it with make)"
    rm -f "$dir/bootstrap" "$dir/pid"
    : >"$dir/broker.log"
    # setsid keeps a terminal's Ctrl-C away from the broker (stop shuts it
    # down in order); timeout ends a forgotten broker.  The shell writes its
    # own pid and then becomes timeout, which passes TERM on to samsa.
    setsid bash -c 'echo $$ >"$1"; shift; exec "$@"' _ "$dir/pid" \
        timeout --kill-after=10 "${SAMSA_MAX_SECONDS:-1800}" \
        "$bin" broker \
        --override "listeners=PLAINTEXT://127.0.0.1:$port" \
        --override "log.dirs=$dir/data" \
        --override group.initial.rebalance.delay.ms=0 \
        </dev/null >"$dir/stdout.log" 2>"$dir/broker.log" &
    local i addr="" limit=$((${SAMSA_START_TIMEOUT:-20} * 10))
    for ((i = 0; i < limit; i++)); do
        addr=$(sed -n 's/.*listening on PLAINTEXT:\/\/\([^ ]*:[0-9][0-9]*\).*/\1/p' \
            "$dir/broker.log" | head -n1)
        [[ -n "$addr" ]] && break
        if [[ -s "$dir/pid" ]] && ! is_running "$dir"; then
            tail -n 30 "$dir/broker.log" >&2 || true
            die "samsa broker exited during startup (log: $dir/broker.log)"
        fi
        sleep 0.1
    done
    if [[ -z "$addr" ]]; then
        tail -n 30 "$dir/broker.log" >&2 || true
        samsa_stop "$dir"
        die "samsa broker did not report a listener within ${SAMSA_START_TIMEOUT:-20}s"
    fi
    echo "$addr" >"$dir/bootstrap"
    log "samsa broker ready: $addr (pid $(cat "$dir/pid"))"
}

# kafka.sh's stop works on any DIR/pid: TERM, a bounded wait, then KILL to
# the process group.
samsa_stop() {
    "$here/kafka/kafka.sh" stop "$1"
}

[[ $# -eq 2 ]] || die "usage: broker.sh start|stop|restart DIR"
cmd=$1
mkdir -p "$2"
dir=$(cd "$2" && pwd)

case "$target:$cmd" in
    kafka:start | kafka:stop | kafka:restart) exec "$here/kafka/kafka.sh" "$cmd" "$dir" ;;
    samsa:start)
        is_running "$dir" && die "already running in $dir"
        rm -rf "$dir/data"
        mkdir -p "$dir/data"
        samsa_launch "$dir" 0
        ;;
    samsa:stop) samsa_stop "$dir" ;;
    samsa:restart)
        [[ -f "$dir/bootstrap" ]] || die "nothing started in $dir"
        port=$(sed 's/.*://' "$dir/bootstrap")
        samsa_stop "$dir"
        samsa_launch "$dir" "$port"
        ;;
    *) die "unknown TARGET=$target or command $cmd (TARGET is samsa or kafka)" ;;
esac
