"""broker: Broker, a Kafka-compatible broker embedded in this process
(libsamsa's samsa_broker_t), serving on its own thread.

    with samsa.Broker() as broker:
        p = samsa.Producer({"bootstrap.servers": broker.bootstrap_servers})

Without log.dirs the broker keeps its data in a temporary directory that
close() removes; without listeners it listens on 127.0.0.1 on a free port.
"""
import shutil
import tempfile

from . import _lib as L
from ._common import conf_value
from .error import KafkaError, KafkaException


class Broker(object):
    """Broker(conf=None): conf holds broker properties as Kafka names them
    (log.dirs, listeners, num.partitions, auto.create.topics.enable ...).
    The broker is serving when the constructor returns; close() (or leaving
    the with block) stops it and frees it."""

    def __init__(self, conf=None, **kwargs):
        conf = dict(conf or {}, **kwargs)
        self._h = None
        self._tmpdir = None
        if "log.dirs" not in conf and "log.dir" not in conf:
            self._tmpdir = tempfile.mkdtemp(prefix="samsa-broker-")
            conf["log.dirs"] = self._tmpdir
        conf.setdefault("listeners", "PLAINTEXT://127.0.0.1:0")
        c = L.samsa_conf_new()
        if not c:
            self._cleanup()
            raise MemoryError()
        err = L.errbuf()
        try:
            for k, v in conf.items():
                e = L.samsa_conf_set(c, k.encode(), conf_value(k, v).encode(), err, len(err))
                if e:
                    raise KafkaException(KafkaError(e, err.value.decode("utf-8", "replace")))
            h = L.samsa_broker_new(c, err, len(err))
            if not h:
                raise KafkaException(KafkaError(KafkaError._INVALID_CONFIG,
                                                err.value.decode("utf-8", "replace")))
        except BaseException:
            L.samsa_conf_free(c)
            self._cleanup()
            raise
        self._h = h
        e = L.samsa_broker_start(h)
        if e:
            self.close()
            raise KafkaException(KafkaError(e, "cannot start the broker"))
        self.bootstrap_servers = L.samsa_broker_bootstrap(h).decode()
        self.listener = L.samsa_broker_listener(h).decode()
        self.cluster_id = L.samsa_broker_cluster_id(h).decode()

    def _cleanup(self):
        if self._tmpdir is not None:
            shutil.rmtree(self._tmpdir, ignore_errors=True)
            self._tmpdir = None

    def close(self):
        """Stops serving, flushes and closes the partitions and frees the
        broker (and removes its temporary directory). Idempotent."""
        h = self._h
        if h is not None:
            self._h = None
            L.samsa_broker_stop(h)
            L.samsa_broker_free(h)
        self._cleanup()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        if getattr(self, "_h", None) is not None or getattr(self, "_tmpdir", None):
            self.close()

    def __repr__(self):
        return "Broker(%s)" % (self.bootstrap_servers if self._h else "closed")
