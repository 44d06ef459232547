"""message: Message, what Consumer.poll() returns and what delivery
callbacks receive, with confluent-kafka-python's accessors.

A consumed message keeps libsamsa's samsa_message_t and reads its fields
when asked (the payload is copied into bytes by key()/value()); the C
message is freed when the Message object goes away. A delivery report's
Message holds copies, as the report only lives during the callback."""
import ctypes

from . import _lib as L
from .error import KafkaError

_from_address = L.CMessage.from_address
# Freeing never blocks: called holding the GIL, which is cheaper.
_message_free = ctypes.PyDLL(L.library_path).samsa_message_free
_message_free.restype = None
_message_free.argtypes = [ctypes.c_void_p]


def _headers(hdrs, n):
    if not n:
        return None
    out = []
    for i in range(n):
        h = hdrs[i]
        v = h.value[:h.value_len] if h.value else None
        out.append((h.name.decode("utf-8", "replace"), v))
    return out


class Message(object):
    """One message: topic(), partition(), offset(), key(), value(),
    headers(), timestamp() -> (type, ms), error() -> KafkaError or None,
    leader_epoch(), len(). set_key/set_value/set_headers replace a field
    of this object (as confluent-kafka's do)."""

    __slots__ = ("_topic", "_partition", "_offset", "_key", "_value", "_headers",
                 "_timestamp", "_error", "_leader_epoch")

    def __init__(self, topic=None, partition=-1, offset=-1, key=None, value=None, headers=None,
                 timestamp=(0, -1), error=None, leader_epoch=None):
        self._topic = topic
        self._partition = partition
        self._offset = offset
        self._key = key
        self._value = value
        self._headers = headers
        self._timestamp = timestamp
        self._error = error
        self._leader_epoch = leader_epoch

    def topic(self):
        return self._topic

    def partition(self):
        return self._partition

    def offset(self):
        return self._offset

    def key(self):
        return self._key

    def value(self):
        return self._value

    def headers(self):
        return self._headers

    def timestamp(self):
        return self._timestamp

    def error(self):
        return self._error

    def leader_epoch(self):
        return self._leader_epoch

    def latency(self):
        return None

    def set_key(self, key):
        self._key = key

    def set_value(self, value):
        self._value = value

    def set_headers(self, headers):
        self._headers = headers

    def __len__(self):
        v = self.value()
        return 0 if v is None else len(v)

    def __repr__(self):
        return "Message{topic=%s,partition=%s,offset=%s,error=%r}" % (
            self.topic(), self.partition(), self.offset(), self.error())


class ConsumedMessage(Message):
    """A Message over a samsa_message_t that samsa_consumer_poll returned;
    fields are read from it on demand."""

    __slots__ = ("_ptr", "_m", "_set")

    def __init__(self, ptr):
        self._ptr = ptr
        self._m = _from_address(ptr)
        self._set = 0

    def __del__(self, _free=_message_free):
        _free(self._ptr)

    def topic(self):
        if self._set & 1:
            return self._topic
        t = self._m.topic
        return None if t is None else t.decode()

    def partition(self):
        return self._m.partition

    def offset(self):
        return self._m.offset

    def key(self):
        if self._set & 2:
            return self._key
        m = self._m
        k = m.key
        return k[:m.key_len] if k else None

    def value(self):
        if self._set & 4:
            return self._value
        m = self._m
        v = m.value
        return v[:m.value_len] if v else None

    def __len__(self):
        if self._set & 4:
            return 0 if self._value is None else len(self._value)
        return self._m.value_len

    def headers(self):
        if self._set & 8:
            return self._headers
        m = self._m
        return _headers(m.headers, m.header_count)

    def timestamp(self):
        m = self._m
        if m.timestamp_ms < 0:
            return (0, -1)
        return (m.timestamp_type + 1, m.timestamp_ms)

    def error(self):
        m = self._m
        if not m.err:
            return None
        return KafkaError(m.err, m.errstr.decode("utf-8", "replace") or None)

    def leader_epoch(self):
        e = self._m.leader_epoch
        return None if e < 0 else e

    def set_key(self, key):
        self._key = key
        self._set |= 2

    def set_value(self, value):
        self._value = value
        self._set |= 4

    def set_headers(self, headers):
        self._headers = headers
        self._set |= 8


def report_message(r):
    """A Message copied from a samsa_delivery_report_t (a DeliveryReport)."""
    key = r.key[:r.key_len] if r.key else None
    value = r.value[:r.value_len] if r.value else None
    ts = (1, r.timestamp_ms) if r.timestamp_ms >= 0 else (0, -1)
    err = None
    if r.err:
        err = KafkaError(r.err, r.errstr.decode("utf-8", "replace") or None)
    return Message(r.topic.decode(), r.partition, r.offset, key, value, None, ts, err)
