#!/bin/sh
# bindings-python.sh: the Python binding's tests (bindings/python/tests,
# pytest) against $B/lib/libsamsa.so.0. The binding is installed with pip,
# not in editable mode, into its own virtual environment
# ${SAMSA_CACHE:-$HOME/.cache/samsa}/venv-python-binding (made on first
# use with pytest and confluent-kafka at the version tests/tools/pyenv.sh
# pins), so the tests also prove that `pip install bindings/python` works.
# Runs that share the cache take a lock: one installs and tests at a time.
# Installs python3-venv with apt when missing and root.
#   SAMSA_PY_TIMEOUT   limit of the pytest run in seconds (default 900)
set -e
B=${B:-build}
root=$(pwd)
lib="$root/$B/lib/libsamsa.so.0"
[ -f "$lib" ] || { echo "bindings-python: $lib not built (make)"; exit 1; }

if ! python3 -c 'import venv, ensurepip' >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        echo "bindings-python: installing python3-venv" >&2
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q python3-venv >&2 ||
            { apt-get update -q >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q python3-venv >&2; }
    else
        echo "bindings-python: python3 lacks venv/ensurepip and we are not root"; exit 1
    fi
fi

confluent=$(sed -n 's/.*\(confluent-kafka==[0-9.]*\).*/\1/p' tests/tools/pyenv.sh)
[ -n "$confluent" ] || { echo "bindings-python: no confluent-kafka pin in tests/tools/pyenv.sh"; exit 1; }
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
# The binding itself, from a copy of its sources (the build leaves nothing
# in the tree), reinstalled every run.
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM
cp -r bindings/python "$tmp/src"
rm -rf "$tmp/src/tests" "$tmp/src/build" "$tmp/src"/*.egg-info
timeout 300 "$venv/bin/pip" install -q --disable-pip-version-check --no-deps --force-reinstall "$tmp/src" >&2
# pytest runs from the tests directory, so `import samsa` finds the
# installed package, not the source tree.
cp -r bindings/python/tests "$tmp/tests"
cd "$tmp/tests"
SAMSA_LIBRARY="$lib" "$venv/bin/python" -c 'import samsa, sys; sys.stderr.write("bindings-python: samsa %s from %s over %s\n" % (samsa.__version__, samsa.__file__, samsa._lib.library_path))'
SAMSA_LIBRARY="$lib" SAMSA_LOG_LEVEL=${SAMSA_LOG_LEVEL:-3} timeout --kill-after=10 "${SAMSA_PY_TIMEOUT:-900}" \
    "$venv/bin/python" -m pytest -p no:cacheprovider -q -rfE . 2>&1 |
    tee "$tmp/pytest.log" | grep -v ' DEBUG \| INFO \| WARN ' || true
tail -n 1 "$tmp/pytest.log" | grep -q ' passed' && ! tail -n 1 "$tmp/pytest.log" | grep -q 'failed\|error'
