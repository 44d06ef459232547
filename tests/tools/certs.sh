#!/bin/sh
# certs.sh DIR: makes the TLS material the security tests use, with openssl,
# into DIR (created when missing). Every key is an unencrypted PKCS#8 PEM
# (what OpenSSL, librdkafka and Java's PEM key store all read).
#
#   ca.pem ca.key               the test CA every good certificate chains to
#   broker.pem broker.key       CN=localhost, SAN IP:127.0.0.1 and DNS:localhost
#   client.pem client.key       CN=client,OU=test,O=samsa (client auth)
#   expired.pem expired.key     CN=expired, by the CA, valid only in 2020
#   other-ca.pem other-ca.key   a CA nobody trusts
#   untrusted.pem untrusted.key CN=untrusted, by other-ca
#   client-chain.pem            client.pem followed by ca.pem
set -eu
dir=${1:?usage: certs.sh DIR}
mkdir -p "$dir"
cd "$dir"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

key() { openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$1" 2>/dev/null; }

ca() { # name subject
    key "$1.key"
    openssl req -x509 -new -key "$1.key" -sha256 -days 3650 -subj "$2" \
        -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
        -out "$1.pem"
}

leaf() { # name subject ca extensions
    key "$1.key"
    openssl req -new -key "$1.key" -subj "$2" -out "$tmp/$1.csr"
    printf '%s\n' "$4" > "$tmp/$1.ext"
    openssl x509 -req -in "$tmp/$1.csr" -CA "$3.pem" -CAkey "$3.key" -CAcreateserial \
        -CAserial "$tmp/$3.srl" -days 825 -sha256 -extfile "$tmp/$1.ext" -out "$1.pem" 2>/dev/null
}

ca ca "/O=samsa/CN=samsa test CA"
ca other-ca "/O=elsewhere/CN=other CA"
leaf broker "/O=samsa/CN=localhost" ca \
    "subjectAltName=IP:127.0.0.1,DNS:localhost
extendedKeyUsage=serverAuth,clientAuth
basicConstraints=CA:FALSE"
leaf client "/O=samsa/OU=test/CN=client" ca \
    "extendedKeyUsage=clientAuth
basicConstraints=CA:FALSE"
leaf untrusted "/O=elsewhere/CN=untrusted" other-ca \
    "extendedKeyUsage=clientAuth
basicConstraints=CA:FALSE"

# expired: x509 -req cannot date a certificate in the past, `openssl ca` can
key expired.key
openssl req -new -key expired.key -subj "/O=samsa/CN=expired" -out "$tmp/expired.csr"
mkdir -p "$tmp/ca/new"
: > "$tmp/ca/index.txt"
echo 1000 > "$tmp/ca/serial"
cat > "$tmp/ca/ca.cnf" <<CNF
[ca]
default_ca = test
[test]
dir = $tmp/ca
database = \$dir/index.txt
serial = \$dir/serial
new_certs_dir = \$dir/new
default_md = sha256
policy = any
copy_extensions = none
x509_extensions = leaf
[any]
commonName = supplied
organizationName = optional
[leaf]
basicConstraints = CA:FALSE
extendedKeyUsage = clientAuth
CNF
openssl ca -batch -config "$tmp/ca/ca.cnf" -cert ca.pem -keyfile ca.key -in "$tmp/expired.csr" \
    -startdate 20200101000000Z -enddate 20200201000000Z -out expired.pem 2>/dev/null
cat client.pem ca.pem > client-chain.pem
chmod 600 ./*.key
