"""samsa: Python binding of libsamsa, a Kafka client and embeddable broker
written in C, with an API modelled on confluent-kafka-python.

    Producer, Consumer, AdminClient   the clients
    Broker                            a broker embedded in this process
    Message, TopicPartition           what they exchange
    KafkaError, KafkaException        errors

The library is loaded with ctypes: see samsa._lib for where it is looked up
(the environment variable SAMSA_LIBRARY first).
"""
from . import _lib
from ._common import (OFFSET_BEGINNING, OFFSET_END, OFFSET_INVALID, OFFSET_STORED,
                      TIMESTAMP_CREATE_TIME, TIMESTAMP_LOG_APPEND_TIME, TIMESTAMP_NOT_AVAILABLE,
                      TopicPartition)
from .admin import (AdminClient, BrokerMetadata, ClusterMetadata, ConsumerGroupDescription,
                    ConsumerGroupListing, DescribeClusterResult, ListConsumerGroupsResult,
                    MemberAssignment, MemberDescription, NewPartitions, NewTopic, Node,
                    PartitionMetadata, TopicMetadata)
from .broker import Broker
from .consumer import Consumer
from .error import KafkaError, KafkaException
from .message import Message
from .producer import Producer

__version__ = "0.1.0"


def libversion():
    """(version string, version int) of the loaded libsamsa, as
    confluent_kafka.libversion() gives librdkafka's."""
    s = _lib.samsa_version().decode()
    major, minor, patch = (int(x) for x in s.split("."))
    return s, (major << 24) | (minor << 16) | (patch << 8)


def version():
    """(version string, version int) of this binding."""
    major, minor, patch = (int(x) for x in __version__.split("."))
    return __version__, (major << 24) | (minor << 16) | (patch << 8)


__all__ = ["Producer", "Consumer", "AdminClient", "Broker", "Message", "TopicPartition",
           "KafkaError", "KafkaException", "NewTopic", "NewPartitions", "ClusterMetadata",
           "BrokerMetadata", "TopicMetadata", "PartitionMetadata", "DescribeClusterResult",
           "Node", "ListConsumerGroupsResult", "ConsumerGroupListing",
           "ConsumerGroupDescription", "MemberDescription", "MemberAssignment",
           "OFFSET_BEGINNING", "OFFSET_END", "OFFSET_STORED", "OFFSET_INVALID",
           "TIMESTAMP_NOT_AVAILABLE", "TIMESTAMP_CREATE_TIME", "TIMESTAMP_LOG_APPEND_TIME",
           "libversion", "version"]
