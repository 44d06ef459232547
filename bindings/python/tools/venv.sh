#!/bin/sh
# venv.sh: prints the path of the virtual environment in which the Python
# binding is tested and benchmarked, after making it ready:
# ${SAMSA_CACHE:-$HOME/.cache/samsa}/venv-python-binding, made on first use
# with pytest and confluent-kafka at the version tests/tools/pyenv.sh pins,
# and with bindings/python installed by pip (not editable, from a copy of
# the sources, reinstalled every time), which proves that it installs.
# Runs that share the cache take a lock while they set it up. Installs
# python3-venv with apt when it is missing and we are root.
# Run from the repository root; prints nothing else on stdout.
set -e
if ! python3 -c 'import venv, ensurepip' >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        echo "venv.sh: installing python3-venv" >&2
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q python3-venv >&2 ||
            { apt-get update -q >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q python3-venv >&2; }
    else
        echo "venv.sh: python3 lacks venv/ensurepip and we are not root" >&2
        exit 1
    fi
fi

confluent=$(sed -n 's/.*\(confluent-kafka==[0-9.]*\).*/\1/p' tests/tools/pyenv.sh)
[ -n "$confluent" ] || { echo "venv.sh: no confluent-kafka pin in tests/tools/pyenv.sh" >&2; exit 1; }
pkgs="pytest==9.2.0 $confluent"
cache=${SAMSA_CACHE:-$HOME/.cache/samsa}
venv="$cache/venv-python-binding"
mkdir -p "$cache"
exec 9> "$cache/venv-python-binding.lock"
flock 9
if [ ! -f "$venv/.pkgs" ] || [ "$(cat "$venv/.pkgs")" != "$pkgs" ]; then
    rm -rf "$venv"
    python3 -m venv "$venv" >&2
    # shellcheck disable=SC2086
    timeout 600 "$venv/bin/pip" install -q --disable-pip-version-check $pkgs >&2
    echo "$pkgs" > "$venv/.pkgs"
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM
cp -r bindings/python "$tmp/src"
rm -rf "$tmp/src/tests" "$tmp/src/build" "$tmp/src"/*.egg-info
timeout 300 "$venv/bin/pip" install -q --disable-pip-version-check --no-deps --force-reinstall \
    "$tmp/src" >&2
echo "$venv"
