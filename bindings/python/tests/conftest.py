"""Fixtures shared by the binding's tests: one embedded broker for the
session (its data in a temporary directory), unique topic names, and a
helper that polls until enough messages came."""
import itertools
import os
import time

import pytest

import samsa

_names = itertools.count()


@pytest.fixture(scope="session")
def broker():
    with samsa.Broker({"num.partitions": 1}) as b:
        yield b


@pytest.fixture
def bootstrap(broker):
    return broker.bootstrap_servers


@pytest.fixture
def topic_name(request):
    """A topic name no other test uses."""
    base = request.node.name.replace("[", "-").replace("]", "").replace("_", "-")
    return "py-%s-%d-%d" % (base[:60], os.getpid(), next(_names))


@pytest.fixture
def admin(bootstrap):
    a = samsa.AdminClient({"bootstrap.servers": bootstrap})
    yield a
    a.close()


def create_topic(admin, name, partitions=1):
    fs = admin.create_topics([samsa.NewTopic(name, partitions)], request_timeout=30)
    fs[name].result()


def produce_values(bootstrap, topic, values, partition=-1):
    """Produces values (bytes) to topic with a producer of its own and
    waits until all are written."""
    p = samsa.Producer({"bootstrap.servers": bootstrap})
    for v in values:
        p.produce(topic, v, partition=partition)
    assert p.flush(30) == 0
    p.close()


def poll_messages(consumer, count, timeout=30.0):
    """Polls consumer (samsa's or confluent-kafka's) until count messages
    without error came (errors but end of partition fail the test) or
    timeout seconds passed; returns them."""
    out = []
    deadline = time.monotonic() + timeout
    while len(out) < count and time.monotonic() < deadline:
        m = consumer.poll(0.5)
        if m is None:
            continue
        if m.error() is not None:
            if m.error().name() == "_PARTITION_EOF":
                continue
            raise AssertionError("consumer error: %r" % m.error())
        out.append(m)
    return out
