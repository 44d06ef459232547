"""bench.py: one measurement of tests/bench/python-vs-confluent.sh, run in
a process of its own so that the clients do not share threads or caches:

    python bench.py CLIENT PHASE BOOTSTRAP TOPIC N [PARTITIONS]

CLIENT is samsa or confluent; PHASE produce (N messages with 100-byte
values to TOPIC, then flush), consume (N messages from the start of
TOPIC's PARTITIONS partitions with poll(), reading each value) or
consume-batch (the same with consume(1000)). Prints the rate in messages
per second of wall time, from the first produce (or the assign) to the
flush (or the last message)."""
import sys
import time

PRODUCER_CONF = {"linger.ms": 5, "acks": "all", "compression.type": "none"}
CONSUMER_CONF = {"enable.auto.commit": False, "auto.offset.reset": "earliest"}


def produce(mod, bootstrap, topic, n):
    p = mod.Producer(dict(PRODUCER_CONF, **{"bootstrap.servers": bootstrap}))
    value = b"v" * 100
    produce_ = p.produce
    poll = p.poll
    # Warm up: connection and metadata are not measured.
    produce_(topic, value)
    p.flush(30)
    t0 = time.perf_counter()
    for _ in range(n):
        while True:
            try:
                produce_(topic, value)
                break
            except BufferError:
                poll(0.005)
    left = p.flush(120)
    t1 = time.perf_counter()
    if left:
        raise SystemExit("%d messages not delivered" % left)
    return n / (t1 - t0)


def consume(mod, bootstrap, topic, n, partitions, batch):
    c = mod.Consumer(dict(CONSUMER_CONF, **{"bootstrap.servers": bootstrap,
                                            "group.id": "bench-%s" % topic}))
    c.assign([mod.TopicPartition(topic, p, mod.OFFSET_BEGINNING) for p in range(partitions)])
    poll = c.poll
    consume_ = c.consume
    got = 0
    size = 0
    t0 = time.perf_counter()
    deadline = t0 + 300
    while got < n:
        if time.perf_counter() > deadline:
            raise SystemExit("only %d of %d messages" % (got, n))
        if batch:
            for m in consume_(min(1000, n - got), 1.0):
                if m.error() is None:
                    size += len(m.value())
                    got += 1
            continue
        m = poll(1.0)
        if m is None or m.error() is not None:
            continue
        size += len(m.value())
        got += 1
    t1 = time.perf_counter()
    c.close()
    assert size >= 100 * n
    return n / (t1 - t0)


def main():
    client, phase, bootstrap, topic, n = sys.argv[1:6]
    n = int(n)
    if client == "samsa":
        import samsa as mod
    else:
        import confluent_kafka as mod
    if phase == "produce":
        rate = produce(mod, bootstrap, topic, n)
    else:
        # The warm-up message of the produce phase is read too.
        rate = consume(mod, bootstrap, topic, n + 1, int(sys.argv[6]), phase == "consume-batch")
    print("%.1f" % rate)


if __name__ == "__main__":
    main()
