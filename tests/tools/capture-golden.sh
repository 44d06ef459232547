#!/usr/bin/env bash
# Recapture tests/data/golden/ and tests/data/batches/ from real clients
# talking to a real Apache Kafka 4.x broker through tests/tools/kproxy.py.
#
#   tests/tools/capture-golden.sh [CLIENTS]
#
# CLIENTS: comma list from kcat,kafka-python,librdkafka,java (default all).
# Installs what it needs (kcat from the distribution when root; the
# Python clients in a venv under the cache; the Java client comes with
# fetch.sh), starts a throwaway broker on 127.0.0.1, and always stops it.
# Env: SAMSA_CACHE (default ~/.cache/samsa), KAFKA_VERSION,
#      SAMSA_KEEP_WORK=1 keeps the raw capture and broker logs.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
tools="$root/tests/tools"
kafka="$root/tests/interop/kafka"
data="$root/tests/data"
cache=${SAMSA_CACHE:-$HOME/.cache/samsa}
clients=${1:-kcat,kafka-python,librdkafka,java}

log() { echo "capture-golden: $*" >&2; }

# ---- tools
if [[ ,$clients, == *,kcat,* ]] && ! command -v kcat >/dev/null; then
    [[ $(id -u) -eq 0 ]] || { log "kcat missing; install it"; exit 1; }
    DEBIAN_FRONTEND=noninteractive apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq kcat >&2
fi
libs=$("$kafka/fetch.sh")

venv="$cache/venv-golden"
pkgs=(kafka-python==3.0.12 confluent-kafka==2.16.1 python-snappy==0.7.3
      cramjam==2.14.0 lz4==4.4.5 zstandard==0.25.0)
if [[ ! -f "$venv/.pkgs" || "$(cat "$venv/.pkgs")" != "${pkgs[*]}" ]]; then
    log "preparing $venv"
    rm -rf "$venv"
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q --disable-pip-version-check "${pkgs[@]}" >&2
    echo "${pkgs[*]}" >"$venv/.pkgs"
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/samsa-golden.XXXXXX")
cap_pid=
cleanup() {
    if [[ -n "$cap_pid" ]] && kill -0 "$cap_pid" 2>/dev/null; then
        kill -TERM "$cap_pid" 2>/dev/null || true
        wait "$cap_pid" 2>/dev/null || true
    fi
    "$kafka/kafka.sh" stop "$work/kafka" || true
    if [[ -n "${SAMSA_KEEP_WORK:-}" ]]; then
        log "kept $work"
    else
        rm -rf "$work"
    fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

mkdir -p "$work/classes"
javac -d "$work/classes" -cp "$libs/*" "$tools/java/GoldenClient.java"
cat >"$work/log4j2.properties" <<'EOF'
status = warn
appender.err.type = Console
appender.err.name = ERR
appender.err.target = SYSTEM_ERR
appender.err.layout.type = PatternLayout
appender.err.layout.pattern = %p %m (%c)%n
rootLogger.level = WARN
rootLogger.appenderRef.err.ref = ERR
EOF

# ---- broker, advertising the proxy's port on its PROXIED listener
proxy_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
KAFKA_LIBS=$libs KAFKA_PROXY_PORT=$proxy_port "$kafka/kafka.sh" start "$work/kafka"

"$venv/bin/python" "$tools/capture_golden.py" \
    --proxy-port "$proxy_port" \
    --upstream "$(cat "$work/kafka/proxied_upstream")" \
    --work "$work" --data "$work/out" --clients "$clients" \
    --python "$venv/bin/python" \
    --java-cp "$work/classes:$libs/*" --java-log4j "$work/log4j2.properties" &
# In the background so that a TERM to this script runs the trap at once.
cap_pid=$!
wait "$cap_pid"
cap_pid=

# Only a complete capture replaces the data in the tree.
mkdir -p "$data/golden" "$data/batches"
for d in "$work/out/golden"/*/; do
    client=$(basename "$d")
    rm -rf "${data:?}/golden/$client"
    cp -r "$d" "$data/golden/$client"
done
cp "$work/out/batches"/* "$data/batches/"

# ---- what produced the data
kver=$(basename "$(dirname "$libs")")
{
    echo "broker: Apache Kafka ${kver#kafka-} (KRaft, single node)"
    if command -v kcat >/dev/null; then
        echo "kcat: $(kcat -V 2>&1 | sed -n 's/^Version \([^ ]*\) .*librdkafka \([^ ]*\) .*/\1, librdkafka \2/p') (Debian package $(dpkg-query -W -f='${Version}' kcat 2>/dev/null || echo '?'))"
    fi
    echo "kafka-python: $("$venv/bin/python" -c 'import kafka; print(kafka.__version__)')"
    echo "librdkafka: $("$venv/bin/python" -c 'import confluent_kafka as c; v = c.version(); v = v[0] if isinstance(v, tuple) else v; print("%s (confluent-kafka %s)" % (c.libversion()[0], v))')"
    echo "java: kafka-clients ${kver#kafka-} on $(java -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.runtime.version = //p' | head -n1)"
} >"$data/golden/VERSIONS"
log "done: $data/golden, $data/batches"
