"""error: KafkaError and KafkaException, as in confluent-kafka-python.

Codes are libsamsa's (samsa_err_t): 0 is no error, positive values and -1
are Kafka's protocol codes, -100 and below are local errors whose names
start with an underscore (_TIMED_OUT, _PARTITION_EOF ...). Every code is
also a class attribute of KafkaError (KafkaError.UNKNOWN_TOPIC_OR_PARTITION,
KafkaError._TIMED_OUT ...).
"""
from . import _lib as L

# Kafka's retriable protocol errors (Kafka's RetriableException subclasses).
_RETRIABLE = frozenset([
    "CORRUPT_MESSAGE", "UNKNOWN_TOPIC_OR_PARTITION", "LEADER_NOT_AVAILABLE",
    "NOT_LEADER_OR_FOLLOWER", "REQUEST_TIMED_OUT", "NETWORK_EXCEPTION",
    "COORDINATOR_LOAD_IN_PROGRESS", "COORDINATOR_NOT_AVAILABLE", "NOT_COORDINATOR",
    "NOT_ENOUGH_REPLICAS", "NOT_ENOUGH_REPLICAS_AFTER_APPEND", "KAFKA_STORAGE_ERROR",
    "FETCH_SESSION_ID_NOT_FOUND", "INVALID_FETCH_SESSION_EPOCH", "FENCED_LEADER_EPOCH",
    "UNKNOWN_LEADER_EPOCH", "OFFSET_NOT_AVAILABLE", "PREFERRED_LEADER_NOT_AVAILABLE",
    "_TRANSPORT", "_TIMED_OUT", "_QUEUE_FULL",
])


class KafkaError(object):
    """An error code with its message. code() is the number, name() its
    name ("_TIMED_OUT"), str() the message (the library's description of the
    code when none was given)."""

    __slots__ = ("_code", "_reason", "_fatal")

    def __init__(self, error, reason=None, fatal=False):
        self._code = int(error)
        self._reason = reason
        self._fatal = bool(fatal)

    def code(self):
        return self._code

    def name(self):
        return L.samsa_err_name(self._code).decode()

    def str(self):
        if self._reason:
            return self._reason
        return L.samsa_err_str(self._code).decode()

    def fatal(self):
        return self._fatal

    def retriable(self):
        return self.name() in _RETRIABLE

    def txn_requires_abort(self):
        return False

    def __eq__(self, other):
        if isinstance(other, KafkaError):
            return self._code == other._code
        if isinstance(other, int):
            return self._code == other
        return NotImplemented

    def __ne__(self, other):
        r = self.__eq__(other)
        return r if r is NotImplemented else not r

    def __hash__(self):
        return hash(self._code)

    def __bool__(self):
        return self._code != 0

    def __str__(self):
        return self.str()

    def __repr__(self):
        return "KafkaError{code=%s,val=%d,str=\"%s\"}" % (self.name(), self._code, self.str())


def _define_codes():
    for code in range(-130, 200):
        name = L.samsa_err_name(code).decode()
        if name != "UNKNOWN":
            setattr(KafkaError, name, code)


_define_codes()


class KafkaException(Exception):
    """Raised for every failure the library reports; args[0] is the
    KafkaError."""

    def __init__(self, *args, **kwargs):
        if args and isinstance(args[0], KafkaError):
            super().__init__(*args)
        elif args and isinstance(args[0], int):
            super().__init__(KafkaError(args[0], *args[1:2], **kwargs))
        else:
            super().__init__(*args)

    def __str__(self):
        if self.args and isinstance(self.args[0], KafkaError):
            e = self.args[0]
            return "%s: %s" % (e.name(), e.str())
        return super().__str__()


def check(err, reason=None):
    """Raises KafkaException for a non-zero samsa_err_t."""
    if err:
        raise KafkaException(KafkaError(err, reason))


def errstr_of(buf):
    """The text a C call left in an errstr buffer ("" when none)."""
    return buf.value.decode("utf-8", "replace")
