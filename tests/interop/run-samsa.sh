#!/bin/sh
# run-samsa.sh: the interoperability suite (tests/interop) against samsa's
# own broker (${B:-build}/bin/samsa broker).  Meant to become
# tests/scripts/interop-samsa.sh once the broker exists.
exec bash "$(dirname "$0")/run.sh" samsa
