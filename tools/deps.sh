#!/bin/sh
# deps.sh: makes sure the Debian packages samsa builds and tests with are
# installed. As root it installs what is missing with apt-get; otherwise it
# prints the command to run and fails.
set -e

PACKAGES="gcc make pkg-config libssl-dev openssl libzstd-dev liblz4-dev zlib1g-dev libsnappy-dev check groff-base mandoc libsqlite3-dev librdkafka-dev kcat python3"
# Extra packages a caller needs (the test and benchmark scripts pass theirs).
PACKAGES="$PACKAGES $SAMSA_EXTRA_PACKAGES"

missing=""
for p in $PACKAGES; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed"; then
        missing="$missing $p"
    fi
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" = 0 ]; then
    echo "% installing:$missing" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2
    # shellcheck disable=SC2086
    apt-get install -y -qq $missing >&2
else
    echo "% samsa needs these Debian packages:$missing" >&2
    echo "% run: sudo apt-get install -y$missing" >&2
    exit 1
fi
