#!/bin/sh
# interop-kafka.sh: the interoperability suite (tests/interop) against a
# real Apache Kafka 4.4 broker, proving the suite's own checks right: every
# real client produces and consumes through consumer groups, a group
# rebalances across three members, and a broker restarts mid-work.
# Installs the clients first when they are missing (tests/interop/setup.sh).
exec bash tests/interop/run.sh kafka
