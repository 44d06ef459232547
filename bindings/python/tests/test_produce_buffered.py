"""The producer's buffer (messages kept in Python and handed to C in
batches): buffered messages are delivered without poll() or flush(), and
by close(); order is kept across buffered and unbuffered messages;
BufferError comes for exactly the messages an unbuffered producer refuses;
several threads producing at once lose and duplicate nothing; len()
counts buffered messages; the linger thread does not keep the
interpreter alive."""
import os
import subprocess
import sys
import threading
import time

import samsa
from conftest import create_topic, poll_messages


def consume_all(bootstrap, topic, partitions, count, timeout=30.0):
    c = samsa.Consumer({"bootstrap.servers": bootstrap, "group.id": topic,
                        "auto.offset.reset": "earliest"})
    c.assign([samsa.TopicPartition(topic, p, samsa.OFFSET_BEGINNING)
              for p in range(partitions)])
    msgs = poll_messages(c, count, timeout)
    c.close()
    return msgs


def test_unpolled_messages_are_delivered(bootstrap, admin, topic_name):
    create_topic(admin, topic_name, 1)
    p = samsa.Producer({"bootstrap.servers": bootstrap, "linger.ms": 50})
    for i in range(10):
        p.produce(topic_name, b"m%d" % i)
    assert len(p) == 10
    # Neither poll() nor flush() nor anything else on p: the linger thread
    # pushes the buffer, and the C producer sends it.
    msgs = consume_all(bootstrap, topic_name, 1, 10)
    assert [m.value() for m in msgs] == [b"m%d" % i for i in range(10)]
    assert p.flush(30) == 0
    p.close()


def test_close_delivers_buffered_messages(bootstrap, admin, topic_name):
    create_topic(admin, topic_name, 1)
    reports = []
    p = samsa.Producer({"bootstrap.servers": bootstrap, "linger.ms": 10000,
                        "on_delivery": lambda err, msg: reports.append((err, msg.value()))})
    for i in range(20):
        p.produce(topic_name, b"c%d" % i)
    assert p.close(30) is True
    assert reports == [(None, b"c%d" % i) for i in range(20)]
    msgs = consume_all(bootstrap, topic_name, 1, 20)
    assert [m.value() for m in msgs] == [b"c%d" % i for i in range(20)]


def test_order_across_buffered_and_unbuffered(bootstrap, admin, topic_name):
    create_topic(admin, topic_name, 1)
    reports = []
    own = []
    p = samsa.Producer({"bootstrap.servers": bootstrap, "linger.ms": 1000,
                        "on_delivery": lambda err, msg: reports.append(msg.value())})
    want = []
    for i in range(300):
        v = b"o%d" % i
        kind = i % 10
        if kind == 3:
            p.produce(topic_name, v, key=b"key%d" % i)
        elif kind == 4:
            p.produce(topic_name, v, headers=[("h", b"x")])
        elif kind == 5:
            p.produce(topic_name, v, on_delivery=lambda err, msg: own.append(msg.value()))
        elif kind == 6:
            p.produce(topic_name, v, timestamp=1700000000000 + i)
        elif kind == 7:
            p.produce(topic_name, v.decode(), key=("s%d" % i))
        elif kind == 8:
            p.produce(topic_name, v, partition=0)
        else:
            p.produce(topic_name, v)
        want.append(v)
    assert p.flush(30) == 0
    msgs = consume_all(bootstrap, topic_name, 1, 300)
    assert [m.value() for m in msgs] == want
    assert [m.offset() for m in msgs] == list(range(300))
    for i, m in enumerate(msgs):
        if i % 10 == 3:
            assert m.key() == b"key%d" % i
        elif i % 10 == 4:
            assert m.headers() == [("h", b"x")]
        elif i % 10 == 6:
            assert m.timestamp()[1] == 1700000000000 + i
        elif i % 10 == 7:
            assert m.key() == b"s%d" % i
        else:
            assert m.key() is None
    # Every message reported once, in order: the default callback for all
    # but those given their own.
    assert own == [v for i, v in enumerate(want) if i % 10 == 5]
    assert reports == [v for i, v in enumerate(want) if i % 10 != 5]
    p.close()


def test_partitions_and_keys_in_one_buffer(bootstrap, admin, topic_name):
    create_topic(admin, topic_name, 3)
    p = samsa.Producer({"bootstrap.servers": bootstrap, "linger.ms": 1000})
    p.produce(topic_name, b"first", partition=0)
    for i in range(90):
        key = None if i % 4 == 0 else b"k%d" % i
        p.produce(topic_name, b"p%d" % i, key=key, partition=i % 3)
    assert len(p) == 91
    assert p.flush(30) == 0
    msgs = consume_all(bootstrap, topic_name, 3, 91)
    by_part = {0: [], 1: [], 2: []}
    for m in msgs:
        by_part[m.partition()].append((m.key(), m.value()))
    assert by_part[0][0] == (None, b"first")
    for q in range(3):
        got = [kv for kv in by_part[q] if kv[1] != b"first"]
        assert got == [(None if i % 4 == 0 else b"k%d" % i, b"p%d" % i)
                       for i in range(q, 90, 3)]
    p.close()


def accepted_until_full(conf, topic, sizes):
    """Produces values of the given sizes until BufferError; returns how
    many were accepted and the values reported (after a flush)."""
    reports = []
    p = samsa.Producer(dict(conf, on_delivery=lambda err, msg: reports.append(
        (err is None, msg.value()))))
    n = 0
    for i, size in enumerate(sizes):
        try:
            p.produce(topic, (b"%d-" % i).ljust(size, b"x"))
        except BufferError:
            break
        n += 1
    assert len(p) == n
    assert p.flush(30) == 0
    p.close()
    return n, reports


def test_buffer_error_exactly_when_the_queue_is_full(bootstrap, admin, topic_name):
    create_topic(admin, topic_name, 1)
    base = {"bootstrap.servers": bootstrap}
    for limits in ({"queue.buffering.max.messages": 7},
                   {"queue.buffering.max.messages": 1500},
                   {"buffer.memory": 20000}):
        sizes = [10 + (i * 37) % 300 for i in range(3000)]
        unbuffered = accepted_until_full(dict(base, **limits, **{"linger.ms": 0}),
                                          topic_name, sizes)
        buffered = accepted_until_full(dict(base, **limits, **{"linger.ms": 1000}),
                                        topic_name, sizes)
        assert buffered == unbuffered, limits
        n, reports = buffered
        assert 0 < n < 3000
        assert reports == [(True, (b"%d-" % i).ljust(sizes[i], b"x")) for i in range(n)]


def outcomes(conf, topic, sizes):
    """Produces a value of each size; returns what each produce() did."""
    p = samsa.Producer(conf)
    out = []
    for i, size in enumerate(sizes):
        try:
            p.produce(topic, b"x" * size, key=(b"k" if i % 3 == 0 else None))
            out.append("ok")
        except BufferError:
            out.append("full")
        except samsa.KafkaException as e:
            out.append(e.args[0].name())
    assert p.flush(30) == 0
    p.close()
    return out


def test_too_large_exactly_as_unbuffered(bootstrap, admin, topic_name):
    create_topic(admin, topic_name, 1)
    base = {"bootstrap.servers": bootstrap, "max.request.size": 3000}
    sizes = [10, 1900, 2000, 2600, 2700, 2800, 3000, 20, 1200, 2650, 5, 2690]
    unbuffered = outcomes(dict(base, **{"linger.ms": 0}), topic_name, sizes)
    buffered = outcomes(dict(base, **{"linger.ms": 1000}), topic_name, sizes)
    assert buffered == unbuffered
    assert "ok" in unbuffered and "_MSG_TOO_LARGE" in unbuffered


def test_buffer_error_then_poll_makes_room(bootstrap, admin, topic_name):
    create_topic(admin, topic_name, 1)
    p = samsa.Producer({"bootstrap.servers": bootstrap, "linger.ms": 5,
                        "queue.buffering.max.messages": 5})
    sent = 0
    refused = 0
    deadline = time.monotonic() + 60
    while sent < 200 and time.monotonic() < deadline:
        try:
            p.produce(topic_name, b"r%d" % sent)
            sent += 1
        except BufferError:
            refused += 1
            assert len(p) == 5
            p.poll(0.05)
    assert sent == 200 and refused > 0
    assert p.flush(30) == 0
    msgs = consume_all(bootstrap, topic_name, 1, 200)
    assert [m.value() for m in msgs] == [b"r%d" % i for i in range(200)]
    p.close()


def test_threads_producing_at_once(bootstrap, admin, topic_name):
    create_topic(admin, topic_name, 1)
    reports = []
    lock = threading.Lock()

    def on_delivery(err, msg):
        assert err is None
        with lock:
            reports.append(msg.value())

    p = samsa.Producer({"bootstrap.servers": bootstrap, "linger.ms": 2,
                        "on_delivery": on_delivery})
    p.produce(topic_name, b"start")
    threads_n, per_thread = 4, 3000

    def work(t):
        for i in range(per_thread):
            v = b"t%d-%d" % (t, i)
            while True:
                try:
                    if i % 500 == 499:
                        p.produce(topic_name, v, key=b"k")
                    else:
                        p.produce(topic_name, v)
                    break
                except BufferError:
                    time.sleep(0.01)

    threads = [threading.Thread(target=work, args=(t,)) for t in range(threads_n)]
    for th in threads:
        th.start()
    while any(th.is_alive() for th in threads):
        p.poll(0.01)
    for th in threads:
        th.join()
    assert p.flush(30) == 0
    total = 1 + threads_n * per_thread
    assert len(reports) == total and len(set(reports)) == total
    msgs = consume_all(bootstrap, topic_name, 1, total)
    values = [m.value() for m in msgs]
    assert len(values) == total and len(set(values)) == total
    for t in range(threads_n):
        mine = [v for v in values if v.startswith(b"t%d-" % t)]
        assert mine == [b"t%d-%d" % (t, i) for i in range(per_thread)]
    p.close()


def test_len_counts_buffered_messages(bootstrap, admin, topic_name):
    create_topic(admin, topic_name, 1)
    p = samsa.Producer({"bootstrap.servers": bootstrap, "linger.ms": 60000})
    p.produce(topic_name, b"a")
    for i in range(49):
        p.produce(topic_name, b"b")
    assert len(p) == 50
    assert p.flush(30) == 0
    assert len(p) == 0
    p.close()
    assert len(p) == 0


def test_linger_thread_does_not_keep_the_interpreter_alive(bootstrap, admin, topic_name):
    create_topic(admin, topic_name, 1)
    code = ("import samsa, sys\n"
            "p = samsa.Producer({'bootstrap.servers': sys.argv[1], 'linger.ms': 60000})\n"
            "for i in range(10):\n"
            "    p.produce(sys.argv[2], b'x')\n"
            "assert len(p) == 10\n")
    r = subprocess.run([sys.executable, "-c", code, bootstrap, topic_name],
                       env=dict(os.environ), timeout=60, capture_output=True)
    assert r.returncode == 0, r.stderr
