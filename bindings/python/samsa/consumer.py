"""consumer: Consumer, confluent-kafka-python's consumer over libsamsa's
samsa_consumer_t.

libsamsa's I/O thread keeps the group membership and prefetches; poll()
hands out one message at a time. Rebalance (on_assign, on_revoke) and
commit (on_commit) callbacks run inside poll() on the polling thread; an
exception raised by one is raised again by that poll() (a message it
fetched is kept for the next poll).

poll() first asks for a prefetched message without waiting while holding
the GIL (no thread switch), and only when there is none waits releasing
it. The Message it returns reads its fields from the C message on demand.
"""
import ctypes
import time

from . import _lib as L
from ._common import (OFFSET_INVALID, CallbackErrors, Handle, MetadataMixin, TopicPartition,
                      ms as _ms, new_handle, offset_to_c, partitions_from_c, partitions_to_c,
                      split_conf)
from .error import KafkaError, KafkaException
from .message import ConsumedMessage

_pydll = ctypes.PyDLL(L.library_path)
_poll_now = _pydll.samsa_consumer_poll
_poll_now.restype = ctypes.c_void_p
_poll_now.argtypes = [ctypes.c_void_p, ctypes.c_int]
_poll_wait = L.samsa_consumer_poll


def _check(err, what):
    if err:
        raise KafkaException(KafkaError(err, "%s: %s" % (what, L.samsa_err_str(err).decode())))


class Consumer(MetadataMixin, Handle):
    """Consumer(conf): conf holds Kafka/librdkafka property names
    (bootstrap.servers, group.id, auto.offset.reset, enable.auto.commit,
    partition.assignment.strategy ...) and optionally on_commit, a
    callable(err, partitions) told each commit's outcome."""

    _free = staticmethod(L.samsa_consumer_free)

    def __init__(self, conf=None, **kwargs):
        conf = dict(conf or {}, **kwargs)
        plain, py = split_conf(conf, ("on_commit",))
        self._conf = plain
        self._on_commit = py.get("on_commit")
        self._on_assign = self._on_revoke = None
        self._errors = CallbackErrors()
        self._held = None
        self._in_rebalance = False
        self._sync_commit = None
        self._c_rebalance = L.RebalanceFn(self._rebalance)
        self._c_commit = L.CommitFn(self._commit)
        cbs = L.ConsumerCallbacks(self._c_rebalance, self._c_commit, None)
        self._h = new_handle(L.samsa_consumer_new_kv, plain, ctypes.byref(cbs))


    # Callbacks from C, on the thread inside samsa_consumer_poll/commit.
    def _rebalance(self, _c, assigned, plist, _opaque):
        try:
            cb = self._on_assign if assigned else self._on_revoke
            if cb is None:
                return
            parts = partitions_from_c(plist.contents)
            self._in_rebalance = True
            try:
                cb(self, parts)
            finally:
                self._in_rebalance = False
        except BaseException as e:
            self._errors.store(e)

    def _commit(self, _c, err, plist, _opaque):
        try:
            parts = partitions_from_c(plist.contents) if plist else []
            if self._sync_commit is not None:
                self._sync_commit.append((err, parts))
            if self._on_commit is not None:
                self._on_commit(KafkaError(err) if err else None, parts)
        except BaseException as e:
            self._errors.store(e)

    def subscribe(self, topics, on_assign=None, on_revoke=None, on_lost=None):
        """Joins the group (group.id) consuming topics (names; "^regex"
        patterns). on_assign(consumer, partitions) and
        on_revoke(consumer, partitions) are told of rebalances; on_lost is
        accepted for compatibility and called as on_revoke is not (samsa
        reports lost partitions as revoked)."""
        h = self._handle()
        if isinstance(topics, str) or not topics:
            raise TypeError("expected a non-empty list of topic names")
        for cb in (on_assign, on_revoke, on_lost):
            if cb is not None and not callable(cb):
                raise TypeError("rebalance callbacks must be callable")
        self._on_assign = on_assign
        self._on_revoke = on_revoke
        arr = L.cstrings(list(topics))
        _check(L.samsa_consumer_subscribe(h, arr, len(topics)), "subscribe")

    def unsubscribe(self):
        _check(L.samsa_consumer_unsubscribe(self._handle()), "unsubscribe")

    def assign(self, partitions):
        """Consumes exactly these TopicPartitions (offset: a position,
        OFFSET_BEGINNING, OFFSET_END, or OFFSET_INVALID/OFFSET_STORED for
        the committed offset). Inside on_assign it only positions the
        partitions given with an offset (the group already assigned them)."""
        h = self._handle()
        if self._in_rebalance:
            for tp in partitions:
                if tp.offset >= 0 or tp.offset in (-1, -2):
                    self.seek(tp)
            return
        lst, keep = partitions_to_c(partitions)
        _check(L.samsa_consumer_assign(h, ctypes.byref(lst)), "assign")

    incremental_assign = assign

    def unassign(self):
        """Stops consuming every partition (a no-op inside on_revoke, where
        the group takes them away itself)."""
        h = self._handle()
        if self._in_rebalance:
            return
        _check(L.samsa_consumer_assign(h, None), "unassign")

    def incremental_unassign(self, partitions):
        if self._in_rebalance:
            return
        keep = set((tp.topic, tp.partition) for tp in partitions)
        rest = [tp for tp in self.assignment() if (tp.topic, tp.partition) not in keep]
        for tp in rest:
            tp.offset = tp.offset if tp.offset >= 0 else OFFSET_INVALID
        self.assign(rest)

    def assignment(self):
        """The TopicPartitions assigned now (offsets are the positions)."""
        h = self._handle()
        lst = L.PartitionList()
        _check(L.samsa_consumer_assignment(h, ctypes.byref(lst)), "assignment")
        try:
            return partitions_from_c(lst)
        finally:
            L.samsa_partition_list_free(ctypes.byref(lst))

    def poll(self, timeout=None):
        """The next message (check its error()), or None when none came
        within timeout seconds (None or -1: wait forever)."""
        h = self._h
        if h is None or self._in_rebalance:
            self._handle()
            raise RuntimeError("poll must not be called from a rebalance callback")
        held = self._held
        if held is not None:
            self._held = None
            return held
        p = _poll_now(h, 0)
        if not p and timeout != 0:
            p = _poll_wait(h, _ms(timeout))
        if self._errors.exc is not None:
            if p:
                self._held = ConsumedMessage(p)
            self._errors.reraise()
        return ConsumedMessage(p) if p else None

    def consume(self, num_messages=1, timeout=-1):
        """Up to num_messages messages, waiting up to timeout seconds (-1:
        until num_messages came)."""
        if num_messages < 0 or num_messages > 1000000:
            raise ValueError("num_messages must be between 0 and 1000000")
        if self._in_rebalance:
            raise RuntimeError("consume must not be called from a rebalance callback")
        h = self._handle()
        out = []
        if self._held is not None:
            out.append(self._held)
            self._held = None
        deadline = None if timeout is None or timeout < 0 else time.monotonic() + timeout
        append = out.append
        while len(out) < num_messages:
            p = _poll_now(h, 0)
            if not p:
                if deadline is None:
                    wait = -1
                else:
                    left = deadline - time.monotonic()
                    if left <= 0:
                        break
                    wait = int(left * 1000) or 1
                p = _poll_wait(h, wait)
            if self._errors.exc is not None:
                if p:
                    self._held = ConsumedMessage(p)
                self._errors.reraise()
            if p:
                append(ConsumedMessage(p))
        return out

    def __iter__(self):
        """Yields every message poll() returns (errors included) until the
        consumer is closed."""
        while self._h is not None:
            m = self.poll(1.0)
            if m is not None:
                yield m

    def commit(self, message=None, offsets=None, asynchronous=True):
        """Commits the positions of every assigned partition, or the offset
        after message, or offsets (TopicPartitions). Asynchronous: returns
        None and the outcome goes to on_commit. Synchronous: returns the
        committed TopicPartitions, raising KafkaException on failure."""
        h = self._handle()
        if message is not None and offsets is not None:
            raise ValueError("commit takes message or offsets, not both")
        lst = None
        if message is not None:
            if message.error() is not None:
                raise KafkaException(message.error())
            offsets = [TopicPartition(message.topic(), message.partition(), message.offset() + 1)]
        if offsets is not None:
            lst, keep = partitions_to_c(offsets, convert_offset=False)
        ref = ctypes.byref(lst) if lst is not None else None
        if asynchronous:
            _check(L.samsa_consumer_commit(h, ref, 1), "commit")
            return None
        self._sync_commit = outcomes = []
        try:
            err = L.samsa_consumer_commit(h, ref, 0)
        finally:
            self._sync_commit = None
        self._errors.reraise()
        _check(err, "commit")
        return outcomes[-1][1] if outcomes else list(offsets or [])

    def committed(self, partitions, timeout=None):
        """The group's committed offsets of partitions (OFFSET_INVALID when
        none), as new TopicPartitions."""
        h = self._handle()
        lst, keep = partitions_to_c(partitions)
        _check(L.samsa_consumer_committed(h, ctypes.byref(lst), _ms(timeout)), "committed")
        return partitions_from_c(lst)

    def position(self, partitions):
        """The positions (offset of the next message poll returns;
        OFFSET_INVALID when not known yet) of partitions."""
        h = self._handle()
        lst, keep = partitions_to_c(partitions)
        _check(L.samsa_consumer_position(h, ctypes.byref(lst)), "position")
        return partitions_from_c(lst)

    def seek(self, partition):
        """Moves an assigned partition's position to partition.offset (an
        offset, OFFSET_BEGINNING or OFFSET_END)."""
        h = self._handle()
        tp = partition
        if tp.offset < 0 and tp.offset not in (-1, -2):
            raise KafkaException(KafkaError(KafkaError._INVALID_ARG,
                                            "seek: invalid offset %d" % tp.offset))
        _check(L.samsa_consumer_seek(h, tp.topic.encode(), tp.partition,
                                     offset_to_c(tp.offset)), "seek")

    def get_watermark_offsets(self, partition, timeout=None, cached=False):
        """(low, high): the partition's log start offset and high
        watermark, asked of its leader (cached is accepted and ignored:
        the answer is always fresh)."""
        self._handle()
        (low, _), (high, _) = self._admin_client()._list_offsets(
            [(partition.topic, partition.partition, -2),
             (partition.topic, partition.partition, -1)], timeout)
        return low, high

    def offsets_for_times(self, partitions, timeout=None):
        """For each TopicPartition whose offset holds a timestamp in ms, a
        TopicPartition with the first offset whose message has that
        timestamp or a later one (-1 when there is none)."""
        self._handle()
        found = self._admin_client()._list_offsets(
            [(tp.topic, tp.partition, tp.offset) for tp in partitions], timeout)
        return [TopicPartition(tp.topic, tp.partition, off)
                for tp, (off, _) in zip(partitions, found)]

    def pause(self, partitions):
        h = self._handle()
        lst, keep = partitions_to_c(partitions)
        _check(L.samsa_consumer_pause(h, ctypes.byref(lst)), "pause")

    def resume(self, partitions):
        h = self._handle()
        lst, keep = partitions_to_c(partitions)
        _check(L.samsa_consumer_resume(h, ctypes.byref(lst)), "resume")

    def close(self):
        """Commits (with enable.auto.commit), leaves the group and frees the
        consumer. Idempotent; other calls raise RuntimeError afterwards."""
        if self._in_rebalance:
            raise RuntimeError("close must not be called from a rebalance callback")
        h = self._h
        if h is None:
            return
        self._h = None
        self._held = None
        try:
            err = L.samsa_consumer_close(h)
        finally:
            L.samsa_consumer_free(h)
            self._close_admin()
        self._errors.reraise()
        _check(err, "close")
