#!/usr/bin/env bash
# run.sh: runs the interoperability suite of samsa's broker.
#
#   tests/interop/run.sh [TARGET]     TARGET: samsa (default) or kafka
#
# Installs or checks the clients (setup.sh, cached), starts the broker
# under test through broker.sh in a temporary directory, runs suite.py and
# prints its per-client matrix and a last line "N passed, N failed".
# Exits 0 when everything passed.  The broker and every client are killed
# on exit, also on failure or interruption; the whole run is bounded by
# INTEROP_MAX_SECONDS (default 480).  INTEROP_KEEP=1 keeps the logs.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
export TARGET=${1:-${TARGET:-samsa}}

env_file=$("$here/setup.sh")
work=$(mktemp -d "${TMPDIR:-/tmp}/samsa-interop.XXXXXX")
suite_pid=""
cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    if [[ -n "$suite_pid" ]]; then
        kill -TERM "$suite_pid" 2>/dev/null || true
        wait "$suite_pid" 2>/dev/null || true
    fi
    "$here/broker.sh" stop "$work/broker" >/dev/null 2>&1 || true
    if [[ -n "${INTEROP_KEEP:-}" || $rc -ne 0 ]]; then
        echo "run.sh: logs kept in $work" >&2
    else
        rm -rf "$work"
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

timeout --kill-after=20 "${INTEROP_MAX_SECONDS:-480}" \
    python3 "$here/suite.py" "$TARGET" "$work" "$env_file" &
suite_pid=$!
rc=0
wait "$suite_pid" || rc=$?
suite_pid=""
exit "$rc"
