#!/bin/sh
# broker-tls.sh: `samsa broker` with PLAINTEXT, SSL, SASL_PLAINTEXT and
# SASL_SSL listeners at once, against kcat (librdkafka), openssl s_client
# and a raw-socket probe:
#   - produce and consume on every listener, with every SASL mechanism
#     (PLAIN, SCRAM-SHA-256, SCRAM-SHA-512), and 20000 records of 1 KB over
#     SASL_SSL read back whole over SASL_SSL and SSL;
#   - metadata advertises the listener the client connected on;
#   - TLS 1.2 and 1.3; the client certificate's subject is the principal;
#   - refused, logged and nothing written: wrong password, unknown user,
#     missing, untrusted or expired client certificate (ssl.client.auth=
#     required), a plaintext client on a TLS port, a TLS client on a
#     plaintext port, a request before authentication, an unknown
#     mechanism; failures answered after a growing delay;
#   - SaslHandshake v0 (bare tokens) and SaslHandshake on a listener
#     without SASL;
#   - SIGTERM still stops the broker cleanly;
#   - custom listener names (listener.security.protocol.map) advertised
#     under another host name; configuration errors naming the property.
set -eu
B=${B:-build}
BIN="$B/bin/samsa"
[ -x "$BIN" ] || { echo "missing $BIN"; exit 1; }
command -v openssl >/dev/null 2>&1 || { echo "openssl is missing"; exit 1; }
command -v python3 >/dev/null 2>&1 || { echo "python3 is missing"; exit 1; }
dir=$(mktemp -d)
. tests/scripts/secure-broker.inc
need_kcat

make_certs
write_properties
"$BIN" users add --config "$dir/broker.properties" --user alice --password alice-secret 2>/dev/null
"$BIN" users add --config "$dir/broker.properties" --user bob --mechanism SCRAM-SHA-256 \
    --password bob-secret 2>/dev/null
start_broker

fail() { echo "FAIL: $*"; grep -av DEBUG "$dir/broker.log" | tail -n 20; exit 1; }

# ---- every listener, every mechanism -------------------------------------

# roundtrip NAME KCAT-FUNCTION ARGS...: produce three keyed records to topic
# NAME and read them back exactly.
roundtrip() {
    topic=$1
    shift
    printf 'k1:one\nk2:two\nk3:three\n' | "$@" -P -t "$topic" -K: ||
        fail "$topic: produce failed"
    got=$("$@" -C -t "$topic" -e -q -f '%k=%s\n' 2>"$dir/err") ||
        { cat "$dir/err"; fail "$topic: consume failed"; }
    [ "$got" = "$(printf 'k1=one\nk2=two\nk3=three')" ] || fail "$topic: read back '$got'"
    echo "ok: $topic"
}
roundtrip t-plaintext kcat_plain --
roundtrip t-ssl kcat_ssl client --
roundtrip t-sasl-plaintext-scram256 kcat_sasl SASL_PLAINTEXT SCRAM-SHA-256 alice alice-secret --
roundtrip t-sasl-plaintext-plain kcat_sasl SASL_PLAINTEXT PLAIN alice alice-secret --
roundtrip t-sasl-ssl-scram512 kcat_sasl SASL_SSL SCRAM-SHA-512 alice alice-secret --
roundtrip t-sasl-ssl-scram256 kcat_sasl SASL_SSL SCRAM-SHA-256 bob bob-secret --
roundtrip t-sasl-ssl-plain kcat_sasl SASL_SSL PLAIN bob bob-secret --
expect_log 'authenticated as User:alice with SASL/SCRAM-SHA-512 on listener SASL_SSL'
expect_log 'authenticated as User:bob with SASL/PLAIN on listener SASL_SSL'
expect_log 'TLSv1.3 established, client certificate CN=client,OU=test,O=samsa'

# ---- bulk over TLS: large fetch responses go through SSL_write ------------
python3 -c '
import sys
for i in range(20000):
    sys.stdout.write("%05d:%s\n" % (i, ("r%05d" % i) * 166))' > "$dir/bulk"
kcat_sasl SASL_SSL SCRAM-SHA-512 alice alice-secret -- -P -t bulk -K: -X linger.ms=20 \
    < "$dir/bulk" || fail "bulk produce"
want=$(sort "$dir/bulk" | md5sum)
got=$(kcat_sasl SASL_SSL SCRAM-SHA-512 alice alice-secret -- -C -t bulk -e -q -f '%k:%s\n' |
    sort | md5sum)
[ "$got" = "$want" ] || fail "bulk read back over SASL_SSL differs"
got=$(kcat_ssl client -- -C -t bulk -e -q -f '%k:%s\n' | sort | md5sum)
[ "$got" = "$want" ] || fail "bulk read back over SSL differs"
got=$(kcat_plain -- -C -t bulk -e -q -f '%k:%s\n' | sort | md5sum)
[ "$got" = "$want" ] || fail "bulk read back over PLAINTEXT differs"
echo "ok: 20000 records of 1 KB over SASL_SSL, read back over SASL_SSL, SSL and PLAINTEXT"

# ---- metadata names the listener connected to -----------------------------
kcat_sasl SASL_SSL SCRAM-SHA-512 alice alice-secret -- -L -t bulk > "$dir/md"
grep -q "broker 1 at 127.0.0.1:$SASL_SSL_PORT" "$dir/md" || { cat "$dir/md"; fail "SASL_SSL metadata"; }
kcat_ssl client -- -L -t bulk > "$dir/md"
grep -q "broker 1 at 127.0.0.1:$SSL_PORT" "$dir/md" || { cat "$dir/md"; fail "SSL metadata"; }
kcat_plain -- -L -t bulk > "$dir/md"
grep -q "broker 1 at 127.0.0.1:$PLAINTEXT_PORT" "$dir/md" || fail "PLAINTEXT metadata"
echo "ok: metadata advertises each client's listener"

# ---- TLS versions -----------------------------------------------------------
for v in 1_2 1_3; do
    out=$(echo | timeout 20 openssl s_client -connect "127.0.0.1:$SSL_PORT" -tls$v -brief \
        -CAfile "$dir/certs/ca.pem" -cert "$dir/certs/client.pem" -key "$dir/certs/client.key" \
        2>&1 || true)
    echo "$out" | grep -q "Protocol version: TLSv$(echo $v | tr _ .)" ||
        { echo "$out"; fail "TLS $v handshake"; }
done
echo "ok: TLS 1.2 and TLS 1.3"

# ---- refusals -----------------------------------------------------------------
# refused NAME PATTERN KCAT-FUNCTION ARGS...: producing to topic NAME fails,
# the broker logs PATTERN and the topic is never created.
refused() {
    topic=$1
    pattern=$2
    shift 2
    if echo "x" | "$@" -P -t "$topic" -X message.timeout.ms=3000 -X socket.timeout.ms=3000 \
        > "$dir/out" 2>&1; then
        fail "$topic: produce succeeded"
    fi
    expect_log "$pattern"
    [ ! -e "$dir/data/$topic-0" ] || fail "$topic: the topic was created"
    echo "ok: refused $topic"
}
refused denied-wrong-password 'SCRAM-SHA-512 authentication failed on listener SASL_SSL for user alice: invalid credentials' \
    kcat_sasl SASL_SSL SCRAM-SHA-512 alice wrong --
grep -q 'Authentication failed during authentication due to invalid credentials' "$dir/out" ||
    { cat "$dir/out"; fail "the client did not see SASL_AUTHENTICATION_FAILED"; }
refused denied-unknown-user 'for user mallory: unknown user' \
    kcat_sasl SASL_PLAINTEXT SCRAM-SHA-256 mallory whatever --
refused denied-plain-password 'SASL/PLAIN authentication failed on listener SASL_PLAINTEXT for user alice: wrong password' \
    kcat_sasl SASL_PLAINTEXT PLAIN alice wrong --
refused denied-no-cert 'did not return a certificate on listener SSL' kcat_ssl none --
refused denied-untrusted 'certificate verification failed \(unable to get local issuer certificate\)' \
    kcat_ssl untrusted --
refused denied-expired 'certificate verification failed \(certificate has expired\)' kcat_ssl expired --
refused denied-plaintext-on-ssl 'not a TLS handshake on SSL listener SSL' \
    timeout 60 kcat -b "127.0.0.1:$SSL_PORT"
refused denied-plaintext-on-sasl-ssl 'not a TLS handshake on SASL_SSL listener SASL_SSL' \
    timeout 60 kcat -b "127.0.0.1:$SASL_SSL_PORT"
refused denied-ssl-on-plaintext 'a TLS handshake on PLAINTEXT listener PLAINTEXT' \
    timeout 60 kcat -b "127.0.0.1:$PLAINTEXT_PORT" -X security.protocol=SSL \
    -X "ssl.ca.location=$dir/certs/ca.pem"
refused denied-no-sasl 'request before authentication \(api key 3 ' \
    timeout 60 kcat -b "127.0.0.1:$SASL_PLAINTEXT_PORT"
refused denied-sasl-without-tls 'not a TLS handshake on SASL_SSL listener' \
    timeout 60 kcat -b "127.0.0.1:$SASL_SSL_PORT" -X security.protocol=SASL_PLAINTEXT \
    -X sasl.mechanisms=PLAIN -X sasl.username=alice -X sasl.password=alice-secret
# each failure from 127.0.0.1 within a minute doubles the delay (50 ms base)
expect_log 'closing in 50 ms'
expect_log 'closing in 100 ms'
expect_log 'closing in 200 ms'
! grep -aq 'alice-secret\|bob-secret' "$dir/broker.log" || fail "a password in the log"

# ---- raw protocol probes ---------------------------------------------------------
cat > "$dir/probe.py" <<'EOF'
import socket, struct, sys

def request(key, version, corr, body):
    head = struct.pack(">hhih", key, version, corr, 5) + b"probe"
    msg = head + body
    return struct.pack(">i", len(msg)) + msg

def kstr(s):
    b = s.encode()
    return struct.pack(">h", len(b)) + b

def recv_frame(s):
    size = b""
    while len(size) < 4:
        chunk = s.recv(4 - len(size))
        if not chunk:
            return None
        size += chunk
    n = struct.unpack(">i", size)[0]
    data = b""
    while len(data) < n:
        chunk = s.recv(n - len(data))
        if not chunk:
            return None
        data += chunk
    return data

def handshake(s, version, mechanism, corr=1):
    s.sendall(request(17, version, corr, kstr(mechanism)))
    r = recv_frame(s)
    err, count = struct.unpack(">hi", r[4:10])
    pos, names = 10, []
    for _ in range(count):
        n = struct.unpack(">h", r[pos:pos + 2])[0]
        names.append(r[pos + 2:pos + 2 + n].decode())
        pos += 2 + n
    return err, names

def closed(s):
    try:
        return s.recv(1) == b""
    except ConnectionResetError:
        return True

port = int(sys.argv[2])
s = socket.create_connection(("127.0.0.1", port), timeout=20)
what = sys.argv[1]
if what == "v0-plain":
    user, password = sys.argv[3], sys.argv[4]
    err, names = handshake(s, 0, "PLAIN")
    assert err == 0, err
    token = b"\0" + user.encode() + b"\0" + password.encode()
    s.sendall(struct.pack(">i", len(token)) + token)
    reply = recv_frame(s)
    if reply is None:
        print("closed")
        sys.exit(0)
    assert reply == b"", reply
    s.sendall(request(3, 1, 2, struct.pack(">i", -1)))
    r = recv_frame(s)
    assert r is not None and struct.unpack(">i", r[:4])[0] == 2
    print("authenticated, metadata answered")
elif what == "produce-before-auth":
    s.sendall(request(0, 3, 7, struct.pack(">hhi", -1, 1, 1000) + struct.pack(">i", 1) +
                      kstr("never") + b"\0" * 16))
    print("closed" if closed(s) else "open")
elif what == "mechanism":
    err, names = handshake(s, 1, sys.argv[3])
    print("error %d mechanisms %s %s" % (err, ",".join(names), "closed" if closed(s) else "open"))
elif what == "handshake-on-plaintext":
    err, names = handshake(s, 1, "PLAIN")
    s.sendall(request(18, 0, 9, b""))
    r = recv_frame(s)
    print("error %d then %s" % (err, "answered" if r and r[:4] == struct.pack(">i", 9) else "closed"))
elif what in ("authenticate-v0", "authenticate-and-leave"):
    user, password = sys.argv[3], sys.argv[4]
    err, names = handshake(s, 1, "PLAIN")
    token = b"\0" + user.encode() + b"\0" + password.encode()
    s.sendall(request(36, 0, 3, struct.pack(">i", len(token)) + token))
    if what == "authenticate-and-leave":
        s.close()
        print("left")
        sys.exit(0)
    r = recv_frame(s)
    err = struct.unpack(">h", r[4:6])[0]
    n = struct.unpack(">h", r[6:8])[0]
    message = r[8:8 + n].decode() if n >= 0 else ""
    if err == 0:
        s.sendall(request(3, 1, 4, struct.pack(">i", -1)))
        r = recv_frame(s)
        print("error 0, metadata %s" % ("answered" if r and r[:4] == struct.pack(">i", 4) else "not answered"))
    else:
        print("error %d %s %s" % (err, message, "closed" if closed(s) else "open"))
EOF
probe() { timeout 60 python3 "$dir/probe.py" "$@"; }
out=$(probe v0-plain "$SASL_PLAINTEXT_PORT" alice alice-secret)
[ "$out" = "authenticated, metadata answered" ] || fail "SaslHandshake v0 + PLAIN: $out"
out=$(probe v0-plain "$SASL_PLAINTEXT_PORT" alice wrong)
[ "$out" = "closed" ] || fail "SaslHandshake v0 with a wrong password: $out"
out=$(probe produce-before-auth "$SASL_PLAINTEXT_PORT")
[ "$out" = "closed" ] || fail "Produce before authentication: $out"
expect_log 'request before authentication \(api key 0 v3, correlation id 7\); closing'
[ ! -e "$dir/data/never-0" ] || fail "Produce before authentication created its topic"
out=$(probe mechanism "$SASL_PLAINTEXT_PORT" GSSAPI)
[ "$out" = "error 33 mechanisms PLAIN,SCRAM-SHA-256,SCRAM-SHA-512 closed" ] ||
    fail "unknown mechanism: $out"
expect_log 'SASL mechanism "GSSAPI" is not enabled on listener SASL_PLAINTEXT'
out=$(probe handshake-on-plaintext "$PLAINTEXT_PORT")
[ "$out" = "error 34 then answered" ] || fail "SaslHandshake on PLAINTEXT: $out"
out=$(probe authenticate-v0 "$SASL_PLAINTEXT_PORT" bob bob-secret)
[ "$out" = "error 0, metadata answered" ] || fail "SaslAuthenticate v0: $out"
out=$(probe authenticate-v0 "$SASL_PLAINTEXT_PORT" bob wrong)
[ "$out" = "error 58 Authentication failed during authentication due to invalid credentials with SASL mechanism PLAIN closed" ] ||
    fail "SaslAuthenticate v0 with a wrong password: $out"
# a client that leaves while its failure's answer is held back
out=$(probe authenticate-and-leave "$SASL_PLAINTEXT_PORT" bob wrong)
[ "$out" = left ] || fail "authenticate-and-leave: $out"
echo "ok: SaslHandshake v0, SaslAuthenticate v0, unknown mechanism, request before authentication"

# the broker survived all of it and stops cleanly
roundtrip t-after kcat_sasl SASL_SSL SCRAM-SHA-512 alice alice-secret --
stop_broker

# ---- custom listener names, advertised as localhost -----------------------------
cat > "$dir/custom.properties" <<EOF
log.dirs=$dir/data
listeners=INTERNAL://127.0.0.1:0,CLIENTS://127.0.0.1:0
listener.security.protocol.map=INTERNAL:PLAINTEXT, CLIENTS:SASL_SSL
advertised.listeners=CLIENTS://localhost:0
ssl.certificate.location=$dir/certs/broker.pem
ssl.key.location=$dir/certs/broker.key
sasl.enabled.mechanisms=SCRAM-SHA-512
sasl.credentials.file=$dir/credentials
EOF
start_broker "$dir/custom.properties" CLIENTS
internal=$(port_of INTERNAL)
clients=$(port_of CLIENTS)
expect_log "listening on CLIENTS://127.0.0.1:$clients \(SASL_SSL, clients use localhost:$clients\)"
SASL_SSL_PORT=$clients
roundtrip t-custom kcat_sasl SASL_SSL SCRAM-SHA-512 alice alice-secret --
kcat_sasl SASL_SSL SCRAM-SHA-512 alice alice-secret -- -L -t t-custom > "$dir/md"
grep -q "broker 1 at localhost:$clients" "$dir/md" || { cat "$dir/md"; fail "CLIENTS metadata"; }
timeout 60 kcat -b "127.0.0.1:$internal" -L -t t-custom > "$dir/md"
grep -q "broker 1 at 127.0.0.1:$internal" "$dir/md" || { cat "$dir/md"; fail "INTERNAL metadata"; }
stop_broker
echo "ok: custom listener names"

# ---- configuration errors -------------------------------------------------------
# bad_config PATTERN ARGS...: `samsa broker ARGS` refuses to start, saying why
bad_config() {
    pattern=$1
    shift
    status=0
    "$BIN" broker --override "log.dirs=$dir/data" "$@" > "$dir/out" 2>&1 || status=$?
    [ "$status" = 1 ] || { cat "$dir/out"; fail "broker $*: exit $status"; }
    grep -Eq -- "$pattern" "$dir/out" || { cat "$dir/out"; fail "broker $*: no '$pattern'"; }
}
cert="ssl.certificate.location=$dir/certs/broker.pem"
key="ssl.key.location=$dir/certs/broker.key"
bad_config 'listener FOO is not a security protocol' --override listeners=FOO://127.0.0.1:0
bad_config 'SSL \(SSL\) needs ssl.certificate.location' --override listeners=SSL://127.0.0.1:0
bad_config 'needs sasl.credentials.file' --override listeners=SASL_PLAINTEXT://127.0.0.1:0
bad_config 'ssl.client.auth: "maybe" is not none, requested or required' \
    --override ssl.client.auth=maybe
bad_config 'sasl.enabled.mechanisms: "GSSAPI"' --override sasl.enabled.mechanisms=GSSAPI
bad_config 'ssl.enabled.protocols: "TLSv1.1"' --override ssl.enabled.protocols=TLSv1.1
bad_config 'use the same port 19092' \
    --override listeners=PLAINTEXT://127.0.0.1:19092,SASL_PLAINTEXT://127.0.0.1:19092
bad_config 'advertised.listeners: OTHER is not a listener name' \
    --override advertised.listeners=OTHER://example.org:1
bad_config 'ssl.certificate.location .*nope.pem: cannot load' \
    --override listeners=SSL://127.0.0.1:0 --override "$key" \
    --override "ssl.certificate.location=$dir/certs/nope.pem"
bad_config 'ssl.key.location .*client.key: cannot load the private key.*mismatch' \
    --override listeners=SSL://127.0.0.1:0 --override "$cert" \
    --override "ssl.key.location=$dir/certs/client.key"
bad_config 'ssl.client.auth=required needs ssl.ca.location' \
    --override listeners=SSL://127.0.0.1:0 --override "$cert" --override "$key" \
    --override ssl.client.auth=required
echo "ok: configuration errors"
echo "broker-tls: ok"
