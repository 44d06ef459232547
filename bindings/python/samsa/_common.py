"""_common: what the producer, consumer and admin client share: turning a
configuration dict into C key/value arrays, TopicPartition, Message, and
the errors raised from callbacks."""
import ctypes
import sys
import traceback

from . import _lib as L
from .error import KafkaError, KafkaException

# Offsets as confluent-kafka-python names them (librdkafka's values).
OFFSET_BEGINNING = -2
OFFSET_END = -1
OFFSET_STORED = -1000
OFFSET_INVALID = -1001

TIMESTAMP_NOT_AVAILABLE = 0
TIMESTAMP_CREATE_TIME = 1
TIMESTAMP_LOG_APPEND_TIME = 2


def offset_to_c(offset):
    """A confluent-style offset as samsa's C API takes it."""
    if offset >= 0:
        return offset
    if offset == OFFSET_BEGINNING:
        return -2
    if offset == OFFSET_END:
        return -3
    return -1


def offset_from_c(offset):
    """An offset from samsa's C API, -1 (none) becoming OFFSET_INVALID."""
    return OFFSET_INVALID if offset < 0 else offset


def ms(timeout):
    """Seconds (None or negative: forever) as the C API's milliseconds."""
    if timeout is None or timeout < 0:
        return -1
    return int(timeout * 1000)


def conf_value(key, value):
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float, str)):
        return str(value)
    if isinstance(value, (list, tuple)):
        return ",".join(str(v) for v in value)
    raise KafkaException(KafkaError(KafkaError._INVALID_CONFIG,
                                    "configuration property \"%s\": unsupported value %r"
                                    % (key, value)))


def conf_arrays(conf):
    """(keys, values, n) C arrays of the string properties of conf."""
    keys = [k for k in conf]
    values = [conf_value(k, conf[k]) for k in keys]
    return L.cstrings(keys), L.cstrings(values), len(keys)


def new_handle(create, conf, *callbacks):
    """Calls a samsa_*_new_kv constructor with the properties of conf (and
    its callbacks argument, when it has one); raises KafkaException with
    the library's reason when it fails."""
    keys, values, n = conf_arrays(conf)
    err = L.errbuf()
    h = create(keys, values, n, *(callbacks + (err, len(err))))
    if not h:
        raise KafkaException(KafkaError(KafkaError._INVALID_CONFIG,
                                        err.value.decode("utf-8", "replace")))
    return h


def split_conf(conf, callables):
    """Copies conf without the Python-only entries named in callables
    (returned as a dict); a callable value under any other key is an
    error."""
    if conf is None:
        conf = {}
    if not isinstance(conf, dict):
        raise TypeError("expected configuration dict")
    plain = {}
    py = {}
    for k, v in conf.items():
        if k in callables:
            if v is not None and not callable(v):
                raise TypeError("configuration property \"%s\" must be callable" % k)
            py[k] = v
        elif callable(v):
            raise KafkaException(KafkaError(KafkaError._UNKNOWN_CONFIG,
                                            "configuration property \"%s\" does not take a "
                                            "callable here" % k))
        else:
            plain[k] = v
    return plain, py


class Handle(object):
    """What the client classes share: the C handle in _h (None once
    closed), freed by the class's _free function when the object goes away
    unclosed; with-statement support calling close()."""

    _h = None
    _free = None

    def _handle(self):
        h = self._h
        if h is None:
            raise RuntimeError("%s has been closed" % type(self).__name__)
        return h

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        h = self._h
        if h is not None:
            self._h = None
            type(self)._free(h)


class MetadataMixin(object):
    """list_topics() for the producer and the consumer, as confluent-kafka
    has it, through an AdminClient made on first use from the client's
    bootstrap.servers and client.id (closed with the client)."""

    _admin = None

    def _admin_client(self):
        if self._admin is None:
            from .admin import AdminClient
            conf = dict((k, v) for k, v in self._conf.items()
                        if k in ("bootstrap.servers", "metadata.broker.list", "client.id"))
            self._admin = AdminClient(conf)
        return self._admin

    def list_topics(self, topic=None, timeout=-1):
        """ClusterMetadata of every topic, or of the one named topic."""
        self._handle()
        return self._admin_client().list_topics(topic, timeout)

    def _close_admin(self):
        a = self._admin
        if a is not None:
            self._admin = None
            a.close()


class CallbackErrors(object):
    """Keeps the first exception a user callback raised inside a C call, to
    be raised again when that call returns (further ones are printed)."""

    __slots__ = ("exc",)

    def __init__(self):
        self.exc = None

    def store(self, exc):
        if self.exc is None:
            self.exc = exc
        else:
            print("samsa: exception in a callback:", file=sys.stderr)
            traceback.print_exception(type(exc), exc, exc.__traceback__)

    def reraise(self):
        exc = self.exc
        if exc is not None:
            self.exc = None
            raise exc


class TopicPartition(object):
    """A topic partition, with an offset where one is meant and the error
    of the operation that returned it (None when it went well)."""

    __slots__ = ("topic", "partition", "offset", "metadata", "leader_epoch", "error")

    def __init__(self, topic, partition=-1, offset=OFFSET_INVALID, metadata=None,
                 leader_epoch=None):
        self.topic = topic
        self.partition = partition
        self.offset = offset
        self.metadata = metadata
        self.leader_epoch = leader_epoch
        self.error = None

    def _key(self):
        return (self.topic, self.partition)

    def __eq__(self, other):
        if not isinstance(other, TopicPartition):
            return NotImplemented
        return (self.topic, self.partition, self.offset) == \
            (other.topic, other.partition, other.offset)

    def __lt__(self, other):
        return (self.topic, self.partition) < (other.topic, other.partition)

    def __hash__(self):
        return hash((self.topic, self.partition))

    def __repr__(self):
        s = "TopicPartition{topic=%s,partition=%d,offset=%d" % (self.topic, self.partition,
                                                               self.offset)
        if self.leader_epoch is not None:
            s += ",leader_epoch=%d" % self.leader_epoch
        if self.error is not None:
            s += ",error=%r" % self.error
        return s + "}"

    __str__ = __repr__


def partitions_to_c(partitions, convert_offset=True):
    """A C samsa_partition_list_t of TopicPartitions, with what keeps its
    strings alive: (list, keepalive)."""
    n = len(partitions)
    arr = (L.CTopicPartition * max(n, 1))()
    names = []
    for i, tp in enumerate(partitions):
        if not isinstance(tp, TopicPartition):
            raise TypeError("expected list of TopicPartition")
        b = tp.topic.encode()
        names.append(b)
        arr[i].topic = b
        arr[i].partition = tp.partition
        arr[i].offset = offset_to_c(tp.offset) if convert_offset else tp.offset
        arr[i].err = 0
    lst = L.PartitionList(ctypes.cast(arr, ctypes.POINTER(L.CTopicPartition)), n)
    return lst, (arr, names)


def partitions_from_c(lst):
    """TopicPartitions of a C samsa_partition_list_t (offsets converted)."""
    out = []
    items = lst.items
    for i in range(lst.count):
        it = items[i]
        tp = TopicPartition(it.topic.decode(), it.partition, offset_from_c(it.offset))
        if it.err:
            tp.error = KafkaError(it.err)
        out.append(tp)
    return out
