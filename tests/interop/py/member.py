"""member.py: one member of the group rebalance test (confluent-kafka).

    member.py member BOOTSTRAP TOPIC GROUP NAME
    member.py produce BOOTSTRAP TOPIC FIRST COUNT BASE_MS

member joins GROUP (classic protocol, eager assignment, 500 ms heartbeats)
and prints one JSON line per event: {"member": NAME, "event": "assign" or
"revoke", "partitions": [...]} from the rebalance callbacks, and for each
message a line in the drivers' format plus "member", "committed" (the
result of the synchronous commit of that message, made right after a short
pretend processing) and "t" (the wall clock time after that commit).  SIGTERM makes it close (leaving the group) and print
{"member": NAME, "event": "closed"}.
produce writes messages FIRST..FIRST+COUNT-1 as driver.py's produce does.
"""
import json
import os
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import driver  # noqa: E402


def out(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def member(bootstrap, topic, group, name):
    from confluent_kafka import Consumer, KafkaException
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    c = Consumer({"bootstrap.servers": bootstrap, "client.id": name, "group.id": group,
                  "enable.auto.commit": False, "auto.offset.reset": "earliest",
                  "heartbeat.interval.ms": 500, "session.timeout.ms": 10000})

    def on_assign(_, parts):
        out({"member": name, "event": "assign", "partitions": sorted(p.partition for p in parts)})

    def on_revoke(_, parts):
        out({"member": name, "event": "revoke", "partitions": sorted(p.partition for p in parts)})
    c.subscribe([topic], on_assign=on_assign, on_revoke=on_revoke)
    while not stop:
        m = c.poll(0.2)
        if m is None:
            continue
        if m.error():
            sys.stderr.write("member %s: %s\n" % (name, m.error()))
            continue
        time.sleep(0.003)
        try:
            c.commit(message=m, asynchronous=False)
            ok = True
        except KafkaException as e:
            sys.stderr.write("member %s: commit of %d@%d failed: %s\n"
                             % (name, m.offset(), m.partition(), e))
            ok = False
        hs = [[k, v.decode()] for k, v in (m.headers() or [])]
        out({"member": name, "partition": m.partition(), "offset": m.offset(),
             "key": m.key().decode(), "value": m.value().decode(), "headers": hs,
             "timestamp": m.timestamp()[1], "committed": ok, "t": time.time()})
    c.close()
    out({"member": name, "event": "closed"})


def main(a):
    if len(a) == 5 and a[0] == "member":
        member(a[1], a[2], a[3], a[4])
    elif len(a) == 6 and a[0] == "produce":
        driver.confluent_produce(a[1], a[2], int(a[4]), int(a[5]), first=int(a[3]))
    else:
        sys.stderr.write("usage: see the first comment of member.py\n")
        sys.exit(2)


if __name__ == "__main__":
    main(sys.argv[1:])
