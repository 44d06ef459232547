"""A consumer group member run as its own process by test_group.py:
subscribes to a topic and prints one JSON line per event on stdout
({"assigned": [...]}, {"revoked": [...]}, {"message": [partition, offset,
value]}) until a line "stop" comes on stdin, then closes."""
import json
import sys
import threading

import samsa


def main():
    bootstrap, group, topic = sys.argv[1:4]
    stop = threading.Event()

    def wait_stop():
        for line in sys.stdin:
            if line.strip() == "stop":
                break
        stop.set()

    threading.Thread(target=wait_stop, daemon=True).start()

    def say(obj):
        sys.stdout.write(json.dumps(obj) + "\n")
        sys.stdout.flush()

    c = samsa.Consumer({"bootstrap.servers": bootstrap, "group.id": group,
                        "auto.offset.reset": "earliest", "heartbeat.interval.ms": 200,
                        "session.timeout.ms": 6000})
    c.subscribe([topic],
                on_assign=lambda _c, ps: say({"assigned": sorted(tp.partition for tp in ps)}),
                on_revoke=lambda _c, ps: say({"revoked": sorted(tp.partition for tp in ps)}))
    while not stop.is_set():
        m = c.poll(0.2)
        if m is None:
            continue
        if m.error() is not None:
            say({"error": m.error().name()})
            continue
        say({"message": [m.partition(), m.offset(), m.value().decode()]})
    c.close()
    say({"closed": True})


if __name__ == "__main__":
    main()
