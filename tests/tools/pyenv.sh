#!/bin/sh
# pyenv.sh: prints the path of a Python virtual environment holding the
# Kafka clients and codecs the tests use, creating it on first use under
# ${SAMSA_CACHE:-$HOME/.cache/samsa}. Versions are pinned.
set -e
cache=${SAMSA_CACHE:-$HOME/.cache/samsa}
venv="$cache/venv-tests"
pkgs="kafka-python==3.0.12 confluent-kafka==2.16.1 python-snappy==0.7.3 cramjam==2.14.0 lz4==4.4.5 zstandard==0.25.0"
if [ ! -f "$venv/.pkgs" ] || [ "$(cat "$venv/.pkgs")" != "$pkgs" ]; then
    mkdir -p "$cache"
    rm -rf "$venv"
    python3 -m venv "$venv" >&2
    # shellcheck disable=SC2086
    "$venv/bin/pip" install -q --disable-pip-version-check $pkgs >&2
    echo "$pkgs" > "$venv/.pkgs"
fi
echo "$venv"
