"""Exceptions raised by user callbacks (delivery, rebalance, commit) are
caught inside the C call, raised again by the poll/flush that ran the
callback, and never take the process down."""
import pytest

import samsa
from conftest import create_topic, poll_messages, produce_values


class Boom(Exception):
    pass


def test_delivery_callback_exception(bootstrap, admin, topic_name, capfd):
    create_topic(admin, topic_name, 1)
    calls = []

    def bad(err, msg):
        calls.append(msg.value())
        raise Boom(msg.value())

    p = samsa.Producer({"bootstrap.servers": bootstrap, "on_delivery": bad})
    p.produce(topic_name, b"one")
    p.produce(topic_name, b"two")
    with pytest.raises(Boom) as ei:
        p.flush(30)
    assert ei.value.args[0] == b"one"
    assert calls == [b"one", b"two"]
    assert "Boom: b'two'" in capfd.readouterr().err
    assert len(p) == 0
    p.produce(topic_name, b"three", on_delivery=lambda e, m: 1 / 0)
    with pytest.raises(ZeroDivisionError):
        while True:
            p.poll(1)
    ok = []
    p.produce(topic_name, b"four", on_delivery=lambda e, m: ok.append(m.offset()))
    assert p.flush(30) == 0 and ok == [3]
    p.produce(topic_name, b"five", on_delivery=lambda e, m: (_ for _ in ()).throw(SystemExit(3)))
    with pytest.raises(SystemExit):
        p.close(30)


def test_rebalance_callback_exception(bootstrap, admin, topic_name):
    create_topic(admin, topic_name, 1)
    produce_values(bootstrap, topic_name, [b"m"])
    c = samsa.Consumer({"bootstrap.servers": bootstrap, "group.id": topic_name,
                        "auto.offset.reset": "earliest"})
    assigned = []

    def on_assign(consumer, partitions):
        assigned.append(partitions)
        raise Boom("assign")

    c.subscribe([topic_name], on_assign=on_assign)
    with pytest.raises(Boom):
        for _ in range(120):
            c.poll(0.5)
    assert len(assigned) == 1
    assert [(tp.topic, tp.partition) for tp in assigned[0]] == [(topic_name, 0)]
    msgs = poll_messages(c, 1)
    assert msgs[0].value() == b"m"
    c.close()


def test_commit_callback_exception(bootstrap, admin, topic_name):
    create_topic(admin, topic_name, 1)
    produce_values(bootstrap, topic_name, [b"m"])
    outcomes = []

    def on_commit(err, partitions):
        outcomes.append((err, [(tp.partition, tp.offset) for tp in partitions]))
        raise Boom("commit")

    c = samsa.Consumer({"bootstrap.servers": bootstrap, "group.id": topic_name,
                        "enable.auto.commit": False, "on_commit": on_commit})
    c.assign([samsa.TopicPartition(topic_name, 0, samsa.OFFSET_BEGINNING)])
    assert len(poll_messages(c, 1)) == 1
    with pytest.raises(Boom):
        c.commit(asynchronous=False)
    assert outcomes == [(None, [(0, 1)])]
    c.commit(asynchronous=True)
    with pytest.raises(Boom):
        for _ in range(60):
            c.poll(0.5)
    assert len(outcomes) == 2
    c.close()


def test_assign_inside_on_assign_sets_offsets(bootstrap, admin, topic_name):
    create_topic(admin, topic_name, 1)
    produce_values(bootstrap, topic_name, [b"%d" % i for i in range(5)])
    c = samsa.Consumer({"bootstrap.servers": bootstrap, "group.id": topic_name,
                        "auto.offset.reset": "latest"})
    revoked = []

    def on_assign(consumer, partitions):
        for tp in partitions:
            tp.offset = 3
        consumer.assign(partitions)

    c.subscribe([topic_name], on_assign=on_assign, on_revoke=lambda c2, ps: revoked.append(ps))
    assert [m.value() for m in poll_messages(c, 2)] == [b"3", b"4"]
    c.unsubscribe()
    for _ in range(10):
        c.poll(0.2)
        if revoked:
            break
    assert [(tp.topic, tp.partition) for tp in revoked[0]] == [(topic_name, 0)]
    c.close()


def test_calls_not_allowed_inside_callbacks(bootstrap, admin, topic_name):
    """poll/flush/close from a delivery callback, and poll/close from a
    rebalance callback, raise RuntimeError (given back by the outer call)
    instead of re-entering the C handle."""
    create_topic(admin, topic_name, 1)
    p = samsa.Producer({"bootstrap.servers": bootstrap})
    p.produce(topic_name, b"m", on_delivery=lambda err, msg: p.flush(1))
    with pytest.raises(RuntimeError, match="flush must not be called"):
        p.flush(30)
    p.produce(topic_name, b"n", on_delivery=lambda err, msg: p.close())
    with pytest.raises(RuntimeError, match="close must not be called"):
        p.flush(30)
    p.close()

    c = samsa.Consumer({"bootstrap.servers": bootstrap, "group.id": topic_name})
    c.subscribe([topic_name], on_assign=lambda consumer, parts: consumer.poll(0))
    with pytest.raises(RuntimeError, match="poll must not be called"):
        for _ in range(120):
            c.poll(0.5)
    c.close()
