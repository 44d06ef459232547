"""Producer and Consumer against the embedded broker: what is produced is
consumed with its key, value, headers and timestamp; delivery reports;
assign/seek/position/commit/committed; consume() and iteration."""
import pytest

import samsa
from conftest import create_topic, poll_messages, produce_values


def test_version_and_library():
    s, n = samsa.libversion()
    assert s.count(".") == 2 and n > 0
    assert samsa.version()[0] == samsa.__version__


def test_produce_consume_fields(bootstrap, admin, topic_name):
    create_topic(admin, topic_name, 1)
    reports = []
    p = samsa.Producer({"bootstrap.servers": bootstrap, "linger.ms": 5})
    p.produce(topic_name, b"v0", key=b"k0", timestamp=1700000000000,
              headers=[("h1", b"a"), ("h2", None)],
              on_delivery=lambda err, msg: reports.append((err, msg)))
    p.produce(topic_name, "text value", key="text key")
    p.produce(topic_name, None, key=b"tombstone")
    p.produce(topic_name, b"", partition=0, headers={"d": b"dict"})
    assert len(p) >= 1
    assert p.flush(30) == 0
    assert len(p) == 0
    assert len(reports) == 1
    err, msg = reports[0]
    assert err is None and msg.error() is None
    assert (msg.topic(), msg.partition(), msg.offset()) == (topic_name, 0, 0)
    assert msg.key() == b"k0" and msg.value() == b"v0"
    assert msg.timestamp() == (samsa.TIMESTAMP_CREATE_TIME, 1700000000000)

    c = samsa.Consumer({"bootstrap.servers": bootstrap, "group.id": topic_name,
                        "auto.offset.reset": "earliest"})
    c.subscribe([topic_name])
    msgs = poll_messages(c, 4)
    assert [m.offset() for m in msgs] == [0, 1, 2, 3]
    m0, m1, m2, m3 = msgs
    assert (m0.topic(), m0.partition(), m0.key(), m0.value()) == (topic_name, 0, b"k0", b"v0")
    assert m0.headers() == [("h1", b"a"), ("h2", None)]
    assert m0.timestamp() == (samsa.TIMESTAMP_CREATE_TIME, 1700000000000)
    assert len(m0) == 2
    assert (m1.key(), m1.value(), m1.headers()) == (b"text key", b"text value", None)
    assert m1.timestamp()[0] == samsa.TIMESTAMP_CREATE_TIME and m1.timestamp()[1] > 0
    assert m2.value() is None and m2.key() == b"tombstone" and len(m2) == 0
    assert m3.value() == b"" and m3.key() is None and m3.headers() == [("d", b"dict")]
    m3.set_value(b"changed")
    assert m3.value() == b"changed"
    c.close()
    p.close()


def test_delivery_default_callback_and_errors(bootstrap, admin, topic_name):
    create_topic(admin, topic_name, 2)
    seen = []
    p = samsa.Producer({"bootstrap.servers": bootstrap,
                        "on_delivery": lambda err, msg: seen.append((err, msg.partition(),
                                                                     msg.value()))})
    for i in range(20):
        p.produce(topic_name, b"m%d" % i, partition=i % 2)
    per_message = []
    p.produce(topic_name, b"own", partition=1, on_delivery=lambda e, m: per_message.append(m))
    assert p.flush(30) == 0
    assert len(seen) == 20 and all(e is None for e, _, _ in seen)
    assert sorted(v for _, _, v in seen) == sorted(b"m%d" % i for i in range(20))
    assert [m.value() for m in per_message] == [b"own"]
    with pytest.raises(TypeError):
        p.produce(topic_name, 12)
    with pytest.raises(samsa.KafkaException) as ei:
        p.produce(topic_name, b"x", partition=-5)
    assert ei.value.args[0].code() == samsa.KafkaError._INVALID_ARG
    p.close()
    with pytest.raises(RuntimeError):
        p.produce(topic_name, b"late")


def test_queue_full_raises_buffer_error(bootstrap, admin, topic_name):
    create_topic(admin, topic_name, 1)
    p = samsa.Producer({"bootstrap.servers": bootstrap, "queue.buffering.max.messages": 5,
                        "linger.ms": 10000})
    for i in range(5):
        p.produce(topic_name, b"x")
    with pytest.raises(BufferError):
        p.produce(topic_name, b"x")
    assert p.flush(30) == 0
    p.produce(topic_name, b"again")
    assert p.flush(30) == 0
    p.close()


def test_assign_seek_position_commit(bootstrap, admin, topic_name):
    create_topic(admin, topic_name, 2)
    produce_values(bootstrap, topic_name, [b"%d" % i for i in range(10)], partition=0)

    c = samsa.Consumer({"bootstrap.servers": bootstrap, "group.id": topic_name,
                        "enable.auto.commit": False})
    c.assign([samsa.TopicPartition(topic_name, 0, 4)])
    assert [(tp.topic, tp.partition) for tp in c.assignment()] == [(topic_name, 0)]
    msgs = poll_messages(c, 3)
    assert [m.value() for m in msgs] == [b"4", b"5", b"6"]
    pos = c.position([samsa.TopicPartition(topic_name, 0)])
    assert pos[0].offset == 7 and pos[0].error is None

    committed = c.commit(message=msgs[-1], asynchronous=False)
    assert [(tp.partition, tp.offset) for tp in committed] == [(0, 7)]
    got = c.committed([samsa.TopicPartition(topic_name, 0), samsa.TopicPartition(topic_name, 1)],
                      timeout=30)
    assert [(tp.partition, tp.offset) for tp in got] == [(0, 7), (1, samsa.OFFSET_INVALID)]

    c.seek(samsa.TopicPartition(topic_name, 0, 1))
    assert [m.value() for m in poll_messages(c, 2)] == [b"1", b"2"]
    c.seek(samsa.TopicPartition(topic_name, 0, samsa.OFFSET_BEGINNING))
    assert poll_messages(c, 1)[0].offset() == 0
    with pytest.raises(samsa.KafkaException):
        c.seek(samsa.TopicPartition(topic_name, 1, 0))

    c.commit(offsets=[samsa.TopicPartition(topic_name, 0, 9)], asynchronous=False)
    assert c.committed([samsa.TopicPartition(topic_name, 0)])[0].offset == 9
    c.unassign()
    assert c.assignment() == []
    c.close()
    c.close()
    with pytest.raises(RuntimeError):
        c.poll(0)


def test_consume_batch_and_iteration(bootstrap, admin, topic_name):
    create_topic(admin, topic_name, 1)
    produce_values(bootstrap, topic_name, [b"%d" % i for i in range(50)])
    c = samsa.Consumer({"bootstrap.servers": bootstrap, "group.id": topic_name,
                        "auto.offset.reset": "earliest"})
    c.assign([samsa.TopicPartition(topic_name, 0, samsa.OFFSET_BEGINNING)])
    got = []
    while len(got) < 30:
        batch = c.consume(30 - len(got), timeout=10)
        assert batch, "consume returned nothing within 10 s"
        got += batch
    assert [m.offset() for m in got] == list(range(30))
    rest = []
    for m in c:
        assert m.error() is None
        rest.append(m.offset())
        if len(rest) == 20:
            c.close()
    assert rest == list(range(30, 50))


def test_pause_resume(bootstrap, admin, topic_name):
    create_topic(admin, topic_name, 1)
    p = samsa.Producer({"bootstrap.servers": bootstrap})
    p.produce(topic_name, b"a")
    assert p.flush(30) == 0
    c = samsa.Consumer({"bootstrap.servers": bootstrap, "group.id": topic_name})
    tp = samsa.TopicPartition(topic_name, 0, samsa.OFFSET_BEGINNING)
    c.assign([tp])
    assert poll_messages(c, 1)[0].value() == b"a"
    c.pause([samsa.TopicPartition(topic_name, 0)])
    p.produce(topic_name, b"b")
    assert p.flush(30) == 0
    assert c.poll(1.0) is None
    c.resume([samsa.TopicPartition(topic_name, 0)])
    assert poll_messages(c, 1)[0].value() == b"b"
    c.close()
    p.close()


def test_bad_configuration(bootstrap):
    with pytest.raises(samsa.KafkaException) as ei:
        samsa.Producer({"bootstrap.servers": bootstrap, "no.such.property": "1"})
    assert "no.such.property" in str(ei.value)
    with pytest.raises(samsa.KafkaException):
        samsa.Consumer({"bootstrap.servers": bootstrap, "auto.offset.reset": "sometimes"})
    with pytest.raises(samsa.KafkaException):
        samsa.Producer({"bootstrap.servers": bootstrap, "error_cb": print})
    c = samsa.Consumer({"bootstrap.servers": bootstrap})
    with pytest.raises(samsa.KafkaException) as ei:
        c.subscribe(["t"])
    assert ei.value.args[0].code() == samsa.KafkaError._INVALID_CONFIG
    c.close()


def test_kafka_error():
    e = samsa.KafkaError(samsa.KafkaError._TIMED_OUT)
    assert e.code() == -104 and e.name() == "_TIMED_OUT" and e.str()
    assert e == samsa.KafkaError._TIMED_OUT and e.retriable() and not e.fatal()
    e = samsa.KafkaError(3, "where it failed")
    assert e.name() == "UNKNOWN_TOPIC_OR_PARTITION" and e.str() == "where it failed"
    x = samsa.KafkaException(e)
    assert x.args[0] is e and "UNKNOWN_TOPIC_OR_PARTITION" in str(x)


def test_broker_context_manager_and_bad_conf(tmp_path):
    with samsa.Broker({"log.dirs": str(tmp_path)}) as b:
        host, port = b.bootstrap_servers.rsplit(":", 1)
        assert host == "127.0.0.1" and int(port) > 0
        assert len(b.cluster_id) == 22 and b.listener.startswith("PLAINTEXT://")
    assert (tmp_path / "meta.properties").exists()
    with pytest.raises(samsa.KafkaException) as ei:
        samsa.Broker({"no.such.broker.property": "x"})
    assert "no.such.broker.property" in str(ei.value)


def test_first_on_delivery_keeps_order(bootstrap, admin, topic_name):
    """A producer made without on_delivery switches to one with reports
    at the first message that asks for one; what came before is written
    first, in order."""
    create_topic(admin, topic_name, 1)
    p = samsa.Producer({"bootstrap.servers": bootstrap, "linger.ms": 1000})
    for i in range(5):
        p.produce(topic_name, b"%d" % i)
    reports = []
    p.produce(topic_name, b"5", on_delivery=lambda err, msg: reports.append((err, msg.offset())))
    p.produce(topic_name, b"6")
    assert p.flush(30) == 0
    assert reports == [(None, 5)]
    p.close()
    c = samsa.Consumer({"bootstrap.servers": bootstrap, "group.id": topic_name})
    c.assign([samsa.TopicPartition(topic_name, 0, samsa.OFFSET_BEGINNING)])
    assert [m.value() for m in poll_messages(c, 7)] == [b"%d" % i for i in range(7)]
    c.close()


def test_blocking_queue_releases_gil(bootstrap, admin, topic_name):
    """With queue.full.behavior=block, produce waits for room (releasing
    the GIL) while another thread serves the reports."""
    import threading

    create_topic(admin, topic_name, 1)
    done = []
    p = samsa.Producer({"bootstrap.servers": bootstrap, "queue.full.behavior": "block",
                        "queue.buffering.max.messages": 10, "max.block.ms": 30000,
                        "on_delivery": lambda err, msg: done.append(err)})
    stop = threading.Event()

    def serve():
        while not stop.is_set():
            p.poll(0.05)

    t = threading.Thread(target=serve)
    t.start()
    try:
        for i in range(200):
            p.produce(topic_name, b"%d" % i, key=b"k")
    finally:
        stop.set()
        t.join()
    assert p.flush(30) == 0
    assert len(done) == 200 and all(e is None for e in done)
    p.close()


def test_switch_to_reports_with_threads_producing(bootstrap, admin, topic_name):
    """Threads keep producing while one switches the producer to delivery
    reports: nothing is lost or reordered within a thread, and every
    message asking for a report gets one."""
    import threading

    create_topic(admin, topic_name, 1)
    p = samsa.Producer({"bootstrap.servers": bootstrap, "linger.ms": 20})
    reports = []
    errors = []

    def writer(name, count, with_report):
        try:
            for i in range(count):
                kw = {}
                if with_report and i == count // 2:
                    kw["on_delivery"] = lambda err, msg: reports.append((err, msg.value()))
                while True:
                    try:
                        p.produce(topic_name, b"%s-%05d" % (name, i), **kw)
                        break
                    except BufferError:
                        p.poll(0.01)
        except BaseException as e:
            errors.append(e)

    threads = [threading.Thread(target=writer, args=(b"t%d" % k, 2000, k == 0))
               for k in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert p.flush(30) == 0
    assert reports == [(None, b"t0-01000")]
    p.close()
    c = samsa.Consumer({"bootstrap.servers": bootstrap, "group.id": topic_name})
    c.assign([samsa.TopicPartition(topic_name, 0, samsa.OFFSET_BEGINNING)])
    values = [m.value() for m in poll_messages(c, 6000)]
    c.close()
    assert len(values) == 6000
    for k in range(3):
        mine = [v for v in values if v.startswith(b"t%d-" % k)]
        assert mine == [b"t%d-%05d" % (k, i) for i in range(2000)]


def test_metadata_watermarks_and_times(bootstrap, admin, topic_name):
    create_topic(admin, topic_name, 2)
    p = samsa.Producer({"bootstrap.servers": bootstrap})
    for i in range(4):
        p.produce(topic_name, b"%d" % i, partition=0, timestamp=1700000000000 + 1000 * i)
    assert p.flush(30) == 0
    md = p.list_topics(topic_name, timeout=10)
    assert sorted(md.topics[topic_name].partitions) == [0, 1]
    p.close()
    with pytest.raises(RuntimeError):
        p.list_topics()

    c = samsa.Consumer({"bootstrap.servers": bootstrap, "group.id": topic_name})
    assert topic_name in c.list_topics().topics
    assert c.get_watermark_offsets(samsa.TopicPartition(topic_name, 0), timeout=10) == (0, 4)
    assert c.get_watermark_offsets(samsa.TopicPartition(topic_name, 1)) == (0, 0)
    found = c.offsets_for_times([samsa.TopicPartition(topic_name, 0, 1700000001500),
                                 samsa.TopicPartition(topic_name, 0, 1700000009000)])
    assert [(tp.partition, tp.offset) for tp in found] == [(0, 2), (0, -1)]
    with pytest.raises(samsa.KafkaException):
        c.get_watermark_offsets(samsa.TopicPartition(topic_name, 7), timeout=2)
    c.close()


def test_bytes_like_values(bootstrap, admin, topic_name):
    class Sub(bytes):
        pass

    create_topic(admin, topic_name, 1)
    p = samsa.Producer({"bootstrap.servers": bootstrap})
    p.produce(topic_name, bytearray(b"ba"), key=memoryview(b"mv"))
    p.produce(topic_name, Sub(b"sub"), key=Sub(b"k"))
    assert p.flush(30) == 0
    p.close()
    c = samsa.Consumer({"bootstrap.servers": bootstrap, "group.id": topic_name})
    c.assign([samsa.TopicPartition(topic_name, 0, samsa.OFFSET_BEGINNING)])
    assert [(m.key(), m.value()) for m in poll_messages(c, 2)] == [(b"mv", b"ba"),
                                                                    (b"k", b"sub")]
    c.close()


def test_library_lookup_follows_samsa_library():
    import os
    import subprocess
    import sys

    env = dict(os.environ, SAMSA_LIBRARY="/nonexistent/libsamsa.so.0")
    r = subprocess.run([sys.executable, "-c", "import samsa"], env=env,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True)
    assert r.returncode != 0
    assert "/nonexistent/libsamsa.so.0" in r.stderr and "SAMSA_LIBRARY" in r.stderr
    if "SAMSA_LIBRARY" in os.environ:
        assert samsa._lib.library_path == os.environ["SAMSA_LIBRARY"]
