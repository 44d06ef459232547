"""_lib: loads libsamsa with ctypes and declares the C types and functions
the binding calls (a mirror of include/samsa.h, kept to what is used).

The library is looked up in this order: the path in the environment
variable SAMSA_LIBRARY; build/lib/libsamsa.so.0 of the source tree when the
package runs from it (bindings/python/samsa inside a samsa checkout); the
system's libsamsa (ctypes.util.find_library, then 'libsamsa.so.0').

Functions are called through ctypes.CDLL, which releases the GIL for the
length of each call; callbacks that C makes take it back.
"""
import ctypes
import ctypes.util
import os
from ctypes import (CFUNCTYPE, POINTER, Structure, c_char, c_char_p, c_int, c_int16, c_int32,
                    c_int64, c_size_t, c_uint8, c_void_p)

def _candidates():
    env = os.environ.get("SAMSA_LIBRARY")
    if env:
        return [env]
    here = os.path.dirname(os.path.abspath(__file__))
    root = os.path.normpath(os.path.join(here, "..", "..", ".."))
    out = []
    built = os.path.join(root, "build", "lib", "libsamsa.so.0")
    if os.path.isfile(os.path.join(root, "include", "samsa.h")) and os.path.isfile(built):
        out.append(built)
    found = ctypes.util.find_library("samsa")
    if found:
        out.append(found)
    out.append("libsamsa.so.0")
    return out


def _load():
    errors = []
    for path in _candidates():
        try:
            return ctypes.CDLL(path), path
        except OSError as e:
            errors.append("%s: %s" % (path, e))
    raise ImportError("samsa: cannot load libsamsa (set SAMSA_LIBRARY to its path): "
                      + "; ".join(errors))


lib, library_path = _load()


# Payload pointers are POINTER(c_char): slicing one (ptr[:len]) copies the
# bytes several times faster than ctypes.string_at.
POINTER_CHAR = _BYTES = POINTER(c_char)


class Header(Structure):
    _fields_ = [("name", c_char_p), ("value", _BYTES), ("value_len", c_size_t)]


class DeliveryReport(Structure):
    _fields_ = [("topic", c_char_p), ("partition", c_int32), ("offset", c_int64),
                ("timestamp_ms", c_int64), ("err", c_int), ("errstr", c_char_p),
                ("key", _BYTES), ("key_len", c_size_t), ("value", _BYTES),
                ("value_len", c_size_t), ("msg_opaque", c_void_p)]


# Arguments are taken as plain addresses: cheaper than ctypes pointer objects
# on the per-message path.
DeliveryReportFn = CFUNCTYPE(None, c_void_p, c_void_p, c_void_p)
PartitionerFn = CFUNCTYPE(c_int32, c_char_p, c_void_p, c_size_t, c_int32, c_void_p)


class ProducerCallbacks(Structure):
    _fields_ = [("delivery_report", DeliveryReportFn), ("partitioner", c_void_p),
                ("opaque", c_void_p)]


class ProduceBatch(Structure):
    # The arrays are given as bytes (struct- or array-packed int32s).
    _fields_ = [("topic", c_char_p), ("partition", c_int32), ("partitions", c_char_p),
                ("values", c_char_p), ("value_lens", c_char_p), ("keys", c_char_p),
                ("key_lens", c_char_p), ("count", c_size_t), ("timestamp_ms", c_int64)]


class ProducerRoom(Structure):
    _fields_ = [("messages", c_size_t), ("bytes", c_size_t),
                ("message_overhead_bytes", c_size_t), ("max_request_bytes", c_size_t)]


class CTopicPartition(Structure):
    _fields_ = [("topic", c_char_p), ("partition", c_int32), ("offset", c_int64),
                ("err", c_int)]


class PartitionList(Structure):
    _fields_ = [("items", POINTER(CTopicPartition)), ("count", c_size_t)]


class CMessage(Structure):
    _fields_ = [("topic", c_char_p), ("partition", c_int32), ("offset", c_int64),
                ("timestamp_ms", c_int64), ("timestamp_type", c_int), ("key", _BYTES),
                ("key_len", c_size_t), ("value", _BYTES), ("value_len", c_size_t),
                ("headers", POINTER(Header)), ("header_count", c_size_t),
                ("leader_epoch", c_int32), ("err", c_int), ("errstr", c_char_p)]


RebalanceFn = CFUNCTYPE(None, c_void_p, c_int, POINTER(PartitionList), c_void_p)
CommitFn = CFUNCTYPE(None, c_void_p, c_int, POINTER(PartitionList), c_void_p)


class ConsumerCallbacks(Structure):
    _fields_ = [("rebalance", RebalanceFn), ("commit", CommitFn), ("opaque", c_void_p)]


class TopicConfig(Structure):
    _fields_ = [("name", c_char_p), ("value", c_char_p)]


class NewTopicC(Structure):
    _fields_ = [("name", c_char_p), ("partitions", c_int32), ("replication_factor", c_int16),
                ("configs", POINTER(TopicConfig)), ("config_count", c_size_t)]


class TopicResult(Structure):
    _fields_ = [("topic", c_char_p), ("err", c_int), ("errstr", c_char_p)]


class NewPartitionsC(Structure):
    _fields_ = [("topic", c_char_p), ("total_count", c_int32)]


class BrokerInfo(Structure):
    _fields_ = [("node_id", c_int32), ("host", c_char_p), ("port", c_int), ("rack", c_char_p)]


class PartitionInfo(Structure):
    _fields_ = [("partition", c_int32), ("err", c_int), ("leader", c_int32),
                ("leader_epoch", c_int32), ("replicas", POINTER(c_int32)),
                ("replica_count", c_size_t), ("isr", POINTER(c_int32)), ("isr_count", c_size_t),
                ("offline_replicas", POINTER(c_int32)), ("offline_replica_count", c_size_t)]


class TopicInfo(Structure):
    _fields_ = [("name", c_char_p), ("topic_id", c_uint8 * 16), ("internal", c_int),
                ("err", c_int), ("errstr", c_char_p), ("partitions", POINTER(PartitionInfo)),
                ("partition_count", c_size_t)]


class ClusterInfo(Structure):
    _fields_ = [("cluster_id", c_char_p), ("controller_id", c_int32),
                ("brokers", POINTER(BrokerInfo)), ("broker_count", c_size_t),
                ("topics", POINTER(TopicInfo)), ("topic_count", c_size_t)]


class PartitionOffset(Structure):
    _fields_ = [("topic", c_char_p), ("partition", c_int32), ("offset", c_int64)]


class OffsetResult(Structure):
    _fields_ = [("topic", c_char_p), ("partition", c_int32), ("err", c_int),
                ("errstr", c_char_p), ("offset", c_int64), ("timestamp_ms", c_int64),
                ("leader_epoch", c_int32), ("metadata", c_char_p)]


class GroupListing(Structure):
    _fields_ = [("group_id", c_char_p), ("protocol_type", c_char_p), ("state", c_char_p),
                ("coordinator_id", c_int32)]


class GroupList(Structure):
    _fields_ = [("groups", POINTER(GroupListing)), ("group_count", c_size_t)]


class GroupMember(Structure):
    _fields_ = [("member_id", c_char_p), ("group_instance_id", c_char_p),
                ("client_id", c_char_p), ("client_host", c_char_p), ("metadata", c_void_p),
                ("metadata_len", c_size_t), ("assignment", c_void_p),
                ("assignment_len", c_size_t), ("assigned", POINTER(CTopicPartition)),
                ("assigned_count", c_size_t)]


class GroupDescription(Structure):
    _fields_ = [("group_id", c_char_p), ("err", c_int), ("errstr", c_char_p),
                ("state", c_char_p), ("protocol_type", c_char_p), ("protocol", c_char_p),
                ("coordinator_id", c_int32), ("members", POINTER(GroupMember)),
                ("member_count", c_size_t)]


def _fn(name, restype, *argtypes):
    f = getattr(lib, name)
    f.restype = restype
    f.argtypes = list(argtypes)
    return f


_P = c_void_p
_PP = POINTER(c_void_p)
_CPP = POINTER(c_char_p)
_ERRBUF = c_char_p  # a ctypes.create_string_buffer

samsa_version = _fn("samsa_version", c_char_p)
samsa_err_name = _fn("samsa_err_name", c_char_p, c_int)
samsa_err_str = _fn("samsa_err_str", c_char_p, c_int)

samsa_conf_new = _fn("samsa_conf_new", _P)
samsa_conf_set = _fn("samsa_conf_set", c_int, _P, c_char_p, c_char_p, c_void_p, c_size_t)
samsa_conf_free = _fn("samsa_conf_free", None, _P)

samsa_broker_new = _fn("samsa_broker_new", _P, _P, c_void_p, c_size_t)
samsa_broker_start = _fn("samsa_broker_start", c_int, _P)
samsa_broker_bootstrap = _fn("samsa_broker_bootstrap", c_char_p, _P)
samsa_broker_listener = _fn("samsa_broker_listener", c_char_p, _P)
samsa_broker_cluster_id = _fn("samsa_broker_cluster_id", c_char_p, _P)
samsa_broker_stop = _fn("samsa_broker_stop", None, _P)
samsa_broker_free = _fn("samsa_broker_free", None, _P)

samsa_producer_new_kv = _fn("samsa_producer_new_kv", _P, _CPP, _CPP, c_size_t,
                            POINTER(ProducerCallbacks), c_void_p, c_size_t)
samsa_producer_send = _fn("samsa_producer_send", c_int, _P, c_char_p, c_int32, c_void_p,
                          c_size_t, c_void_p, c_size_t, c_void_p, c_size_t, c_int64, c_int,
                          c_void_p)
samsa_producer_produce_batch = _fn("samsa_producer_produce_batch", c_size_t, _P,
                                   POINTER(ProduceBatch), POINTER(c_int))
samsa_producer_room = _fn("samsa_producer_room", c_int, _P, c_char_p, POINTER(ProducerRoom))
samsa_producer_poll = _fn("samsa_producer_poll", c_int, _P, c_int)
samsa_producer_flush = _fn("samsa_producer_flush", c_int, _P, c_int)
samsa_producer_outstanding = _fn("samsa_producer_outstanding", c_size_t, _P)
samsa_producer_close = _fn("samsa_producer_close", c_int, _P, c_int)
samsa_producer_free = _fn("samsa_producer_free", None, _P)

samsa_consumer_new_kv = _fn("samsa_consumer_new_kv", _P, _CPP, _CPP, c_size_t,
                            POINTER(ConsumerCallbacks), c_void_p, c_size_t)
samsa_consumer_subscribe = _fn("samsa_consumer_subscribe", c_int, _P, _CPP, c_size_t)
samsa_consumer_unsubscribe = _fn("samsa_consumer_unsubscribe", c_int, _P)
samsa_consumer_assign = _fn("samsa_consumer_assign", c_int, _P, POINTER(PartitionList))
samsa_consumer_assignment = _fn("samsa_consumer_assignment", c_int, _P, POINTER(PartitionList))
samsa_partition_list_free = _fn("samsa_partition_list_free", None, POINTER(PartitionList))
samsa_consumer_poll = _fn("samsa_consumer_poll", c_void_p, _P, c_int)
samsa_message_free = _fn("samsa_message_free", None, c_void_p)
samsa_consumer_commit = _fn("samsa_consumer_commit", c_int, _P, POINTER(PartitionList), c_int)
samsa_consumer_committed = _fn("samsa_consumer_committed", c_int, _P, POINTER(PartitionList),
                               c_int)
samsa_consumer_position = _fn("samsa_consumer_position", c_int, _P, POINTER(PartitionList))
samsa_consumer_seek = _fn("samsa_consumer_seek", c_int, _P, c_char_p, c_int32, c_int64)
samsa_consumer_pause = _fn("samsa_consumer_pause", c_int, _P, POINTER(PartitionList))
samsa_consumer_resume = _fn("samsa_consumer_resume", c_int, _P, POINTER(PartitionList))
samsa_consumer_close = _fn("samsa_consumer_close", c_int, _P)
samsa_consumer_free = _fn("samsa_consumer_free", None, _P)

samsa_admin_new_kv = _fn("samsa_admin_new_kv", _P, _CPP, _CPP, c_size_t, c_void_p, c_size_t)
samsa_admin_free = _fn("samsa_admin_free", None, _P)
samsa_admin_last_error = _fn("samsa_admin_last_error", c_char_p)
samsa_topic_results_free = _fn("samsa_topic_results_free", None, POINTER(TopicResult))
samsa_admin_create_topics = _fn("samsa_admin_create_topics", c_int, _P, POINTER(NewTopicC),
                                c_size_t, c_int, c_int, POINTER(POINTER(TopicResult)))
samsa_admin_delete_topics = _fn("samsa_admin_delete_topics", c_int, _P, _CPP, c_size_t, c_int,
                                POINTER(POINTER(TopicResult)))
samsa_admin_create_partitions = _fn("samsa_admin_create_partitions", c_int, _P,
                                    POINTER(NewPartitionsC), c_size_t, c_int, c_int,
                                    POINTER(POINTER(TopicResult)))
samsa_cluster_info_free = _fn("samsa_cluster_info_free", None, POINTER(ClusterInfo))
samsa_admin_describe_cluster = _fn("samsa_admin_describe_cluster", c_int, _P, c_int,
                                   POINTER(POINTER(ClusterInfo)))
samsa_admin_list_topics = _fn("samsa_admin_list_topics", c_int, _P, _CPP, c_size_t, c_int,
                              c_int, POINTER(POINTER(ClusterInfo)))
samsa_offset_results_free = _fn("samsa_offset_results_free", None, POINTER(OffsetResult))
samsa_admin_list_offsets = _fn("samsa_admin_list_offsets", c_int, _P, POINTER(PartitionOffset),
                               c_size_t, c_int, POINTER(POINTER(OffsetResult)))
samsa_admin_list_group_offsets = _fn("samsa_admin_list_group_offsets", c_int, _P, c_char_p,
                                     POINTER(CTopicPartition), c_size_t, c_int,
                                     POINTER(POINTER(OffsetResult)), POINTER(c_size_t))
samsa_group_list_free = _fn("samsa_group_list_free", None, POINTER(GroupList))
samsa_admin_list_groups = _fn("samsa_admin_list_groups", c_int, _P, c_int,
                              POINTER(POINTER(GroupList)))
samsa_group_descriptions_free = _fn("samsa_group_descriptions_free", None,
                                    POINTER(GroupDescription))
samsa_admin_describe_groups = _fn("samsa_admin_describe_groups", c_int, _P, _CPP, c_size_t,
                                  c_int, POINTER(POINTER(GroupDescription)))


def cstrings(items):
    """A C array of NUL-terminated strings made from str or bytes items."""
    arr = (c_char_p * max(len(items), 1))()
    for i, s in enumerate(items):
        arr[i] = s.encode() if isinstance(s, str) else s
    return arr


def errbuf():
    """A 512-byte buffer for the errstr arguments."""
    return ctypes.create_string_buffer(512)


def text(b):
    """bytes from C (or None) as str."""
    return None if b is None else b.decode("utf-8", "replace")
