"""producer: Producer, confluent-kafka-python's producer over libsamsa's
samsa_producer_t.

produce() queues a message and returns at once; libsamsa's I/O thread
batches and sends it. Delivery callbacks (the conf's on_delivery, or the
one given to produce) run on the thread that calls poll() or flush(); an
exception raised by one is kept and raised again by that poll() or flush()
once the reports ready have been served.

The per-message path is kept short: the arguments are packed with
struct into a bytes object laid out as samsa_produce_args_t, and
samsa_producer_produce is called with its address holding the GIL (it
never blocks under queue.full.behavior=error, the default), so no ctypes
object is made per message. With
queue.full.behavior=block, produce releases the GIL while it waits,
through samsa_producer_send. While no delivery callback is wanted (none in
the conf, none given to produce yet) the C producer is made without one,
so delivery reports cost no call into Python; the first produce() given
on_delivery flushes what was queued before and switches to a producer with
reports. poll() serves reports already waiting without releasing the GIL,
and waits releasing it only when there were none.

Buffering: unless linger.ms is 0 or queue.full.behavior is block, a
message without headers, callback or timestamp whose value is bytes or str
and key bytes, str or None (to a topic produced to before) is kept in a
Python list, and the list goes to C in one samsa_producer_produce_batch
call when it holds _BATCH_MESSAGES messages or _BATCH_BYTES bytes, before
any message that is not buffered (so order is kept), by flush(), len(),
close() and poll() with a timeout other than 0, and at most linger.ms after
its first message, by a daemon thread (one per producer, started with the
first buffered message, stopped by close(); it holds the Producer by a
weak reference). A message is only buffered when it will fit in the C
queue: the room left there (samsa_producer_room: queue.buffering.max.messages
and buffer.memory) is read when a buffer starts, and the buffer takes no
more than that room allows, so produce() raises BufferError for exactly the
messages the queue could not take, as if each went to C at once.

The buffer is a series of generations (_Gen): a generation is started,
under _blk, by a message that finds none (the room is read then), and
takes further messages without a lock: produce() takes a slot from the
generation's iterator of slots (next() is atomic under the GIL) and appends
to its list. Ending a generation (under _blk) takes the slots left, waits
for threads that took one to append, and hands the list to C.
"""
import array
import ctypes
import itertools
import platform
import struct
import threading
import time
import weakref

from . import _lib as L
from ._common import CallbackErrors, Handle, MetadataMixin, new_handle, ms as _ms, split_conf
from .error import KafkaError, KafkaException
from .message import Message, report_message

# samsa_produce_args_t: topic, partition, key, key_len, value, value_len,
# headers, header_count, timestamp_ms, flags, msg_opaque (x86-64 and the
# other LP64 ABIs lay it out this way; checked against ctypes below).
_ARGS = struct.Struct("@PixxxxPNPNPNqixxxxP")
_pack = _ARGS.pack


# Only to check _ARGS's layout against what ctypes computes.
class _ProduceArgs(ctypes.Structure):
    _fields_ = [("topic", ctypes.c_void_p), ("partition", ctypes.c_int32),
                ("key", ctypes.c_void_p), ("key_len", ctypes.c_size_t),
                ("value", ctypes.c_void_p), ("value_len", ctypes.c_size_t),
                ("headers", ctypes.c_void_p), ("header_count", ctypes.c_size_t),
                ("timestamp_ms", ctypes.c_int64), ("flags", ctypes.c_int),
                ("msg_opaque", ctypes.c_void_p)]


# The address of a bytes object's data is its id() plus a fixed offset in
# CPython; elsewhere addresses are taken with ctypes.
_BYTES_DATA = None
if platform.python_implementation() == "CPython" and ctypes.sizeof(_ProduceArgs) == _ARGS.size:
    _probe = b"samsa-probe"
    if ctypes.string_at(id(_probe) + bytes.__basicsize__ - 1, len(_probe)) == _probe:
        _BYTES_DATA = bytes.__basicsize__ - 1

_OPAQUE_OFFSET = L.DeliveryReport.msg_opaque.offset
_c_void_p_at = ctypes.c_void_p.from_address
_report_at = L.DeliveryReport.from_address
# Without argtypes: the handle goes as a c_void_p and the packed args as
# bytes (a pointer to their data), which ctypes passes with no conversion.
_produce_fast = ctypes.PyDLL(L.library_path).samsa_producer_produce
_produce_fast.restype = ctypes.c_int
_produce_fast.argtypes = None
_send = L.samsa_producer_send
_send_locked = ctypes.PyDLL(L.library_path).samsa_producer_send
_send_locked.restype = _send.restype
_send_locked.argtypes = _send.argtypes
_poll_now = ctypes.PyDLL(L.library_path).samsa_producer_poll
_poll_now.restype = ctypes.c_int
_poll_now.argtypes = [ctypes.c_void_p, ctypes.c_int]
_QUEUE_FULL = KafkaError._QUEUE_FULL
# Properties whose default is confluent-kafka's (librdkafka's) rather than
# libsamsa's (Java's): batches of up to 1 MB, not 16 KiB, so that a
# program written for confluent-kafka batches as it did there.
_CONFLUENT_DEFAULTS = {"batch.size": "1000000"}
_produce_batch = L.samsa_producer_produce_batch
_room = L.samsa_producer_room
# A generation of the buffer holds this many messages at most, and about
# this many bytes of values and keys (joining more costs much more per
# byte, the allocation leaving the heap's fast paths); larger messages are
# not buffered.
_BATCH_MESSAGES = 1000
_BATCH_BYTES = 60 * 1024
# Room kept in max.request.size for a record's framing: a message is only
# buffered when its key and value are this much below it.
_REQUEST_MARGIN = 1024


def _as_bytes(v, what):
    if isinstance(v, str):
        return v.encode()
    if isinstance(v, (bytes, bytearray, memoryview)):
        return bytes(v)
    raise TypeError("%s must be bytes or str" % what)


def _header_list(headers):
    if isinstance(headers, dict):
        headers = list(headers.items())
    out = []
    for item in headers:
        if not isinstance(item, tuple) or len(item) != 2:
            raise TypeError("headers must be a dict or a list of (str, bytes) tuples")
        name, value = item
        if value is not None and not isinstance(value, bytes):
            value = _as_bytes(value, "header value")
        out.append((name.encode() if isinstance(name, str) else bytes(name), value))
    return out


class Producer(MetadataMixin, Handle):
    """Producer(conf): conf holds Kafka/librdkafka property names
    (bootstrap.servers, acks, linger.ms, compression.type ...) and
    optionally on_delivery, a callable(err, msg) called for every message's
    outcome."""

    _free = staticmethod(L.samsa_producer_free)

    def __init__(self, conf=None, **kwargs):
        conf = dict(conf or {}, **kwargs)
        plain, py = split_conf(conf, ("on_delivery", "delivery.report.callback"))
        for k, v in _CONFLUENT_DEFAULTS.items():
            plain.setdefault(k, v)
        self._default_cb = py.get("on_delivery") or py.get("delivery.report.callback")
        self._conf = plain
        self._errors = CallbackErrors()
        self._callbacks = {}
        self._ids = itertools.count(1)
        self._topics = {}
        self._topic_addrs = {}
        self._fast = _BYTES_DATA is not None and \
            str(plain.get("queue.full.behavior", "error")) != "block"
        self._c_cb = L.DeliveryReportFn(self._on_report)
        # The switch to a producer with reports (see _enable_reports).
        self._switch = threading.Condition(threading.Lock())
        self._closed = False
        self._retired = []
        self._in_callback = False
        self._open(self._default_cb is not None)
        self._init_buffer(plain)

    def _open(self, reports):
        """Makes the C producer; with reports false it has no delivery
        report callback, which spares a call into Python per message while
        no message asks for a report."""
        cbs = L.ProducerCallbacks(self._c_cb if reports else L.DeliveryReportFn(), None, None)
        self._h = new_handle(L.samsa_producer_new_kv, self._conf, ctypes.byref(cbs))
        self._set_hp()
        self._reports = reports

    def _init_buffer(self, plain):
        """The buffer: a generation (_Gen) takes messages while it has
        slots; _b holds what produce() checks without a lock (_NO_GEN
        while there is no generation); _g the generation itself. Starting
        and ending generations, pushing and the slow path run under
        _blk."""
        linger = plain.get("linger.ms", plain.get("queue.buffering.max.ms", 5))
        try:
            linger_ms = float(linger)
        except (TypeError, ValueError):
            linger_ms = 0
        self._buffering = linger_ms > 0 and \
            str(plain.get("queue.full.behavior", "error")) != "block"
        self._linger_s = linger_ms / 1000.0
        self._blk = threading.Lock()
        self._ok_topics = {}
        self._b = _NO_GEN
        self._g = None
        self._c_room = L.ProducerRoom()
        self._failed = []
        self._wake = self._stop = self._thread = None

    def _buffer(self, topic, value, key, partition):
        """Buffers a message when it may be (see the module's comment):
        starts a generation with it, after pushing the one before. False
        when it must be produced unbuffered; BufferError when the C queue
        has no room for it. Holds _blk."""
        self._end_gen()
        t = self._ok_topics.get(topic)
        if t is None or not self._buffering or partition.__class__ is not int or partition < -1:
            return False
        if value.__class__ is not bytes:
            if not isinstance(value, (str, bytearray, memoryview)):
                return False
            value = _as_bytes(value, "value")
        if key is not None and key.__class__ is not bytes:
            if not isinstance(key, (str, bytearray, memoryview)):
                return False
            key = _as_bytes(key, "key")
        r = self._c_room
        err = _room(self._current(), t, ctypes.byref(r))
        if err:
            raise KafkaException(KafkaError(err))
        size = len(value) + (0 if key is None else len(key))
        if size + _REQUEST_MARGIN > r.max_request_bytes or size > _BATCH_BYTES:
            return False
        cost = size + r.message_overhead_bytes
        if not r.messages or cost > r.bytes:
            raise BufferError("Local: Queue full")
        # What each further message may take: values (and keys) up to
        # hmax bytes, together well below max.request.size, the room
        # counted for as many as that allows.
        mixed = key is not None or partition != -1
        limit = r.max_request_bytes - _REQUEST_MARGIN
        hmax = min(max(2 * len(value), 256), limit // 2 if mixed else limit)
        most = (2 * hmax if mixed else hmax) + r.message_overhead_bytes
        slots = min(r.messages - 1, (r.bytes - cost) // most, _BATCH_MESSAGES - 1,
                    _BATCH_BYTES // (size + 16))
        g = _Gen(topic, t, partition, slots, mixed)
        g.vals.append((partition, key, value) if mixed else value)
        self._g = g
        self._b = (topic, _MIXED if mixed else partition, g.slots, g.vals, hmax)
        self._wake_linger()
        return True

    def _end_gen(self):
        """Ends the generation: no further message joins it, and what it
        took goes to C (see _push). Holds _blk."""
        g = self._g
        if g is None:
            return
        self._g = None
        self._b = _NO_GEN
        taken = 1 + g.size - len(list(g.slots))  # the first came without a slot
        vals = g.vals
        if len(vals) < taken:
            # A thread took a slot and is about to append; wait for it
            # (bounded: an exception may have stopped it between the two).
            deadline = time.monotonic() + 1.0
            while len(vals) < taken and time.monotonic() < deadline:
                time.sleep(0)
        self._push(g)

    def _push(self, g):
        """Hands g's messages to C in one call. Should C refuse some (memory
        ran out, closed) they are failed: reported as such to the default
        on_delivery, and the error raised (BufferError for a full queue,
        else KafkaException). Holds _blk."""
        vals = g.vals
        n = len(vals)
        if not n:
            return
        b = L.ProduceBatch()
        b.topic = g.t
        b.count = n
        keep = []
        if g.mixed:
            parts = array.array("i", [m[0] for m in vals]).tobytes()
            keys = [m[1] for m in vals]
            klens = array.array("i", [-1 if k is None else len(k) for k in keys]).tobytes()
            b.keys = kdata = b"".join([k for k in keys if k is not None])
            b.key_lens = klens
            b.partitions = parts
            values = [m[2] for m in vals]
            keep = [parts, klens, kdata]
        else:
            b.partition = g.partition
            values = vals
        b.values = data = b"".join(values)
        lens = struct.pack("%di" % n, *map(len, values))
        b.value_lens = lens
        err = ctypes.c_int(0)
        h = self._current()
        done = _produce_batch(h, ctypes.byref(b), ctypes.byref(err))
        self._queued(h)
        del data, lens, keep
        if done == n:
            return
        self._fail(g, done, err.value)

    def _fail(self, g, done, err):
        """After C refused g's messages from done on: each gets a failed
        report for the default on_delivery (served by the next poll() or
        flush(), as they were accepted), then the error is raised
        (BufferError for a full queue, else KafkaException)."""
        if self._default_cb is not None:
            for m in g.vals[done:]:
                part, key, value = m if g.mixed else (g.partition, None, m)
                self._failed.append(Message(g.topic, part, -1, key, value, None, (0, -1),
                                            KafkaError(err)))
        if err == _QUEUE_FULL:
            raise BufferError("Local: Queue full")
        raise KafkaException(KafkaError(err))

    def _serve_failed(self):
        """Serves the failed reports _fail kept; returns how many."""
        n = 0
        cb = self._default_cb
        while self._failed:
            msg = self._failed.pop(0)
            n += 1
            try:
                cb(msg.error(), msg)
            except BaseException as e:
                self._errors.store(e)
        return n

    def _push_now(self):
        """Ends the generation, if any, taking _blk. Messages C refused
        there are reported failed (see _fail), not raised."""
        if self._g is not None:
            with self._blk:
                try:
                    self._end_gen()
                except (BufferError, KafkaException):
                    pass

    def _wake_linger(self):
        """Wakes the thread that pushes the buffer after linger.ms
        (starting it on first use)."""
        if self._thread is None:
            self._wake = threading.Event()
            self._stop = threading.Event()
            self._thread = threading.Thread(
                target=_linger, args=(weakref.ref(self), self._wake, self._stop, self._linger_s),
                name="samsa-producer-linger", daemon=True)
            self._thread.start()
        self._wake.set()

    def _stop_linger(self):
        th = self._thread
        if th is not None:
            self._thread = None
            self._stop.set()
            self._wake.set()
            if th is not threading.current_thread():
                th.join()

    def _set_hp(self):
        """_hp: _h as a c_void_p (None while _h is None), which the
        produce fast path passes without argument conversion."""
        self._hp = None if self._h is None else ctypes.c_void_p(self._h)

    def _enable_reports(self):
        """The first message with its own on_delivery on a producer made
        without reports: a producer with reports takes over once every
        message produced so far is written, so that order is kept.

        Meanwhile _h is None, and other threads wait in _current() (a
        produce that finds the NULL handle is refused and retries through
        _produce). A thread that took the old handle before and queued on
        it after the flush sees that _h changed and flushes the old handle
        itself (_queued). Old handles stay open until the Producer is
        closed, so no call ever meets a closed one."""
        with self._switch:
            if self._reports or self._h is None:
                return
            old = self._h
            self._h = None
            self._set_hp()
            try:
                new = new_handle(L.samsa_producer_new_kv, self._conf,
                                 ctypes.byref(L.ProducerCallbacks(self._c_cb, None, None)))
                L.samsa_producer_flush(old, -1)
                self._retired.append(old)
            except BaseException:
                self._h = old
                self._set_hp()
                raise
            finally:
                self._switch.notify_all()
            self._h = new
            self._set_hp()
            self._reports = True

    def _current(self):
        """The handle; waits while a switch is under way. RuntimeError once
        closed."""
        h = self._h
        if h is None:
            with self._switch:
                while self._h is None and not self._closed:
                    self._switch.wait()
            h = self._handle()
        return h

    def _queued(self, h):
        """After a message was queued on h: when h was retired meanwhile,
        waits until it is written, as the switch did for the others."""
        if h is not self._h:
            L.samsa_producer_flush(h, -1)

    def _on_report(self, _p, report, _opaque):
        # Runs inside samsa_producer_poll/flush/close on the calling thread.
        try:
            mid = _c_void_p_at(report + _OPAQUE_OFFSET).value
            if mid:
                cb = self._callbacks.pop(mid)
            else:
                cb = self._default_cb
                if cb is None:
                    return
            r = _report_at(report)
            msg = report_message(r)
            self._in_callback = True
            try:
                cb(msg.error(), msg)
            finally:
                self._in_callback = False
        except BaseException as e:
            self._errors.store(e)

    def _not_in_callback(self, what):
        if self._in_callback:
            raise RuntimeError("%s must not be called from a delivery callback" % what)

    def _topic(self, topic):
        t = self._topics.get(topic)
        if t is None:
            if not isinstance(topic, str):
                raise TypeError("topic must be str")
            t = topic.encode()
            self._topics[topic] = t
            if _BYTES_DATA is not None:
                self._topic_addrs[topic] = id(t) + _BYTES_DATA
        return t

    def produce(self, topic, value=None, key=None, partition=-1, on_delivery=None,
                timestamp=0, headers=None, callback=None):
        """Queues one message. Raises BufferError when the queue is full
        (serve reports with poll() and try again), KafkaException for other
        refusals. value and key are bytes, str (UTF-8) or None."""
        # The common case first, in as few steps as possible: no headers,
        # callback or timestamp; buffered (see the module's comment), or
        # else, with bytes value and no key to a topic seen before, the
        # args packed into a new bytes object (nothing shared between
        # threads) which C reads during the call. While a switch is under
        # way _hp is None: C refuses the NULL handle and the slow path
        # waits.
        bt, bp, slots, vals, hmax = self._b
        if topic == bt and key is None and partition == bp and value.__class__ is bytes and \
                on_delivery is None and callback is None and headers is None and timestamp == 0 and \
                len(value) <= hmax and next(slots, None) is not None:
            vals.append(value)
            return
        if bp is _MIXED and topic == bt and value.__class__ is bytes and len(value) <= hmax and \
                (key is None or key.__class__ is bytes and len(key) <= hmax) and \
                partition.__class__ is int and partition >= -1 and on_delivery is None and \
                callback is None and not headers and not timestamp and \
                next(slots, None) is not None:
            # A generation of (partition, key, value).
            vals.append((partition, key, value))
            return
        if on_delivery is None and callback is None and not headers and not timestamp:
            if self._buffering:
                with self._blk:
                    if self._buffer(topic, value, key, partition):
                        return
            elif key is None and value.__class__ is bytes and self._fast:
                taddr = self._topic_addrs.get(topic)
                if taddr is not None:
                    a = _pack(taddr, partition, 0, 0, id(value) + _BYTES_DATA, len(value), 0, 0,
                              timestamp, 0, 0)
                    hp = self._hp
                    if not _produce_fast(hp, a):
                        if hp is not self._hp:
                            self._queued(hp.value)
                        return
                    # Refused: the slow path tells why (or, during a switch
                    # to a producer with reports, waits for it and queues
                    # there).
        self._produce(topic, value, key, partition, on_delivery or callback, timestamp, headers)

    def _produce(self, topic, value, key, partition, cb, timestamp, headers):
        if not self._buffering:
            return self._produce_now(topic, value, key, partition, cb, timestamp, headers)
        # After the buffered messages, and under _blk so that the room
        # counted for the next buffer is exact.
        with self._blk:
            self._end_gen()
            self._produce_now(topic, value, key, partition, cb, timestamp, headers)

    def _produce_now(self, topic, value, key, partition, cb, timestamp, headers):
        t = self._topics.get(topic)
        if t is None:
            t = self._topic(topic)
        if value is not None and value.__class__ is not bytes:
            value = _as_bytes(value, "value")
        if key is not None and key.__class__ is not bytes:
            key = _as_bytes(key, "key")
        if cb is not None and not self._reports:
            self._enable_reports()
        mid = 0
        if cb is not None:
            mid = next(self._ids)
            self._callbacks[mid] = cb
        h = self._current()
        try:
            err = self._send(_send_locked if self._fast else _send, h, t, value, key, partition,
                             mid, timestamp, headers)
        except BaseException:
            self._callbacks.pop(mid, None)
            raise
        if not err:
            self._queued(h)
            self._ok_topics[topic] = t
            return
        if mid:
            del self._callbacks[mid]
        if err == _QUEUE_FULL:
            raise BufferError("Local: Queue full")
        raise KafkaException(KafkaError(err))

    @staticmethod
    def _send(fn, h, t, value, key, partition, mid, timestamp, headers):
        hdr_arr = None
        n = 0
        keep = None
        if headers:
            keep = _header_list(headers)
            n = len(keep)
            hdr_arr = (L.Header * n)()
            for i, (name, v) in enumerate(keep):
                hdr_arr[i].name = name
                if v is not None:
                    hdr_arr[i].value = ctypes.cast(v, L.POINTER_CHAR)
                hdr_arr[i].value_len = 0 if v is None else len(v)
        return fn(h, t, partition, key, 0 if key is None else len(key), value,
                  0 if value is None else len(value), hdr_arr, n, timestamp, 0, mid or None)

    def poll(self, timeout=None):
        """Serves delivery reports, waiting up to timeout seconds (None or
        -1: forever) for the first; returns how many were served."""
        self._not_in_callback("poll")
        if timeout != 0:
            # Whoever waits for reports wants the buffer sent now; poll(0)
            # after every produce() leaves it to fill (its messages can
            # have no report yet, and go within linger.ms anyway).
            self._push_now()
        h = self._current()
        n = self._serve_failed() if self._failed else 0
        n += _poll_now(h, 0)
        if not n and timeout != 0:
            n = L.samsa_producer_poll(h, _ms(timeout))
        self._errors.reraise()
        return n

    def flush(self, timeout=None):
        """Sends everything queued and serves reports until none is
        outstanding or timeout seconds pass; returns the number of messages
        still outstanding (0 when all were reported)."""
        self._not_in_callback("flush")
        # Delivery callbacks may produce meanwhile: what they buffered is
        # pushed and flushed in turn.
        deadline = None if timeout is None or timeout < 0 else time.monotonic() + timeout
        while True:
            self._push_now()
            h = self._current()
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            L.samsa_producer_flush(h, _ms(left))
            self._serve_failed()
            if self._g is None or (deadline is not None and time.monotonic() >= deadline):
                break
        self._errors.reraise()
        return len(self)

    def __len__(self):
        """Messages produced and not yet reported, buffered ones included."""
        self._push_now()
        h = self._h
        return 0 if h is None else L.samsa_producer_outstanding(h)

    def __bool__(self):
        return True

    def close(self, timeout=None):
        """Flushes for up to timeout seconds, fails what is left
        (_DESTROYED reports) and frees the producer. Further calls raise
        RuntimeError. Returns True when everything was delivered in time.
        No other call may run on the producer meanwhile."""
        self._not_in_callback("close")
        if self._buffering:
            with self._blk:
                self._buffering = False
                try:
                    if self._h is not None:
                        self._end_gen()
                except (BufferError, KafkaException):
                    pass
        self._stop_linger()
        with self._switch:
            h = self._h
            self._h = None
            self._set_hp()
            self._closed = True
            self._switch.notify_all()
        if h is None:
            return True
        err = L.samsa_producer_close(h, _ms(timeout))
        L.samsa_producer_free(h)
        self._free_retired()
        self._close_admin()
        if self._failed:
            self._serve_failed()
        self._errors.reraise()
        return err == 0

    def _free_retired(self):
        retired, self._retired = self._retired, []
        for h in retired:
            L.samsa_producer_free(h)  # closes it first

    def __del__(self):
        if getattr(self, "_stop", None) is not None:
            self._stop.set()
            self._wake.set()
        if getattr(self, "_retired", None):
            self._free_retired()
        Handle.__del__(self)


class _Gen(object):
    """One generation of the buffer: messages to one topic (t encoded), to
    partition (unless mixed: then vals holds (partition, key, value)
    tuples, else values). slots is an iterator of size items: taking one
    (next(), atomic under the GIL) entitles a thread to append one
    message to vals."""

    __slots__ = ("topic", "t", "partition", "size", "slots", "vals", "mixed")

    def __init__(self, topic, t, partition, size, mixed):
        self.topic = topic
        self.t = t
        self.partition = partition
        self.size = max(size, 0)
        self.slots = iter(range(self.size))
        self.vals = []
        self.mixed = mixed


# The partition of a generation of (partition, key, value) in _b: equal to
# no partition produce() is given.
_MIXED = object()

# produce()'s view of no generation: matches no topic.
_NO_GEN = (None, None, iter(()), None, 0)


def _linger(ref, wake, stop, linger_s):
    """The linger thread of a Producer (ref, a weak reference, so that the
    thread does not keep it alive): once woken by a buffer starting, waits
    linger_s seconds and pushes what is buffered. An error is kept to be
    raised by the producer's next poll() or flush(). Ends when stop is set
    or the producer is gone."""
    while True:
        wake.wait()
        wake.clear()
        if stop.wait(linger_s):
            return
        p = ref()
        if p is None:
            return
        p._push_now()
        p = None
