#!/usr/bin/env bash
# Fetch an Apache Kafka broker, its Java client and its command line tools,
# with all runtime dependencies, into
#   ${SAMSA_CACHE:-$HOME/.cache/samsa}/kafka-<version>/libs
# and print that directory on stdout (and nothing else on stdout).
#
# Usage: tests/interop/kafka/fetch.sh
# Env:   KAFKA_VERSION  Kafka version (default: the one in pom.xml)
#        SAMSA_CACHE    cache root (default: $HOME/.cache/samsa)
#
# Idempotent: once a version is complete (a .complete stamp is written
# last) a second run only prints the directory.  Installs Java and Maven
# from the distribution's packages when they are missing and we are root.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
pom="$here/pom.xml"
default_version=$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$pom" | head -n1)
version=${KAFKA_VERSION:-$default_version}
cache=${SAMSA_CACHE:-$HOME/.cache/samsa}
dest="$cache/kafka-$version"
libs="$dest/libs"

log() { echo "fetch.sh: $*" >&2; }

if [[ -f "$libs/.complete" ]]; then
    echo "$libs"
    exit 0
fi

need_pkgs=()
command -v java >/dev/null 2>&1 || need_pkgs+=(openjdk-17-jre-headless)
command -v mvn >/dev/null 2>&1 || need_pkgs+=(maven)
if ((${#need_pkgs[@]})); then
    if [[ $(id -u) -ne 0 ]]; then
        log "missing ${need_pkgs[*]} and not root: install them first"
        exit 1
    fi
    log "installing ${need_pkgs[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2
    apt-get install -y -qq "${need_pkgs[@]}" >&2
fi

# Kafka 4.x needs Java 17 or newer for the broker and the tools.
jver=$(java -XshowSettings:properties -version 2>&1 |
       sed -n 's/^ *java.specification.version = //p')
if [[ -z "$jver" || "${jver%%.*}" -lt 17 ]]; then
    log "java $jver found; Kafka $version needs Java 17+ (set JAVA_HOME/PATH)"
    exit 1
fi

mkdir -p "$dest"
tmp=$(mktemp -d "$dest/libs.tmp.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

log "resolving Kafka $version with Maven (first run downloads ~55 MB)"
# -f keeps Maven away from any other pom; target/ goes to the temp dir.
mvn -q -B -Dstyle.color=never -f "$pom" \
    -Dkafka.version="$version" \
    dependency:copy-dependencies \
    -DincludeScope=runtime \
    -DoutputDirectory="$tmp/libs" >&2

n=$(find "$tmp/libs" -name '*.jar' | wc -l)
for jar in "kafka_2.13-$version.jar" "kafka-clients-$version.jar" "kafka-tools-$version.jar"; do
    if [[ ! -f "$tmp/libs/$jar" ]]; then
        log "resolution incomplete: $jar missing"
        exit 1
    fi
done
touch "$tmp/libs/.complete"
rm -rf "$libs"
mv "$tmp/libs" "$libs"
log "$n jars in $libs"
echo "$libs"
