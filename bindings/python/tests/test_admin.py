"""AdminClient against the embedded broker: topics, partitions, cluster,
groups, in confluent-kafka's shapes (futures that are already done)."""
import pytest

import samsa
from conftest import create_topic, poll_messages, produce_values


def test_topics(admin, topic_name):
    fs = admin.create_topics([samsa.NewTopic(topic_name, 3, config={"retention.ms": "60000"})])
    assert list(fs) == [topic_name] and fs[topic_name].done()
    assert fs[topic_name].result() is None

    with pytest.raises(samsa.KafkaException) as ei:
        admin.create_topics([samsa.NewTopic(topic_name, 3)])[topic_name].result()
    assert ei.value.args[0].code() == samsa.KafkaError.TOPIC_ALREADY_EXISTS

    fs = admin.create_topics([samsa.NewTopic(topic_name + "-v", 1)], validate_only=True)
    fs[topic_name + "-v"].result()

    md = admin.list_topics(timeout=30)
    assert topic_name in md.topics and topic_name + "-v" not in md.topics
    t = md.topics[topic_name]
    assert t.error is None and sorted(t.partitions) == [0, 1, 2]
    assert all(p.leader == 1 and p.replicas == [1] and p.isrs == [1]
               for p in t.partitions.values())
    assert list(md.brokers) == [1] and md.controller_id == 1 and md.cluster_id

    one = admin.list_topics(topic_name)
    assert list(one.topics) == [topic_name]
    missing = admin.list_topics(topic_name + "-missing").topics[topic_name + "-missing"]
    assert missing.error.code() == samsa.KafkaError.UNKNOWN_TOPIC_OR_PARTITION

    fs = admin.create_partitions([samsa.NewPartitions(topic_name, 5)])
    fs[topic_name].result()
    assert len(admin.list_topics(topic_name).topics[topic_name].partitions) == 5
    with pytest.raises(samsa.KafkaException) as ei:
        admin.create_partitions([samsa.NewPartitions(topic_name, 2)])[topic_name].result()
    assert ei.value.args[0].code() == samsa.KafkaError.INVALID_PARTITIONS

    fs = admin.delete_topics([topic_name, topic_name + "-missing"])
    fs[topic_name].result()
    with pytest.raises(samsa.KafkaException) as ei:
        fs[topic_name + "-missing"].result()
    assert ei.value.args[0].code() == samsa.KafkaError.UNKNOWN_TOPIC_OR_PARTITION
    assert topic_name not in admin.list_topics().topics


def test_describe_cluster(admin, broker):
    r = admin.describe_cluster().result()
    assert r.cluster_id == broker.cluster_id
    assert [n.id for n in r.nodes] == [1] and r.controller.id == 1
    host, port = broker.bootstrap_servers.rsplit(":", 1)
    assert (r.nodes[0].host, r.nodes[0].port) == (host, int(port))


def test_groups(admin, bootstrap, topic_name):
    create_topic(admin, topic_name, 2)
    produce_values(bootstrap, topic_name, [b"x"], partition=1)
    group = topic_name + "-group"
    c = samsa.Consumer({"bootstrap.servers": bootstrap, "group.id": group,
                        "auto.offset.reset": "earliest", "client.id": "py-admin-test"})
    c.subscribe([topic_name])
    assert len(poll_messages(c, 1)) == 1
    c.commit(asynchronous=False)

    listed = admin.list_consumer_groups().result()
    mine = [g for g in listed.valid if g.group_id == group]
    assert len(mine) == 1 and mine[0].state == "Stable" and not mine[0].is_simple_consumer_group
    assert listed.errors == []
    assert group not in [g.group_id for g in
                         admin.list_consumer_groups(states=["Empty"]).result().valid]

    fs = admin.describe_consumer_groups([group, group + "-none"])
    d = fs[group].result()
    assert d.group_id == group and d.state == "Stable" and d.partition_assignor
    assert len(d.members) == 1 and d.members[0].client_id == "py-admin-test"
    assert sorted(tp.partition for tp in d.members[0].assignment.topic_partitions) == [0, 1]
    assert d.coordinator.id == 1
    with pytest.raises(samsa.KafkaException) as ei:
        fs[group + "-none"].result()
    assert ei.value.args[0].code() == samsa.KafkaError.GROUP_ID_NOT_FOUND

    offs = admin.list_consumer_group_offsets(group)
    assert sorted((tp.topic, tp.partition, tp.offset) for tp in offs) == \
        [(topic_name, 0, 0), (topic_name, 1, 1)]
    c.close()
    assert admin.describe_consumer_groups([group])[group].result().members == []


def test_admin_timeout_on_dead_bootstrap():
    a = samsa.AdminClient({"bootstrap.servers": "127.0.0.1:1"})
    with pytest.raises(samsa.KafkaException) as ei:
        a.list_topics(timeout=1)
    assert ei.value.args[0].code() == samsa.KafkaError._TIMED_OUT
    f = a.describe_cluster(request_timeout=1)
    assert isinstance(f.exception(), samsa.KafkaException)
    a.close()
