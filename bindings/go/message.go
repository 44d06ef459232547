package samsa

import "time"

// AnyPartition lets the producer's partitioner pick the partition
// (Kafka's default: murmur2 of the key, sticky batches for null keys).
const AnyPartition int32 = -1

// Special offsets for Assign and Seek.
const (
	// OffsetStored starts from the group's committed offset (Assign only;
	// auto.offset.reset applies when there is none).
	OffsetStored int64 = -1
	// OffsetBeginning is the first offset of the partition.
	OffsetBeginning int64 = -2
	// OffsetEnd is the high watermark: only messages produced afterwards.
	OffsetEnd int64 = -3
)

// TimestampType says what a consumed message's timestamp means.
type TimestampType int

const (
	// TimestampCreateTime: set by the producer.
	TimestampCreateTime TimestampType = 0
	// TimestampLogAppendTime: set by the broker when it wrote the message.
	TimestampLogAppendTime TimestampType = 1
)

// Header is a message header. A nil Value is a null value.
type Header struct {
	Key   string
	Value []byte
}

// Message is a message to produce or a consumed one. Every byte slice of a
// consumed message is Go memory that the message owns.
//
// To produce, set Topic, Partition (AnyPartition, or a partition number:
// note that the zero value means partition 0), Key, Value (nil key or value:
// null), Headers, Timestamp (zero: now) and, if wanted, Opaque. After Produce
// accepted it the message belongs to the producer until its delivery report,
// which fills in Partition, Offset and Timestamp.
type Message struct {
	Topic         string
	Partition     int32
	Offset        int64
	Key           []byte
	Value         []byte
	Headers       []Header
	Timestamp     time.Time
	TimestampType TimestampType
	LeaderEpoch   int32 // of the message's batch; -1 when unknown
	Opaque        any   // the producer's: given back in the delivery report
}

// TopicPartition names one partition, with an offset where one is meant,
// and the partition's own outcome where a call reports one.
type TopicPartition struct {
	Topic     string
	Partition int32
	Offset    int64
	Err       error
}
