#!/usr/bin/env bash
# Run a throwaway single-node Apache Kafka 4.x (KRaft, combined
# broker+controller) on 127.0.0.1 for tests.
#
#   kafka.sh start DIR     format DIR, start the node, wait until it serves
#   kafka.sh stop DIR      stop it (TERM, then KILL after a grace period)
#   kafka.sh restart DIR   stop it and start it again on the same ports,
#                          keeping its data
#   kafka.sh status DIR    exit 0 if it is running
#
# After `start`, DIR holds:
#   bootstrap          HOST:PORT of the PLAINTEXT listener
#   pid                pid of the process group leader (see stop)
#   server.properties  the generated configuration
#   server.log         broker log;  stdout.log: JVM stdout/stderr
#   data/              the KRaft log directory
# and, when KAFKA_PROXY_PORT is set, also
#   proxied_upstream   HOST:PORT of a second listener that advertises
#                      127.0.0.1:$KAFKA_PROXY_PORT in Metadata and
#                      FindCoordinator answers, so that clients bootstrapped
#                      through a proxy on that port keep going through it.
#
# Environment:
#   KAFKA_LIBS         directory of jars (default: output of fetch.sh)
#   KAFKA_HEAP_OPTS    default: -Xms256m -Xmx1g
#   KAFKA_START_TIMEOUT seconds to wait for readiness (default 90)
#   KAFKA_MAX_SECONDS  hard lifetime limit of the server (default 3600)
#   KAFKA_PROXY_PORT   see proxied_upstream above
#   KAFKA_EXTRA_PROPS  extra lines appended to server.properties
#   KAFKA_LOG4J_EXTRA  extra lines appended to DIR/log4j2.properties (e.g.
#                      the request logger at DEBUG, to see every request)
#
# Everything listens on 127.0.0.1 only, on ports picked free at start.
# Callers should `trap 'kafka.sh stop DIR' EXIT`.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
tools="$here/../../tools"

die() { echo "kafka.sh: $*" >&2; exit 1; }
log() { echo "kafka.sh: $*" >&2; }

usage() { die "usage: kafka.sh start|stop|restart|status DIR"; }

# Print N distinct currently-free loopback TCP ports.
free_ports() {
    python3 - "$1" <<'EOF'
import socket, sys
socks = []
for _ in range(int(sys.argv[1])):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    socks.append(s)
print(" ".join(str(s.getsockname()[1]) for s in socks))
EOF
}

# Kafka cluster ids are 16 random bytes in URL-safe base64 without padding.
cluster_id() {
    python3 -c '
import base64, os
while True:
    s = base64.urlsafe_b64encode(os.urandom(16)).decode().rstrip("=")
    if not s.startswith("-"):
        print(s); break'
}

is_running() {
    local dir=$1 pid
    [[ -f "$dir/pid" ]] || return 1
    pid=$(cat "$dir/pid")
    [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null
}

# Set the caller's array jvm to the java command line for DIR and the jar
# directory LIBS.
jvm_command() {
    jvm=(java ${KAFKA_HEAP_OPTS:--Xms256m -Xmx1g}
         -XX:+UseG1GC -Djava.awt.headless=true
         -Dlog4j2.configurationFile="$1/log4j2.properties"
         -cp "$2/*")
}

# Start the node of DIR (configured and formatted) in the background and
# wait until it serves on PORT; XPORT is the proxied listener's port.
launch() {
    local dir=$1 libs=$2 port=$3 xport=$4
    local jvm
    jvm_command "$dir" "$libs"
    # setsid: a Ctrl-C in the caller's terminal must not reach the JVM
    # directly (stop does an orderly shutdown).  timeout: a forgotten
    # server dies on its own.  The shell writes its pid, then execs
    # timeout, which forwards TERM to java.
    setsid bash -c 'echo $$ >"$1"; shift; exec "$@"' _ "$dir/pid" \
        timeout --kill-after=30 "${KAFKA_MAX_SECONDS:-3600}" \
        "${jvm[@]}" kafka.Kafka "$dir/server.properties" \
        </dev/null >"$dir/stdout.log" 2>&1 &
    local i=0
    while [[ ! -s "$dir/pid" ]] && ((i++ < 50)); do sleep 0.1; done
    [[ -s "$dir/pid" ]] || die "launcher did not start"

    local limit=${KAFKA_START_TIMEOUT:-90} t0=$SECONDS
    while :; do
        if ! is_running "$dir"; then
            tail -n 40 "$dir/stdout.log" "$dir/server.log" >&2 2>/dev/null || true
            die "broker exited during startup (logs in $dir)"
        fi
        if python3 "$tools/kprobe.py" "127.0.0.1:$port" >/dev/null 2>&1; then
            break
        fi
        if ((SECONDS - t0 >= limit)); then
            tail -n 40 "$dir/server.log" >&2 2>/dev/null || true
            do_stop "$dir"
            die "broker not ready after ${limit}s"
        fi
        sleep 0.5
    done
    echo "127.0.0.1:$port" >"$dir/bootstrap"
    if [[ -n "${KAFKA_PROXY_PORT:-}" ]]; then
        echo "127.0.0.1:$xport" >"$dir/proxied_upstream"
    fi
    log "ready in $((SECONDS - t0))s: $(cat "$dir/bootstrap")"
}

do_start() {
    local dir=$1
    mkdir -p "$dir"
    dir=$(cd "$dir" && pwd)
    if is_running "$dir"; then
        die "already running in $dir (pid $(cat "$dir/pid"))"
    fi
    command -v java >/dev/null || die "java not found"
    command -v python3 >/dev/null || die "python3 not found"

    local libs=${KAFKA_LIBS:-}
    if [[ -z "$libs" ]]; then
        libs=$("$here/fetch.sh")
    fi
    [[ -d "$libs" ]] || die "no jar directory $libs"

    rm -rf "$dir/data" "$dir/bootstrap" "$dir/proxied_upstream" "$dir/pid"
    mkdir -p "$dir/data"

    local port cport xport
    read -r port cport xport < <(free_ports 3)

    local listeners="PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$cport"
    local advertised="PLAINTEXT://127.0.0.1:$port"
    local protomap="PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT"
    if [[ -n "${KAFKA_PROXY_PORT:-}" ]]; then
        listeners+=",PROXIED://127.0.0.1:$xport"
        advertised+=",PROXIED://127.0.0.1:$KAFKA_PROXY_PORT"
        protomap+=",PROXIED:PLAINTEXT"
    fi

    cat >"$dir/server.properties" <<EOF
# Generated by tests/interop/kafka/kafka.sh
process.roles=broker,controller
node.id=1
controller.quorum.bootstrap.servers=127.0.0.1:$cport
controller.listener.names=CONTROLLER
listeners=$listeners
advertised.listeners=$advertised
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=$protomap
log.dirs=$dir/data
num.partitions=1
default.replication.factor=1
min.insync.replicas=1
auto.create.topics.enable=true
offsets.topic.replication.factor=1
offsets.topic.num.partitions=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
# No time retention: tests write records with old timestamps (2023), which
# a time-based retention check would delete a few minutes after startup.
log.retention.ms=-1
log.segment.bytes=16777216
EOF
    if [[ -n "${KAFKA_EXTRA_PROPS:-}" ]]; then
        printf '%s\n' "$KAFKA_EXTRA_PROPS" >>"$dir/server.properties"
    fi

    cat >"$dir/log4j2.properties" <<EOF
status = warn
appender.file.type = File
appender.file.name = FILE
appender.file.fileName = $dir/server.log
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRef.file.ref = FILE
EOF
    if [[ -n "${KAFKA_LOG4J_EXTRA:-}" ]]; then
        printf '%s\n' "$KAFKA_LOG4J_EXTRA" >>"$dir/log4j2.properties"
    fi

    local jvm
    jvm_command "$dir" "$libs"

    log "formatting $dir/data"
    "${jvm[@]}" kafka.tools.StorageTool format --standalone \
        -t "$(cluster_id)" -c "$dir/server.properties" \
        >"$dir/format.log" 2>&1 || {
        cat "$dir/format.log" >&2
        die "storage format failed"
    }

    log "starting broker on 127.0.0.1:$port (controller $cport)"
    launch "$dir" "$libs" "$port" "$xport"
}

do_stop() {
    local dir=$1 pid
    if ! is_running "$dir"; then
        rm -f "$dir/pid"
        return 0
    fi
    pid=$(cat "$dir/pid")
    kill -TERM "$pid" 2>/dev/null || true
    local i
    for ((i = 0; i < 300; i++)); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
        log "broker $pid still alive after 30s, killing its process group"
        kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
        for ((i = 0; i < 50; i++)); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
    fi
    rm -f "$dir/pid"
    log "stopped"
}

# Stop the node of DIR and start it again on the same ports and data.
do_restart() {
    local dir=$1 port xport=""
    dir=$(cd "$dir" && pwd)
    [[ -f "$dir/server.properties" && -f "$dir/bootstrap" ]] || die "nothing started in $dir"
    port=$(sed 's/.*://' "$dir/bootstrap")
    if [[ -f "$dir/proxied_upstream" ]]; then
        xport=$(sed 's/.*://' "$dir/proxied_upstream")
    fi
    local libs=${KAFKA_LIBS:-}
    if [[ -z "$libs" ]]; then
        libs=$("$here/fetch.sh")
    fi
    do_stop "$dir"
    rm -f "$dir/bootstrap"
    log "restarting broker on 127.0.0.1:$port"
    launch "$dir" "$libs" "$port" "$xport"
}

[[ $# -eq 2 ]] || usage
case $1 in
    start) do_start "$2" ;;
    stop) do_stop "$2" ;;
    restart) do_restart "$2" ;;
    status) is_running "$2" ;;
    *) usage ;;
esac
