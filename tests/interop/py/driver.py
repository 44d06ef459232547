"""The Python drivers of samsa's interoperability tests.

    driver.py LIB produce BOOTSTRAP TOPIC N [BASE_MS]
    driver.py LIB consume BOOTSTRAP TOPIC GROUP N TIMEOUT_S
    driver.py create BOOTSTRAP TOPIC PARTITIONS
    driver.py offsets BOOTSTRAP TOPIC GROUP PARTITIONS

LIB is confluent (confluent-kafka, i.e. librdkafka) or kafka-python.
produce sends N messages (key k-i, value v-i, header h=i, timestamp
BASE_MS+i) through the library's murmur2 key partitioner (librdkafka's
murmur2_random), idempotently, and waits for every acknowledgement.
consume joins GROUP, prints each message as one JSON line, commits it
synchronously right after printing it, and closes (leaving the group) after
N messages; it exits 1 when TIMEOUT_S passes first.
create makes TOPIC with PARTITIONS partitions (CreateTopics).
offsets prints, per partition, the group's committed offset and the end
offset as JSON: {"0": [committed, end], ...} (committed -1 when none).
"""
import json
import sys
import time

DEFAULT_BASE = 1700000000000


def die(msg):
    sys.stderr.write("python driver: %s\n" % msg)
    sys.exit(1)


def emit(partition, offset, key, value, headers, timestamp):
    def text(b):
        return None if b is None else b.decode("utf-8")
    sys.stdout.write(json.dumps({
        "partition": partition, "offset": offset, "key": text(key),
        "value": text(value),
        "headers": [[k, text(v)] for k, v in (headers or [])],
        "timestamp": timestamp}) + "\n")
    sys.stdout.flush()


def confluent_produce(bootstrap, topic, n, base, first=0):
    from confluent_kafka import Producer
    p = Producer({"bootstrap.servers": bootstrap, "client.id": "interop-confluent-producer",
                  "enable.idempotence": True, "partitioner": "murmur2_random",
                  "linger.ms": 5, "message.timeout.ms": 60000})
    errors = []

    def report(err, msg):
        if err is not None:
            errors.append(err)
    for i in range(first, first + n):
        p.produce(topic, key=b"k-%d" % i, value=b"v-%d" % i, headers=[("h", str(i).encode())],
                  timestamp=base + i, on_delivery=report)
        p.poll(0)
    left = p.flush(90)
    if left or errors:
        die("produce: %d undelivered, errors %s" % (left, errors[:3]))


def drain(n, timeout_s, poll):
    """Print and commit n messages, dying after timeout_s. poll(left) returns
    a list of (fields for emit, function committing that message)."""
    deadline = time.monotonic() + timeout_s
    got = 0
    while got < n:
        if time.monotonic() >= deadline:
            die("timeout after %d of %d messages" % (got, n))
        for fields, commit in poll(n - got):
            emit(*fields)
            commit()
            got += 1
            if got == n:
                break


def confluent_consume(bootstrap, topic, group, n, timeout_s):
    from confluent_kafka import Consumer
    c = Consumer({"bootstrap.servers": bootstrap, "client.id": "interop-confluent-consumer",
                  "group.id": group, "enable.auto.commit": False,
                  "auto.offset.reset": "earliest"})

    def poll(_):
        m = c.poll(0.5)
        if m is None:
            return []
        if m.error():
            sys.stderr.write("python driver: consume: %s\n" % m.error())
            return []
        return [((m.partition(), m.offset(), m.key(), m.value(), m.headers(), m.timestamp()[1]),
                 lambda: c.commit(message=m, asynchronous=False))]
    c.subscribe([topic])
    try:
        drain(n, timeout_s, poll)
    finally:
        c.close()


def kafka_python_produce(bootstrap, topic, n, base):
    from kafka import KafkaProducer
    p = KafkaProducer(bootstrap_servers=bootstrap, client_id="interop-kafka-python-producer",
                      enable_idempotence=True, acks="all", linger_ms=5)
    futures = [p.send(topic, key=b"k-%d" % i, value=b"v-%d" % i,
                      headers=[("h", str(i).encode())], timestamp_ms=base + i)
               for i in range(n)]
    p.flush(90)
    for f in futures:
        f.get(timeout=60)
    p.close(timeout=30)


def kafka_python_consume(bootstrap, topic, group, n, timeout_s):
    from kafka import KafkaConsumer
    from kafka.structs import OffsetAndMetadata
    c = KafkaConsumer(topic, bootstrap_servers=bootstrap,
                      client_id="interop-kafka-python-consumer", group_id=group,
                      enable_auto_commit=False, auto_offset_reset="earliest")

    def one(tp, r):
        return ((r.partition, r.offset, r.key, r.value, r.headers, r.timestamp),
                lambda: c.commit({tp: OffsetAndMetadata(r.offset + 1, "", -1)}))

    def poll(left):
        return [one(tp, r) for tp, records in c.poll(timeout_ms=500, max_records=left).items()
                for r in records]
    try:
        drain(n, timeout_s, poll)
    finally:
        c.close(autocommit=False)


def create(bootstrap, topic, partitions):
    from confluent_kafka.admin import AdminClient, NewTopic
    a = AdminClient({"bootstrap.servers": bootstrap})
    fut = a.create_topics([NewTopic(topic, num_partitions=partitions, replication_factor=1)],
                          operation_timeout=30, request_timeout=30)
    fut[topic].result(timeout=60)


def offsets(bootstrap, topic, group, partitions):
    from confluent_kafka import Consumer, TopicPartition
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": group,
                  "enable.auto.commit": False})
    try:
        tps = [TopicPartition(topic, p) for p in range(partitions)]
        out = {}
        for tp in c.committed(tps, timeout=30):
            if tp.error:
                die("committed %s[%d]: %s" % (topic, tp.partition, tp.error))
            _, high = c.get_watermark_offsets(tp, timeout=30, cached=False)
            out[str(tp.partition)] = [tp.offset if tp.offset >= 0 else -1, high]
        print(json.dumps(out, sort_keys=True))
    finally:
        c.close()


def main(a):
    libs = {"confluent": (confluent_produce, confluent_consume),
            "kafka-python": (kafka_python_produce, kafka_python_consume)}
    if len(a) in (5, 6) and a[0] in libs and a[1] == "produce":
        base = int(a[5]) if len(a) == 6 else DEFAULT_BASE
        libs[a[0]][0](a[2], a[3], int(a[4]), base)
    elif len(a) == 7 and a[0] in libs and a[1] == "consume":
        libs[a[0]][1](a[2], a[3], a[4], int(a[5]), int(a[6]))
    elif len(a) == 4 and a[0] == "create":
        create(a[1], a[2], int(a[3]))
    elif len(a) == 5 and a[0] == "offsets":
        offsets(a[1], a[2], a[3], int(a[4]))
    else:
        die("usage: see the first comment of driver.py")


if __name__ == "__main__":
    main(sys.argv[1:])
