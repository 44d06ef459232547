#!/bin/sh
# interop-sasl-ssl.sh: real Kafka clients against samsa's TLS and SASL
# listeners: the Java client (Kafka 4.4's console producer and consumer,
# with a consumer group) over SASL_SSL with SCRAM-SHA-512 and over SSL with
# a client certificate from a PEM key store; confluent-kafka (a current
# librdkafka) over SASL_SSL with SCRAM-SHA-256 and over SASL_PLAINTEXT with
# PLAIN; kafka-python over SASL_SSL with SCRAM-SHA-512. Every client reads
# back exactly what was written, and a wrong password is refused with
# SASL_AUTHENTICATION_FAILED. Installs the clients first when they are
# missing (tests/interop/setup.sh).
set -eu
B=${B:-build}
BIN="$B/bin/samsa"
[ -x "$BIN" ] || { echo "missing $BIN"; exit 1; }
env_file=$(bash tests/interop/setup.sh) || { echo "tests/interop/setup.sh failed"; exit 1; }
# shellcheck disable=SC1090
. "$env_file"
dir=$(mktemp -d)
. tests/scripts/secure-broker.inc

fail() { echo "FAIL: $*"; grep -av DEBUG "$dir/broker.log" | tail -n 20; exit 1; }

make_certs
write_properties
"$BIN" users add --config "$dir/broker.properties" --user alice --password alice-secret 2>/dev/null
start_broker
N=200
seq 1 $N | sed 's/^/record-/' > "$dir/want"

# ---- Java ----------------------------------------------------------------------
cat > "$dir/java-sasl.properties" <<EOF
security.protocol=SASL_SSL
sasl.mechanism=SCRAM-SHA-512
sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="alice" password="alice-secret";
ssl.truststore.type=PEM
ssl.truststore.location=$dir/certs/ca.pem
EOF
sed 's/password="alice-secret"/password="wrong"/' "$dir/java-sasl.properties" > "$dir/java-wrong.properties"
cat "$dir/certs/client.key" "$dir/certs/client.pem" > "$dir/certs/client-keystore.pem"
cat > "$dir/java-ssl.properties" <<EOF
security.protocol=SSL
ssl.truststore.type=PEM
ssl.truststore.location=$dir/certs/ca.pem
ssl.keystore.type=PEM
ssl.keystore.location=$dir/certs/client-keystore.pem
EOF
java_tool() { # CLASS PORT PROPERTIES ARGS...
    class=$1
    port=$2
    props=$3
    shift 3
    timeout 120 java -cp "$INTEROP_JAVA_CP" "$class" --bootstrap-server "127.0.0.1:$port" \
        --command-config "$props" "$@"
}
java_roundtrip() { # TOPIC PORT PROPERTIES
    java_tool org.apache.kafka.tools.ConsoleProducer "$2" "$3" --topic "$1" \
        < "$dir/want" > "$dir/java.out" 2>&1 || { cat "$dir/java.out"; fail "Java produce to $1"; }
    java_tool org.apache.kafka.tools.consumer.ConsoleConsumer "$2" "$3" --topic "$1" \
        --group "g-$1" --from-beginning --max-messages $N > "$dir/got" 2> "$dir/java.out" ||
        { cat "$dir/java.out"; fail "Java consume from $1"; }
    cmp -s "$dir/want" "$dir/got" || fail "Java read back other records from $1"
    echo "ok: Java client, $1"
}
java_roundtrip java-sasl-ssl "$SASL_SSL_PORT" "$dir/java-sasl.properties"
java_roundtrip java-ssl "$SSL_PORT" "$dir/java-ssl.properties"
expect_log 'authenticated as User:alice with SASL/SCRAM-SHA-512 on listener SASL_SSL'
if echo x | java_tool org.apache.kafka.tools.ConsoleProducer "$SASL_SSL_PORT" \
    "$dir/java-wrong.properties" --topic java-denied --producer-property max.block.ms=5000 \
    > "$dir/java.out" 2>&1 && ! grep -q 'SaslAuthenticationException' "$dir/java.out"; then
    fail "Java produced with a wrong password"
fi
grep -q 'SaslAuthenticationException: Authentication failed during authentication due to invalid credentials with SASL mechanism SCRAM-SHA-512' \
    "$dir/java.out" || { cat "$dir/java.out"; fail "Java did not see SASL_AUTHENTICATION_FAILED"; }
[ ! -e "$dir/data/java-denied-0" ] || fail "a refused Java producer created its topic"
echo "ok: Java client refused with a wrong password"

# ---- Python clients ---------------------------------------------------------------
cat > "$dir/clients.py" <<'EOF'
import sys

def confluent(port, protocol, mechanism, password, ca, topic, want):
    from confluent_kafka import Consumer, KafkaException, Producer
    conf = {"bootstrap.servers": "127.0.0.1:%d" % port, "security.protocol": protocol,
            "sasl.mechanisms": mechanism, "sasl.username": "alice", "sasl.password": password}
    if protocol == "SASL_SSL":
        conf["ssl.ca.location"] = ca
    errors, auth = [], []
    p = Producer(dict(conf, **{"message.timeout.ms": 8000,
                               "error_cb": lambda err: auth.append(err.str())}))
    for line in want:
        p.produce(topic, line.encode(), on_delivery=lambda err, msg: err and errors.append(err))
    p.flush(30)
    if errors:
        return "produce failed: %s" % (auth[0] if auth else errors[0])
    c = Consumer(dict(conf, **{"group.id": "g-" + topic, "auto.offset.reset": "earliest"}))
    c.subscribe([topic])
    got = []
    for _ in range(60):
        for m in c.consume(num_messages=len(want), timeout=1):
            if m.error():
                raise KafkaException(m.error())
            got.append(m.value().decode())
        if len(got) >= len(want):
            break
    c.close()
    return "ok" if got == want else "read back %d records" % len(got)

def kafka_python(port, password, ca, topic, want):
    from kafka import KafkaConsumer, KafkaProducer
    conf = dict(bootstrap_servers="127.0.0.1:%d" % port, security_protocol="SASL_SSL",
                sasl_mechanism="SCRAM-SHA-512", sasl_plain_username="alice",
                sasl_plain_password=password, ssl_cafile=ca)
    p = KafkaProducer(**conf)
    for line in want:
        p.send(topic, line.encode())
    p.flush(30)
    p.close()
    c = KafkaConsumer(topic, group_id="g-" + topic, auto_offset_reset="earliest",
                      consumer_timeout_ms=20000, **conf)
    got = []
    for m in c:
        got.append(m.value.decode())
        if len(got) >= len(want):
            break
    c.close()
    return "ok" if got == want else "read back %d records" % len(got)

what, port, ca, want_file = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
want = open(want_file).read().split()
if what == "confluent":
    print(confluent(port, sys.argv[5], sys.argv[6], sys.argv[7], ca, sys.argv[8], want))
else:
    print(kafka_python(port, sys.argv[5], ca, sys.argv[6], want))
EOF
py() { timeout 180 "$INTEROP_PYTHON" "$dir/clients.py" "$@" 2> "$dir/py.err"; }
out=$(py confluent "$SASL_SSL_PORT" "$dir/certs/ca.pem" "$dir/want" SASL_SSL SCRAM-SHA-256 \
    alice-secret ck-sasl-ssl) || true
[ "$out" = ok ] || { cat "$dir/py.err"; fail "confluent-kafka SASL_SSL SCRAM-SHA-256: $out"; }
echo "ok: confluent-kafka, SASL_SSL SCRAM-SHA-256"
out=$(py confluent "$SASL_PLAINTEXT_PORT" "$dir/certs/ca.pem" "$dir/want" SASL_PLAINTEXT PLAIN \
    alice-secret ck-sasl-plain) || true
[ "$out" = ok ] || { cat "$dir/py.err"; fail "confluent-kafka SASL_PLAINTEXT PLAIN: $out"; }
echo "ok: confluent-kafka, SASL_PLAINTEXT PLAIN"
out=$(py confluent "$SASL_SSL_PORT" "$dir/certs/ca.pem" "$dir/want" SASL_SSL SCRAM-SHA-512 \
    wrong ck-denied) || true
case $out in
"produce failed: "*"Authentication failed during authentication due to invalid credentials with SASL mechanism SCRAM-SHA-512"*) ;;
*) cat "$dir/py.err"; fail "confluent-kafka with a wrong password: $out" ;;
esac
[ ! -e "$dir/data/ck-denied-0" ] || fail "a refused confluent-kafka producer created its topic"
echo "ok: confluent-kafka refused with a wrong password"
out=$(py kafka-python "$SASL_SSL_PORT" "$dir/certs/ca.pem" "$dir/want" alice-secret kp-sasl-ssl) ||
    true
[ "$out" = ok ] || { cat "$dir/py.err"; fail "kafka-python SASL_SSL SCRAM-SHA-512: $out"; }
echo "ok: kafka-python, SASL_SSL SCRAM-SHA-512"

stop_broker
echo "interop-sasl-ssl: ok"
