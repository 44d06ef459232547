#!/bin/sh
# bindings-python.sh: the Python binding's tests (bindings/python/tests,
# pytest) against $B/lib/libsamsa.so.0, with the binding installed by pip
# into its own virtual environment (bindings/python/tools/venv.sh), and run
# from a copy of the tests so that `import samsa` finds the installed
# package, not the source tree. Prints pytest's summary; exit 0 when every
# test passed.
#   SAMSA_PY_TIMEOUT   limit of the pytest run in seconds (default 900)
set -e
B=${B:-build}
lib="$(pwd)/$B/lib/libsamsa.so.0"
[ -f "$lib" ] || { echo "bindings-python: $lib not built (make)"; exit 1; }
venv=$(sh bindings/python/tools/venv.sh)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM
cp -r bindings/python/tests "$tmp/tests"
cd "$tmp/tests"
SAMSA_LIBRARY="$lib" "$venv/bin/python" -c 'import samsa, sys; sys.stderr.write("bindings-python: samsa %s from %s over %s\n" % (samsa.__version__, samsa.__file__, samsa._lib.library_path))'
SAMSA_LIBRARY="$lib" SAMSA_LOG_LEVEL=${SAMSA_LOG_LEVEL:-3} timeout --kill-after=10 "${SAMSA_PY_TIMEOUT:-900}" \
    "$venv/bin/python" -m pytest -p no:cacheprovider -q -rfE . > "$tmp/pytest.log" 2>&1 || true
grep -v ' DEBUG \| INFO \| WARN ' "$tmp/pytest.log" || true
last=$(tail -n 1 "$tmp/pytest.log")
case $last in
*failed* | *error* | *"no tests ran"*) exit 1 ;;
*" passed"*) exit 0 ;;
*) echo "bindings-python: pytest did not finish (timeout ${SAMSA_PY_TIMEOUT:-900} s?)"; exit 1 ;;
esac
