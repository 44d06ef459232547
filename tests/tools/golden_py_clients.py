#!/usr/bin/env python3
"""Drives Python Kafka clients for tests/tools/capture-golden.sh.

    golden_py_clients.py CLIENT create  BOOTSTRAP TOPIC...
    golden_py_clients.py CLIENT produce BOOTSTRAP TOPIC CODEC SPEC
    golden_py_clients.py CLIENT consume BOOTSTRAP TOPIC GROUP COUNT

CLIENT is kafka-python or librdkafka (the confluent-kafka binding, which
bundles librdkafka).  SPEC is a records file in the tests/data/batches
*.txt format; its records go to partition 0 of TOPIC as one batch (long
linger, then flush).  CODEC: none, gzip, snappy, lz4, zstd.
"""
import sys
import time


def read_spec(path):
    recs = []
    with open(path) as f:
        for line in f:
            line = line.rstrip("\n")
            if not line:
                continue
            _od, ts, key, val, hs = line.split("\t")
            unhex = lambda s: None if s == "-" else bytes.fromhex(s)
            headers = []
            if hs:
                for h in hs.split(","):
                    name, _, v = h.partition("=")
                    headers.append((name, unhex(v)))
            recs.append((int(ts), unhex(key), unhex(val), headers))
    return recs


# ------------------------------------------------------------ kafka-python

def kp_create(bootstrap, topics):
    from kafka.admin import KafkaAdminClient, NewTopic
    admin = KafkaAdminClient(bootstrap_servers=bootstrap,
                             client_id="golden-kafka-python-admin",
                             request_timeout_ms=30000)
    try:
        admin.create_topics([NewTopic(t, 1, 1) for t in topics],
                            timeout_ms=30000)
    finally:
        admin.close()


def kp_produce(bootstrap, topic, codec, spec):
    from kafka import KafkaProducer
    p = KafkaProducer(bootstrap_servers=bootstrap,
                      client_id="golden-kafka-python",
                      compression_type=None if codec == "none" else codec,
                      linger_ms=10000, acks="all")
    try:
        for ts, key, val, headers in read_spec(spec):
            p.send(topic, key=key, value=val, headers=headers, partition=0,
                   timestamp_ms=ts)
        p.flush(timeout=60)
    finally:
        p.close(timeout=30)


def kp_consume(bootstrap, topic, group, count):
    from kafka import KafkaConsumer
    c = KafkaConsumer(topic, bootstrap_servers=bootstrap,
                      client_id="golden-kafka-python", group_id=group,
                      auto_offset_reset="earliest",
                      enable_auto_commit=False)
    try:
        seen = 0
        deadline = time.monotonic() + 60
        while seen < count and time.monotonic() < deadline:
            for recs in c.poll(timeout_ms=500).values():
                seen += len(recs)
        if seen < count:
            raise SystemExit("consumed %d of %d" % (seen, count))
        c.commit()
    finally:
        c.close()


# ------------------------------------------------- librdkafka (confluent-kafka)

def rd_create(bootstrap, topics):
    from confluent_kafka.admin import AdminClient, NewTopic
    a = AdminClient({"bootstrap.servers": bootstrap,
                     "client.id": "golden-librdkafka-admin"})
    fs = a.create_topics([NewTopic(t, 1, 1) for t in topics],
                         request_timeout=30)
    for f in fs.values():
        f.result(timeout=60)


def rd_produce(bootstrap, topic, codec, spec):
    from confluent_kafka import Producer
    p = Producer({"bootstrap.servers": bootstrap,
                  "client.id": "golden-librdkafka",
                  "compression.codec": codec,
                  "linger.ms": 10000, "acks": "all"})
    errors = []

    def report(err, msg):
        if err is not None:
            errors.append(err)
    for ts, key, val, headers in read_spec(spec):
        p.produce(topic, value=val, key=key, partition=0, timestamp=ts,
                  headers=headers, on_delivery=report)
    left = p.flush(60)
    if left or errors:
        raise SystemExit("produce failed: %d left, errors %s" % (left, errors))


def rd_consume(bootstrap, topic, group, count):
    from confluent_kafka import Consumer
    c = Consumer({"bootstrap.servers": bootstrap,
                  "client.id": "golden-librdkafka", "group.id": group,
                  "auto.offset.reset": "earliest",
                  "enable.auto.commit": False})
    try:
        c.subscribe([topic])
        seen = 0
        deadline = time.monotonic() + 60
        while seen < count and time.monotonic() < deadline:
            m = c.poll(0.5)
            if m is not None and m.error() is None:
                seen += 1
        if seen < count:
            raise SystemExit("consumed %d of %d" % (seen, count))
        c.commit(asynchronous=False)
    finally:
        c.close()


CLIENTS = {
    "kafka-python": (kp_create, kp_produce, kp_consume),
    "librdkafka": (rd_create, rd_produce, rd_consume),
}


def main(argv):
    if len(argv) < 4 or argv[1] not in CLIENTS:
        print(__doc__, file=sys.stderr)
        return 2
    create, produce, consume = CLIENTS[argv[1]]
    cmd, args = argv[2], argv[3:]
    if cmd == "create":
        create(args[0], args[1:])
    elif cmd == "produce":
        produce(*args[:4])
    elif cmd == "consume":
        consume(args[0], args[1], args[2], int(args[3]))
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
