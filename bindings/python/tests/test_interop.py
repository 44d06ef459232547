"""samsa's binding and confluent-kafka-python through samsa's broker: a
message produced by one is consumed by the other, with key, value,
headers, timestamp and offset intact."""
import confluent_kafka
import pytest

import samsa
from conftest import create_topic, poll_messages

CLIENTS = {"samsa": samsa, "confluent": confluent_kafka}


def _produce_and_read(bootstrap, topic, writer, reader):
    p = writer.Producer({"bootstrap.servers": bootstrap})
    for i in range(10):
        p.produce(topic, b"value-%d" % i, key=b"key-%d" % i, partition=i % 2,
                  timestamp=1700000000000 + i, headers=[("n", b"%d" % i)])
    assert p.flush(30) == 0
    c = reader.Consumer({"bootstrap.servers": bootstrap, "group.id": topic,
                         "auto.offset.reset": "earliest"})
    c.subscribe([topic])
    msgs = poll_messages(c, 10)
    c.close()
    got = sorted((m.partition(), m.offset(), m.key(), m.value(), m.headers(), m.timestamp())
                 for m in msgs)
    want = sorted((i % 2, i // 2, b"key-%d" % i, b"value-%d" % i, [("n", b"%d" % i)],
                   (reader.TIMESTAMP_CREATE_TIME, 1700000000000 + i))
                  for i in range(10))
    assert got == want


@pytest.mark.parametrize("writer,reader", [("samsa", "confluent"), ("confluent", "samsa")])
def test_one_writes_other_reads(bootstrap, admin, topic_name, writer, reader):
    create_topic(admin, topic_name, 2)
    _produce_and_read(bootstrap, topic_name, CLIENTS[writer], CLIENTS[reader])


def test_confluent_commits_samsa_reads_committed(bootstrap, admin, topic_name):
    create_topic(admin, topic_name, 1)
    p = confluent_kafka.Producer({"bootstrap.servers": bootstrap})
    for i in range(5):
        p.produce(topic_name, b"%d" % i)
    assert p.flush(30) == 0
    c = confluent_kafka.Consumer({"bootstrap.servers": bootstrap, "group.id": topic_name,
                                  "auto.offset.reset": "earliest",
                                  "enable.auto.commit": False})
    c.subscribe([topic_name])
    msgs = poll_messages(c, 3)
    c.commit(message=msgs[2], asynchronous=False)
    c.close()
    s = samsa.Consumer({"bootstrap.servers": bootstrap, "group.id": topic_name})
    s.subscribe([topic_name])
    assert [m.value() for m in poll_messages(s, 2)] == [b"3", b"4"]
    assert s.committed([samsa.TopicPartition(topic_name, 0)])[0].offset == 3
    s.close()
