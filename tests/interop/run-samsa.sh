#!/bin/sh
# run-samsa.sh: the interoperability suite (tests/interop) against samsa's
# own broker (${B:-build}/bin/samsa broker).  Meant to become
# tests/scripts/interop-samsa.sh (git mv, unchanged) once the broker exists:
# from there, as from here, it finds run.sh from the repository root.
root=$(cd "$(dirname "$0")/../.." && pwd)
exec bash "$root/tests/interop/run.sh" samsa
