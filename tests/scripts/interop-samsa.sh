#!/bin/sh
# interop-samsa.sh: the interoperability suite (tests/interop) against
# samsa's own broker (${B:-build}/bin/samsa broker): kcat, confluent-kafka,
# kafka-python, kafkajs, franz-go and the Java client produce and consume
# through consumer groups, a group rebalances across three members, and the
# broker restarts mid-work. Installs the clients first when they are missing.
root=$(cd "$(dirname "$0")/../.." && pwd)
exec bash "$root/tests/interop/run.sh" samsa
