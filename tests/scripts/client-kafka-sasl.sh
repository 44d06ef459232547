#!/bin/sh
# samsa's client against Apache Kafka 4.4 over SASL_SSL: a single KRaft node
# on loopback with a SASL_SSL listener (certificates from
# tests/tools/certs.sh, PEM key store and trust store) enabling PLAIN,
# SCRAM-SHA-256 and SCRAM-SHA-512, the SCRAM users created at format time
# (StorageTool --add-scram). build/tests/integration/test_client_security,
# pointed at it with SAMSA_TEST_KAFKA_SASL_SSL, runs samsa's admin client,
# producer and consumer (assigned and in a group) with each mechanism, and
# checks that a wrong password, an unknown user and an untrusted broker
# certificate are each refused with their error and write nothing.
# Bounded in time; Kafka is always stopped.
#
# `client-kafka-sasl.sh --run CMD [ARG...]` runs CMD instead of the test,
# with the same environment plus SAMSA_TEST_KAFKA_PLAINTEXT (the node's
# PLAINTEXT listener), and exits with its status (tests/bench/sasl-ssl.sh).
set -e
B=${B:-build}
tmp=$(mktemp -d)
kdir="$tmp/kafka"
mkdir -p "$kdir/data"
pid=""
cleanup() {
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
        kill -TERM "$pid" 2>/dev/null || true
        i=0
        while kill -0 "$pid" 2>/dev/null && [ $i -lt 300 ]; do
            sleep 0.1
            i=$((i + 1))
        done
        kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
    fi
    rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

libs=$(tests/interop/kafka/fetch.sh)
sh tests/tools/certs.sh "$tmp/certs" >"$tmp/certs.log" 2>&1 || { cat "$tmp/certs.log"; exit 1; }
# Kafka's PEM key store: the private key, then the certificate.
cat "$tmp/certs/broker.key" "$tmp/certs/broker.pem" >"$kdir/keystore.pem"

ports=$(python3 -c '
import socket
socks = [socket.socket() for _ in range(3)]
for s in socks:
    s.bind(("127.0.0.1", 0))
print(" ".join(str(s.getsockname()[1]) for s in socks))')
port=${ports%% *}
sport=${ports##* }
cport=${ports#* }
cport=${cport%% *}
user=alice
password=alice-secret-1

cat >"$kdir/server.properties" <<EOF
process.roles=broker,controller
node.id=1
controller.quorum.bootstrap.servers=127.0.0.1:$cport
controller.listener.names=CONTROLLER
listeners=PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$cport,SASL_SSL://127.0.0.1:$sport
advertised.listeners=PLAINTEXT://127.0.0.1:$port,SASL_SSL://127.0.0.1:$sport
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT,SASL_SSL:SASL_SSL
sasl.enabled.mechanisms=PLAIN,SCRAM-SHA-256,SCRAM-SHA-512
listener.name.sasl_ssl.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required user_$user="$password";
listener.name.sasl_ssl.scram-sha-256.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
ssl.keystore.type=PEM
ssl.keystore.location=$kdir/keystore.pem
ssl.truststore.type=PEM
ssl.truststore.location=$tmp/certs/ca.pem
ssl.client.auth=none
log.dirs=$kdir/data
offsets.topic.replication.factor=1
offsets.topic.num.partitions=1
group.initial.rebalance.delay.ms=0
EOF

jopts="-Xms256m -Xmx1g -XX:+UseG1GC -Djava.awt.headless=true"
cid=$(python3 -c 'import base64, os; print(base64.urlsafe_b64encode(b"samsa-sasl-test!").decode().rstrip("="))')
# shellcheck disable=SC2086
timeout 120 java $jopts -cp "$libs/*" kafka.tools.StorageTool format --standalone -t "$cid" -c "$kdir/server.properties" \
    --add-scram "SCRAM-SHA-256=[name=$user,password=$password]" \
    --add-scram "SCRAM-SHA-512=[name=$user,password=$password]" >"$tmp/format.log" 2>&1 ||
    { cat "$tmp/format.log"; exit 1; }

# setsid: its own process group, stopped as a whole; timeout: a forgotten
# server dies on its own.
# shellcheck disable=SC2086
setsid sh -c 'echo $$ >"$1"; shift; exec "$@"' _ "$kdir/pid" \
    timeout --kill-after=30 300 java $jopts -cp "$libs/*" kafka.Kafka "$kdir/server.properties" \
    </dev/null >"$kdir/stdout.log" 2>&1 &
i=0
while [ ! -s "$kdir/pid" ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
pid=$(cat "$kdir/pid")
t0=$(date +%s)
until python3 tests/tools/kprobe.py "127.0.0.1:$port" >/dev/null 2>&1; do
    if ! kill -0 "$pid" 2>/dev/null || [ $(($(date +%s) - t0)) -ge 90 ]; then
        echo "Kafka did not start:"
        tail -n 40 "$kdir/stdout.log"
        exit 1
    fi
    sleep 0.5
done

SAMSA_TEST_KAFKA_SASL_SSL="127.0.0.1:$sport"
SAMSA_TEST_KAFKA_CA="$tmp/certs/ca.pem"
SAMSA_TEST_KAFKA_USER=$user
SAMSA_TEST_KAFKA_PASSWORD=$password
SAMSA_TEST_KAFKA_PLAINTEXT="127.0.0.1:$port"
export SAMSA_TEST_KAFKA_SASL_SSL SAMSA_TEST_KAFKA_CA SAMSA_TEST_KAFKA_USER SAMSA_TEST_KAFKA_PASSWORD
export SAMSA_TEST_KAFKA_PLAINTEXT
if [ "${1:-}" = --run ]; then
    shift
    status=0
    "$@" || status=$?
    exit $status
fi
if ! timeout 300 "$B/tests/integration/test_client_security" >"$tmp/test.log" 2>&1; then
    grep -v ' INFO ' "$tmp/test.log" | tail -n 40
    exit 1
fi
grep -E '^[0-9]+%: Checks' "$tmp/test.log"
