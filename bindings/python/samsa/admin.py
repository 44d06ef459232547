"""admin: AdminClient, confluent-kafka-python's admin client over
libsamsa's samsa_admin_t.

libsamsa's admin calls block until the cluster answers, so each method
does its work before returning. Methods that return futures in
confluent-kafka (create_topics, delete_topics, create_partitions,
describe_cluster, list_consumer_groups, describe_consumer_groups) return
concurrent.futures.Future objects that are already done, in the same
shapes (a dict of futures per topic or group, or one future), so code
written for confluent-kafka works unchanged: f.result() returns the value
or raises KafkaException. list_topics() returns ClusterMetadata directly,
as in confluent-kafka.

Timeouts are in seconds (request_timeout, operation_timeout, timeout);
the default is 30 s.
"""
import ctypes
from concurrent.futures import Future

from . import _lib as L
from ._common import Handle, TopicPartition, new_handle, split_conf
from .error import KafkaError, KafkaException

_DEFAULT_TIMEOUT_MS = 30000


def _timeout_ms(*timeouts):
    for t in timeouts:
        if t is not None and t > 0:
            return max(1, int(t * 1000))
    return _DEFAULT_TIMEOUT_MS


def _done(value=None, exc=None):
    f = Future()
    if exc is not None:
        f.set_exception(exc)
    else:
        f.set_result(value)
    return f


def _call_error(err):
    return KafkaException(KafkaError(err, L.text(L.samsa_admin_last_error()) or None))


def _item_error(err, errstr):
    return KafkaException(KafkaError(err, L.text(errstr) or None))


class NewTopic(object):
    """A topic to create: num_partitions and replication_factor -1 take
    the broker's defaults; config is a dict of topic properties."""

    def __init__(self, topic, num_partitions=-1, replication_factor=-1, replica_assignment=None,
                 config=None):
        if replica_assignment:
            raise KafkaException(KafkaError(KafkaError._NOT_SUPPORTED,
                                            "replica_assignment is not supported"))
        self.topic = topic
        self.num_partitions = num_partitions
        self.replication_factor = replication_factor
        self.replica_assignment = None
        self.config = dict(config or {})

    def __repr__(self):
        return "NewTopic(topic=%s,num_partitions=%d)" % (self.topic, self.num_partitions)


class NewPartitions(object):
    """A topic to grow to new_total_count partitions."""

    def __init__(self, topic, new_total_count, replica_assignment=None):
        if replica_assignment:
            raise KafkaException(KafkaError(KafkaError._NOT_SUPPORTED,
                                            "replica_assignment is not supported"))
        self.topic = topic
        self.new_total_count = new_total_count
        self.replica_assignment = None


class BrokerMetadata(object):
    def __init__(self, id, host, port):
        self.id = id
        self.host = host
        self.port = port

    def __repr__(self):
        return "BrokerMetadata(%d, %s:%d)" % (self.id, self.host, self.port)


class PartitionMetadata(object):
    def __init__(self, id, leader, replicas, isrs, error):
        self.id = id
        self.leader = leader
        self.replicas = replicas
        self.isrs = isrs
        self.error = error

    def __repr__(self):
        return "PartitionMetadata(%d)" % self.id


class TopicMetadata(object):
    def __init__(self, topic, partitions, error, topic_id=None, is_internal=False):
        self.topic = topic
        self.partitions = partitions
        self.error = error
        self.topic_id = topic_id
        self.is_internal = is_internal

    def __repr__(self):
        return "TopicMetadata(%s, %d partitions)" % (self.topic, len(self.partitions))


class ClusterMetadata(object):
    """What list_topics() returns: cluster_id, controller_id, brokers
    (node id -> BrokerMetadata), topics (name -> TopicMetadata, whose
    partitions map partition id -> PartitionMetadata)."""

    def __init__(self):
        self.cluster_id = None
        self.controller_id = -1
        self.brokers = {}
        self.topics = {}
        self.orig_broker_id = -1
        self.orig_broker_name = None


class Node(object):
    def __init__(self, id, host, port, rack=None):
        self.id = id
        self.id_string = str(id)
        self.host = host
        self.port = port
        self.rack = rack

    def __repr__(self):
        return "Node(%d, %s:%d)" % (self.id, self.host, self.port)


class DescribeClusterResult(object):
    def __init__(self, controller, nodes, cluster_id=None, authorized_operations=None):
        self.controller = controller
        self.nodes = nodes
        self.cluster_id = cluster_id
        self.authorized_operations = authorized_operations


class ConsumerGroupListing(object):
    """state is the broker's state name ("Stable", "Empty" ...)."""

    def __init__(self, group_id, is_simple_consumer_group, state=None, protocol_type=None):
        self.group_id = group_id
        self.is_simple_consumer_group = is_simple_consumer_group
        self.state = state
        self.protocol_type = protocol_type

    def __repr__(self):
        return "ConsumerGroupListing(%s, %s)" % (self.group_id, self.state)


class ListConsumerGroupsResult(object):
    def __init__(self, valid=None, errors=None):
        self.valid = valid or []
        self.errors = errors or []


class MemberAssignment(object):
    def __init__(self, topic_partitions=None):
        self.topic_partitions = topic_partitions or []


class MemberDescription(object):
    def __init__(self, member_id, client_id, host, assignment, group_instance_id=None):
        self.member_id = member_id
        self.client_id = client_id
        self.host = host
        self.assignment = assignment
        self.group_instance_id = group_instance_id

    def __repr__(self):
        return "MemberDescription(%s, %d partitions)" % (
            self.member_id, len(self.assignment.topic_partitions))


class ConsumerGroupDescription(object):
    """state is the broker's state name; coordinator a Node (host and port
    only when the cluster's metadata names that node)."""

    def __init__(self, group_id, is_simple_consumer_group, members, partition_assignor, state,
                 coordinator, protocol_type=None):
        self.group_id = group_id
        self.is_simple_consumer_group = is_simple_consumer_group
        self.members = members
        self.partition_assignor = partition_assignor
        self.state = state
        self.coordinator = coordinator
        self.protocol_type = protocol_type


class AdminClient(Handle):
    """AdminClient(conf): conf holds bootstrap.servers and connection
    properties (client.id, request.timeout.ms ...)."""

    _free = staticmethod(L.samsa_admin_free)

    def __init__(self, conf=None, **kwargs):
        conf = dict(conf or {}, **kwargs)
        plain, _ = split_conf(conf, ())
        self._h = new_handle(L.samsa_admin_new_kv, plain)

    def _topic_results(self, names, call):
        res = ctypes.POINTER(L.TopicResult)()
        err = call(ctypes.byref(res))
        if err:
            exc = _call_error(err)
            return dict((t, _done(exc=exc)) for t in names)
        try:
            out = {}
            for i, name in enumerate(names):
                r = res[i]
                out[name] = _done(exc=_item_error(r.err, r.errstr)) if r.err else _done(None)
            return out
        finally:
            L.samsa_topic_results_free(res)

    def create_topics(self, new_topics, operation_timeout=0, request_timeout=None,
                      validate_only=False):
        """Creates topics (NewTopic list): {topic: Future(None)}."""
        h = self._handle()
        n = len(new_topics)
        arr = (L.NewTopicC * max(n, 1))()
        keep = []
        for i, t in enumerate(new_topics):
            name = t.topic.encode()
            cfgs = (L.TopicConfig * max(len(t.config), 1))()
            for j, (k, v) in enumerate(t.config.items()):
                kb, vb = str(k).encode(), str(v).encode()
                keep += [kb, vb]
                cfgs[j].name = kb
                cfgs[j].value = vb
            keep += [name, cfgs]
            arr[i].name = name
            arr[i].partitions = t.num_partitions
            arr[i].replication_factor = t.replication_factor
            arr[i].configs = ctypes.cast(cfgs, ctypes.POINTER(L.TopicConfig))
            arr[i].config_count = len(t.config)
        ms = _timeout_ms(request_timeout, operation_timeout)
        return self._topic_results(
            [t.topic for t in new_topics],
            lambda res: L.samsa_admin_create_topics(h, arr, n, int(bool(validate_only)), ms, res))

    def delete_topics(self, topics, operation_timeout=0, request_timeout=None):
        """Deletes topics (names): {topic: Future(None)}."""
        h = self._handle()
        arr = L.cstrings(list(topics))
        ms = _timeout_ms(request_timeout, operation_timeout)
        return self._topic_results(
            list(topics), lambda res: L.samsa_admin_delete_topics(h, arr, len(topics), ms, res))

    def create_partitions(self, new_partitions, operation_timeout=0, request_timeout=None,
                          validate_only=False):
        """Grows topics (NewPartitions list): {topic: Future(None)}."""
        h = self._handle()
        n = len(new_partitions)
        arr = (L.NewPartitionsC * max(n, 1))()
        keep = []
        for i, p in enumerate(new_partitions):
            b = p.topic.encode()
            keep.append(b)
            arr[i].topic = b
            arr[i].total_count = p.new_total_count
        ms = _timeout_ms(request_timeout, operation_timeout)
        return self._topic_results(
            [p.topic for p in new_partitions],
            lambda res: L.samsa_admin_create_partitions(h, arr, n, int(bool(validate_only)), ms,
                                                        res))

    def _metadata(self, topics, internal, timeout):
        h = self._handle()
        info = ctypes.POINTER(L.ClusterInfo)()
        if topics is None:
            err = L.samsa_admin_describe_cluster(h, timeout, ctypes.byref(info))
        else:
            arr = L.cstrings(topics)
            err = L.samsa_admin_list_topics(h, arr, len(topics), int(internal), timeout,
                                            ctypes.byref(info))
        if err:
            raise _call_error(err)
        try:
            return self._cluster(info.contents)
        finally:
            L.samsa_cluster_info_free(info)

    @staticmethod
    def _cluster(ci):
        md = ClusterMetadata()
        md.cluster_id = L.text(ci.cluster_id) or None
        md.controller_id = ci.controller_id
        for i in range(ci.broker_count):
            b = ci.brokers[i]
            md.brokers[b.node_id] = BrokerMetadata(b.node_id, L.text(b.host), b.port)
            md.brokers[b.node_id].rack = L.text(b.rack)
        for i in range(ci.topic_count):
            t = ci.topics[i]
            parts = {}
            for j in range(t.partition_count):
                p = t.partitions[j]
                parts[p.partition] = PartitionMetadata(
                    p.partition, p.leader, [p.replicas[k] for k in range(p.replica_count)],
                    [p.isr[k] for k in range(p.isr_count)],
                    KafkaError(p.err) if p.err else None)
            name = L.text(t.name)
            err = KafkaError(t.err, L.text(t.errstr) or None) if t.err else None
            md.topics[name] = TopicMetadata(name, parts, err, bytes(t.topic_id),
                                            bool(t.internal))
        return md

    def list_topics(self, topic=None, timeout=-1):
        """ClusterMetadata of every topic (internal ones included, as
        confluent-kafka does), or of the one named topic."""
        ms = _timeout_ms(timeout)
        return self._metadata([topic] if topic else [], True, ms)

    def describe_cluster(self, request_timeout=None, include_authorized_operations=False):
        """Future(DescribeClusterResult)."""
        try:
            md = self._metadata(None, False, _timeout_ms(request_timeout))
        except KafkaException as e:
            return _done(exc=e)
        nodes = [Node(b.id, b.host, b.port, b.rack) for _, b in sorted(md.brokers.items())]
        ctrl = next((n for n in nodes if n.id == md.controller_id), None)
        return _done(DescribeClusterResult(ctrl, nodes, md.cluster_id))

    def list_consumer_groups(self, request_timeout=None, states=None, types=None):
        """Future(ListConsumerGroupsResult): the groups of every broker,
        filtered by states (state names) when given."""
        h = self._handle()
        lst = ctypes.POINTER(L.GroupList)()
        err = L.samsa_admin_list_groups(h, _timeout_ms(request_timeout), ctypes.byref(lst))
        if err:
            return _done(exc=_call_error(err))
        try:
            gl = lst.contents
            valid = []
            wanted = None if not states else set(str(getattr(s, "name", s)).lower()
                                                  for s in states)
            for i in range(gl.group_count):
                g = gl.groups[i]
                state = L.text(g.state)
                if wanted is not None and (state or "").lower() not in wanted:
                    continue
                ptype = L.text(g.protocol_type)
                valid.append(ConsumerGroupListing(L.text(g.group_id), ptype == "", state, ptype))
            return _done(ListConsumerGroupsResult(valid, []))
        finally:
            L.samsa_group_list_free(lst)

    def describe_consumer_groups(self, group_ids, request_timeout=None,
                                 include_authorized_operations=False):
        """{group_id: Future(ConsumerGroupDescription)}; a group that does
        not exist fails with GROUP_ID_NOT_FOUND."""
        h = self._handle()
        group_ids = list(group_ids)
        arr = L.cstrings(group_ids)
        res = ctypes.POINTER(L.GroupDescription)()
        err = L.samsa_admin_describe_groups(h, arr, len(group_ids),
                                            _timeout_ms(request_timeout), ctypes.byref(res))
        if err:
            exc = _call_error(err)
            return dict((g, _done(exc=exc)) for g in group_ids)
        try:
            out = {}
            for i, gid in enumerate(group_ids):
                d = res[i]
                if d.err:
                    out[gid] = _done(exc=_item_error(d.err, d.errstr))
                    continue
                members = []
                for j in range(d.member_count):
                    m = d.members[j]
                    tps = [TopicPartition(L.text(m.assigned[k].topic), m.assigned[k].partition)
                           for k in range(m.assigned_count)]
                    members.append(MemberDescription(L.text(m.member_id), L.text(m.client_id),
                                                     L.text(m.client_host),
                                                     MemberAssignment(tps),
                                                     L.text(m.group_instance_id)))
                ptype = L.text(d.protocol_type)
                out[gid] = _done(ConsumerGroupDescription(
                    L.text(d.group_id), ptype == "", members, L.text(d.protocol),
                    L.text(d.state), Node(d.coordinator_id, None, -1), ptype))
            return out
        finally:
            L.samsa_group_descriptions_free(res)

    def list_consumer_group_offsets(self, group_id, partitions=None, request_timeout=None):
        """The group's committed offsets: of partitions (TopicPartitions),
        or every partition it committed for; a list of TopicPartitions
        (offset OFFSET_INVALID: none; error set per partition). This is
        simpler than confluent-kafka's form (a group id, not a request
        object, and a plain result)."""
        h = self._handle()
        parts = list(partitions or [])
        arr = (L.CTopicPartition * max(len(parts), 1))()
        keep = []
        for i, tp in enumerate(parts):
            b = tp.topic.encode()
            keep.append(b)
            arr[i].topic = b
            arr[i].partition = tp.partition
            arr[i].offset = -1
        res = ctypes.POINTER(L.OffsetResult)()
        count = ctypes.c_size_t()
        err = L.samsa_admin_list_group_offsets(h, group_id.encode(), arr, len(parts),
                                               _timeout_ms(request_timeout), ctypes.byref(res),
                                               ctypes.byref(count))
        if err:
            raise _call_error(err)
        try:
            out = []
            for i in range(count.value):
                r = res[i]
                tp = TopicPartition(L.text(r.topic), r.partition,
                                    r.offset if r.offset >= 0 else -1001)
                tp.metadata = L.text(r.metadata)
                if r.err:
                    tp.error = KafkaError(r.err, L.text(r.errstr) or None)
                out.append(tp)
            return out
        finally:
            L.samsa_offset_results_free(res)

    def _list_offsets(self, specs, timeout):
        """(offset, timestamp_ms) for each (topic, partition, spec) of
        specs as samsa_admin_list_offsets answers it; KafkaException for a
        failed call or partition."""
        h = self._handle()
        arr = (L.PartitionOffset * max(len(specs), 1))()
        keep = []
        for i, (topic, partition, spec) in enumerate(specs):
            b = topic.encode()
            keep.append(b)
            arr[i].topic = b
            arr[i].partition = partition
            arr[i].offset = spec
        res = ctypes.POINTER(L.OffsetResult)()
        err = L.samsa_admin_list_offsets(h, arr, len(specs), _timeout_ms(timeout),
                                         ctypes.byref(res))
        if err:
            raise _call_error(err)
        try:
            out = []
            for i in range(len(specs)):
                r = res[i]
                if r.err:
                    raise _item_error(r.err, r.errstr)
                out.append((r.offset, r.timestamp_ms))
            return out
        finally:
            L.samsa_offset_results_free(res)

    def close(self):
        h = self._h
        if h is not None:
            self._h = None
            L.samsa_admin_free(h)
