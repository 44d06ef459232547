#!/usr/bin/env bash
# setup.sh: installs every Kafka client that the interoperability suite
# (tests/interop/run.sh) drives, on a Debian machine, as root, and writes
#   ${SAMSA_CACHE:-$HOME/.cache/samsa}/interop/clients.env
# (shell assignments naming each client's command), whose path it prints on
# stdout (and nothing else on stdout).
#
#   kcat             Debian package kcat (1.7.1 on bookworm)
#   confluent-kafka  } pip, pinned in tests/tools/pyenv.sh, in its venv
#   kafka-python     }
#   kafkajs          npm ci of tests/interop/js/package-lock.json (2.2.4)
#   franz-go         tests/interop/go (go.mod/go.sum pin v1.22.3), built
#                    with the machine's Go (1.26 or newer; not installed here)
#   Java client      kafka-clients 4.4.0 from tests/interop/kafka/fetch.sh,
#                    tests/interop/java/InteropClient.java compiled by javac
#
# Idempotent: each built client sits in a directory named after a hash of
# its inputs, built aside and moved in place stamped .complete, so that runs
# in parallel never see half a build; a second run only checks and prints.
# Installs missing system tools (kcat, python3-venv, nodejs/npm, a JDK,
# Maven) with apt when root.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
cache=${SAMSA_CACHE:-$HOME/.cache/samsa}
out="$cache/interop"
KCAT_VERSION=1.7.1

log() { echo "setup.sh: $*" >&2; }
die() { log "$*"; exit 1; }

hash_of() { cat "$@" | sha256sum | cut -c1-16; }

# Move the finished build TMP to DEST (stamped .complete), unless a run in
# parallel got there first: a complete DEST is never replaced while in use.
publish() {
    touch "$1/.complete"
    mv -T "$1" "$2" 2>/dev/null || rm -rf "$1"
    [[ -f "$2/.complete" ]] || die "cannot publish $2"
}

apt_install() {
    [[ $(id -u) -eq 0 ]] || die "missing $* and not root: install them first"
    log "installing $*"
    export DEBIAN_FRONTEND=noninteractive
    if [[ -z "${apt_updated:-}" ]]; then
        apt-get update -qq >&2
        apt_updated=1
    fi
    apt-get install -y -qq "$@" >&2
}

need=()
command -v kcat >/dev/null 2>&1 || need+=(kcat)
python3 -c 'import venv, ensurepip' >/dev/null 2>&1 || need+=(python3-venv)
command -v node >/dev/null 2>&1 || need+=(nodejs)
command -v npm >/dev/null 2>&1 || need+=(npm)
command -v javac >/dev/null 2>&1 || need+=(openjdk-17-jdk-headless)
command -v mvn >/dev/null 2>&1 || need+=(maven)
((${#need[@]} == 0)) || apt_install "${need[@]}"

# Go: the machine's (Debian's packaged Go is too old for franz-go 1.22).
if ! command -v go >/dev/null 2>&1 && [[ -x /usr/local/go/bin/go ]]; then
    PATH=/usr/local/go/bin:$PATH
fi
command -v go >/dev/null 2>&1 || die "go not found: franz-go 1.22.3 needs Go 1.26 or newer"

kv=$(kcat -V 2>&1 | sed -n 's/^Version \([0-9.]*\).*/\1/p' | head -n1)
[[ "$kv" == "$KCAT_VERSION"* ]] || log "warning: kcat $kv, the suite was written against $KCAT_VERSION"

mkdir -p "$out"

# Python: confluent-kafka and kafka-python.
venv=$(sh "$root/tests/tools/pyenv.sh")
"$venv/bin/python" -c 'import confluent_kafka, kafka' ||
    die "the venv $venv lacks confluent_kafka or kafka"

# kafkajs.
js="$out/js-$(hash_of "$here/js/package.json" "$here/js/package-lock.json")"
if [[ ! -f "$js/.complete" ]]; then
    log "installing kafkajs into $js"
    tmp=$(mktemp -d "$js.tmp.XXXXXX")
    cp "$here/js/package.json" "$here/js/package-lock.json" "$tmp/"
    (cd "$tmp" && npm ci --omit=dev --ignore-scripts --no-audit --no-fund --loglevel=error >&2)
    publish "$tmp" "$js"
fi

# franz-go.
go_dir="$out/go-$(hash_of "$here/go/go.mod" "$here/go/go.sum" "$here/go/main.go")"
if [[ ! -f "$go_dir/.complete" ]]; then
    log "building the franz-go driver into $go_dir (first build takes about a minute)"
    tmp=$(mktemp -d "$go_dir.tmp.XXXXXX")
    (cd "$here/go" &&
        GOMODCACHE="$cache/go/mod" GOCACHE="$cache/go/build" GOFLAGS=-mod=readonly \
            go build -trimpath -o "$tmp/franzdriver" . >&2)
    publish "$tmp" "$go_dir"
fi

# The Java client.
libs=$("$here/kafka/fetch.sh")
java_dir="$out/java-$(echo "$libs" | cat - "$here/java/InteropClient.java" | sha256sum | cut -c1-16)"
if [[ ! -f "$java_dir/.complete" ]]; then
    log "compiling the Java driver into $java_dir"
    tmp=$(mktemp -d "$java_dir.tmp.XXXXXX")
    javac -nowarn -d "$tmp/classes" -cp "$libs/*" "$here/java/InteropClient.java" >&2
    publish "$tmp" "$java_dir"
fi

tmp=$(mktemp "$out/clients.env.XXXXXX")
cat >"$tmp" <<ENV
# Written by tests/interop/setup.sh
INTEROP_PYTHON='$venv/bin/python'
INTEROP_NODE_PATH='$js/node_modules'
INTEROP_FRANZDRIVER='$go_dir/franzdriver'
INTEROP_JAVA_CP='$java_dir/classes:$libs/*'
ENV
mv "$tmp" "$out/clients.env"
echo "$out/clients.env"
