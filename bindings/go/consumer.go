package samsa

// #include "shim.h"
import "C"

import (
	"context"
	"runtime/cgo"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"
)

// RebalanceEvent tells a rebalance handler which partitions were assigned
// to the consumer (Assigned true) or revoked from it.
type RebalanceEvent struct {
	Assigned   bool
	Partitions []TopicPartition
}

// ConsumerOption tunes the Go side of a consumer.
type ConsumerOption func(*consumerOptions)

type consumerOptions struct {
	rebalance func(*Consumer, RebalanceEvent)
	commit    func(*Consumer, []TopicPartition, error)
}

// WithRebalanceHandler calls h whenever the group changes the consumer's
// partitions, from within Poll on the polling goroutine. h may call
// Commit, CommitOffsets, Position, Committed, Seek, Pause and Resume (a
// Commit made there commits before the partitions go); it must not call
// Poll or Close.
func WithRebalanceHandler(h func(*Consumer, RebalanceEvent)) ConsumerOption {
	return func(o *consumerOptions) { o.rebalance = h }
}

// WithCommitHandler calls h with the outcome of every commit (auto commits
// included) from within Poll, or from Commit for its own commit.
func WithCommitHandler(h func(c *Consumer, offsets []TopicPartition, err error)) ConsumerOption {
	return func(o *consumerOptions) { o.commit = h }
}

// Consumer reads messages, as a member of a consumer group (Subscribe) or
// from partitions it names (Assign). Poll is called by one goroutine at a
// time (concurrent calls wait for each other); the other methods may be
// called from any goroutine.
type Consumer struct {
	c      *C.samsa_consumer_t
	handle cgo.Handle
	opts   consumerOptions
	life   lifecycle

	// inCallback counts handlers running: a commit made meanwhile runs on
	// the calling goroutine (the handler's thread), not on a new one.
	inCallback atomic.Int32

	pollMu    sync.Mutex
	lastTopic string // the topic of the last message, reused while it repeats
	scratch   []byte // where samsa_go_poll copies a message
	copied    C.samsa_go_msg_t
}

// scratchLen bounds the messages Poll copies in one C call; larger ones
// take a second call.
const scratchLen = 64 << 10

// fromScratch makes the message samsa_go_poll copied into c.scratch
// (pollMu held).
func (c *Consumer) fromScratch() *Message {
	d := &c.copied
	tl := int(d.topic_len)
	topic := c.scratch[:tl]
	if string(topic) != c.lastTopic {
		c.lastTopic = string(topic)
	}
	msg := &Message{
		Topic:         c.lastTopic,
		Partition:     int32(d.partition),
		Offset:        int64(d.offset),
		Timestamp:     time.UnixMilli(int64(d.timestamp_ms)),
		TimestampType: TimestampType(d.timestamp_type),
		LeaderEpoch:   int32(d.leader_epoch),
	}
	kl, vl := max(int(d.key_len), 0), max(int(d.value_len), 0)
	if d.key_len >= 0 || d.value_len >= 0 {
		buf := make([]byte, kl+vl)
		copy(buf, c.scratch[tl:tl+kl+vl])
		if d.key_len >= 0 {
			msg.Key = buf[:kl:kl]
		}
		if d.value_len >= 0 {
			msg.Value = buf[kl:]
		}
	}
	return msg
}

// NewConsumer makes a consumer from Kafka-style properties (bootstrap.servers,
// group.id, auto.offset.reset, enable.auto.commit, ...; see samsa.h) and
// starts it.
func NewConsumer(cfg map[string]string, opts ...ConsumerOption) (*Consumer, error) {
	c := &Consumer{}
	for _, opt := range opts {
		opt(&c.opts)
	}
	c.handle = cgo.NewHandle(c)
	err := construct(cfg, "consumer", func(k, v **C.char, n C.size_t, e *C.char, el C.size_t) bool {
		c.c = C.samsa_go_consumer_new(k, v, n, cBool(c.opts.rebalance != nil),
			cBool(c.opts.commit != nil), C.uintptr_t(c.handle), e, el)
		return c.c != nil
	})
	if err != nil {
		c.handle.Delete()
		return nil, err
	}
	return c, nil
}

func cBool(b bool) C.int {
	if b {
		return 1
	}
	return 0
}

//export samsaGoRebalance
func samsaGoRebalance(h C.uintptr_t, assigned C.int, l *C.samsa_partition_list_t) {
	c := cgo.Handle(h).Value().(*Consumer)
	c.inCallback.Add(1)
	defer c.inCallback.Add(-1)
	c.opts.rebalance(c, RebalanceEvent{Assigned: assigned != 0, Partitions: goPartitions(l)})
}

//export samsaGoCommit
func samsaGoCommit(h C.uintptr_t, err C.samsa_err_t, l *C.samsa_partition_list_t) {
	c := cgo.Handle(h).Value().(*Consumer)
	c.inCallback.Add(1)
	defer c.inCallback.Add(-1)
	c.opts.commit(c, goPartitions(l), codeErr(err, "commit"))
}

// Subscribe joins the group named by group.id, consuming topics (a name
// starting with '^' is a regular expression). It replaces an earlier
// subscription or assignment and returns without waiting for the group.
func (c *Consumer) Subscribe(topics ...string) error {
	if err := c.life.enter(); err != nil {
		return err
	}
	defer c.life.leave()
	cs, err := newCStrings(topics)
	if err != nil {
		return err
	}
	defer cs.free()
	return codeErr(C.samsa_consumer_subscribe(c.c, cs.ptr(), C.size_t(cs.n)), "subscribe")
}

// Unsubscribe leaves the group and stops consuming.
func (c *Consumer) Unsubscribe() error {
	if err := c.life.enter(); err != nil {
		return err
	}
	defer c.life.leave()
	return codeErr(C.samsa_consumer_unsubscribe(c.c), "unsubscribe")
}

// Assign consumes exactly parts without joining a group: each starts at
// its Offset (>= 0, OffsetStored, OffsetBeginning or OffsetEnd). An empty
// list stops consuming.
func (c *Consumer) Assign(parts []TopicPartition) error {
	if err := c.life.enter(); err != nil {
		return err
	}
	defer c.life.leave()
	cp := newCPartitions(parts)
	defer cp.free()
	return codeErr(C.samsa_consumer_assign(c.c, cp.ptr()), "assign")
}

// Assignment is the partitions currently assigned, with their positions.
func (c *Consumer) Assignment() ([]TopicPartition, error) {
	if err := c.life.enter(); err != nil {
		return nil, err
	}
	defer c.life.leave()
	var l C.samsa_partition_list_t
	if err := codeErr(C.samsa_consumer_assignment(c.c, &l), "assignment"); err != nil {
		return nil, err
	}
	defer C.samsa_partition_list_free(&l)
	return goPartitions(&l), nil
}

// Poll returns the next message, waiting until one comes or ctx ends
// (nil, ctx.Err()). Errors the consumer reports (a partition that failed,
// an offset out of range with auto.offset.reset=none ...) come back as an
// *Error; rebalance and commit handlers run first, on this goroutine.
func (c *Consumer) Poll(ctx context.Context) (*Message, error) {
	if err := c.life.enter(); err != nil {
		return nil, err
	}
	defer c.life.leave()
	c.pollMu.Lock()
	defer c.pollMu.Unlock()
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if c.life.closing.Load() {
			return nil, closedError()
		}
		ms := timeoutMs(ctx, pollInterval)
		if ms > C.int(pollInterval/time.Millisecond) {
			ms = C.int(pollInterval / time.Millisecond)
		}
		if c.scratch == nil {
			c.scratch = make([]byte, scratchLen)
		}
		var m *C.samsa_message_t
		if C.samsa_go_poll(c.c, ms, unsafe.Pointer(&c.scratch[0]), C.size_t(len(c.scratch)),
			&c.copied, &m) != 0 {
			return c.fromScratch(), nil
		}
		if m != nil {
			msg, err := c.convert(m)
			C.samsa_message_free(m)
			return msg, err
		}
	}
}

// convert copies a C message into Go memory (key and value share one
// allocation).
func (c *Consumer) convert(m *C.samsa_message_t) (*Message, error) {
	if m.err != 0 {
		return nil, newError(ErrorCode(m.err), goStringOrEmpty(m.errstr))
	}
	msg := &Message{
		Topic:         c.topic(m.topic),
		Partition:     int32(m.partition),
		Offset:        int64(m.offset),
		Timestamp:     time.UnixMilli(int64(m.timestamp_ms)),
		TimestampType: TimestampType(m.timestamp_type),
		LeaderEpoch:   int32(m.leader_epoch),
	}
	kl, vl := int(m.key_len), int(m.value_len)
	if m.key != nil || m.value != nil {
		buf := make([]byte, kl+vl)
		if m.key != nil {
			copy(buf, unsafe.Slice((*byte)(m.key), kl))
			msg.Key = buf[:kl:kl]
		}
		if m.value != nil {
			copy(buf[kl:], unsafe.Slice((*byte)(m.value), vl))
			msg.Value = buf[kl:]
		}
	}
	if m.header_count > 0 {
		hs := unsafe.Slice(m.headers, int(m.header_count))
		msg.Headers = make([]Header, len(hs))
		for i, h := range hs {
			msg.Headers[i] = Header{Key: C.GoString(h.name), Value: goBytes(h.value, h.value_len)}
		}
	}
	return msg, nil
}

// topic is the C string s as a Go string, reusing the previous message's
// topic when it is the same (pollMu held).
func (c *Consumer) topic(s *C.char) string {
	if s == nil {
		return ""
	}
	last := c.lastTopic
	p := unsafe.Pointer(s)
	i := 0
	for ; i < len(last); i++ {
		if *(*byte)(unsafe.Add(p, i)) != last[i] {
			break
		}
	}
	if i == len(last) && *(*byte)(unsafe.Add(p, i)) == 0 && last != "" {
		return last
	}
	c.lastTopic = C.GoString(s)
	return c.lastTopic
}

// Commit commits the positions of every assigned partition (what Poll has
// returned) and waits for the coordinator's answer, or for ctx
// (ctx.Err(); the commit may still complete).
func (c *Consumer) Commit(ctx context.Context) error {
	return c.commit(ctx, nil)
}

// CommitOffsets commits the given offsets (each the offset of the next
// message to read) and waits as Commit does.
func (c *Consumer) CommitOffsets(ctx context.Context, offsets []TopicPartition) error {
	if len(offsets) == 0 {
		return errorf(ErrLocalInvalidArg, "commit: no offsets")
	}
	return c.commit(ctx, offsets)
}

func (c *Consumer) commit(ctx context.Context, offsets []TopicPartition) error {
	run := c.life.background
	if c.inCallback.Load() > 0 {
		run = c.life.inline
	}
	return run(ctx, func() error {
		var lp *C.samsa_partition_list_t
		if offsets != nil {
			cp := newCPartitions(offsets)
			defer cp.free()
			lp = cp.ptr()
		}
		return codeErr(C.samsa_consumer_commit(c.c, lp, 0), "commit")
	})
}

// Committed is the group's committed offset of each partition (-1 when
// none; Err per partition), waiting for the coordinator until ctx ends
// (30 s when ctx has no deadline).
func (c *Consumer) Committed(ctx context.Context, parts []TopicPartition) ([]TopicPartition, error) {
	var out []TopicPartition
	err := c.life.background(ctx, func() error {
		cp := newCPartitions(parts)
		defer cp.free()
		if err := codeErr(C.samsa_consumer_committed(c.c, cp.ptr(), timeoutMs(ctx, 30*time.Second)),
			"committed"); err != nil {
			return err
		}
		out = goPartitions(cp.ptr())
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// Position is the position of each partition (the offset of the next
// message Poll returns; -1 when not known yet, Err ErrLocalState for a
// partition not assigned).
func (c *Consumer) Position(parts []TopicPartition) ([]TopicPartition, error) {
	return c.partitionCall(parts, "position", func(l *C.samsa_partition_list_t) C.samsa_err_t {
		return C.samsa_consumer_position(c.c, l)
	})
}

// Pause stops fetching parts; Poll holds back their prefetched messages.
func (c *Consumer) Pause(parts []TopicPartition) ([]TopicPartition, error) {
	return c.partitionCall(parts, "pause", func(l *C.samsa_partition_list_t) C.samsa_err_t {
		return C.samsa_consumer_pause(c.c, l)
	})
}

// Resume restarts fetching paused partitions.
func (c *Consumer) Resume(parts []TopicPartition) ([]TopicPartition, error) {
	return c.partitionCall(parts, "resume", func(l *C.samsa_partition_list_t) C.samsa_err_t {
		return C.samsa_consumer_resume(c.c, l)
	})
}

func (c *Consumer) partitionCall(parts []TopicPartition, what string,
	f func(*C.samsa_partition_list_t) C.samsa_err_t) ([]TopicPartition, error) {
	if err := c.life.enter(); err != nil {
		return nil, err
	}
	defer c.life.leave()
	cp := newCPartitions(parts)
	defer cp.free()
	if err := codeErr(f(cp.ptr()), what); err != nil {
		return nil, err
	}
	return goPartitions(cp.ptr()), nil
}

// Seek moves an assigned partition's position to offset (>= 0,
// OffsetBeginning or OffsetEnd), dropping its prefetched messages.
func (c *Consumer) Seek(topic string, partition int32, offset int64) error {
	if err := c.life.enter(); err != nil {
		return err
	}
	defer c.life.leave()
	t := C.CString(topic)
	defer C.free(unsafe.Pointer(t))
	return codeErr(C.samsa_consumer_seek(c.c, t, C.int32_t(partition), C.int64_t(offset)),
		"seek "+topic)
}

// SeekTime moves an assigned partition's position to its first message at
// or after t (the end when there is none).
func (c *Consumer) SeekTime(topic string, partition int32, t time.Time) error {
	if err := c.life.enter(); err != nil {
		return err
	}
	defer c.life.leave()
	ct := C.CString(topic)
	defer C.free(unsafe.Pointer(ct))
	return codeErr(C.samsa_consumer_seek_timestamp(c.c, ct, C.int32_t(partition),
		C.int64_t(t.UnixMilli())), "seek "+topic)
}

// Close commits the positions when enable.auto.commit is set, leaves the
// group and frees the consumer, once calls in progress have returned (a
// Poll in progress returns an error). Later calls return nil.
func (c *Consumer) Close() error {
	if !c.life.shut() {
		return nil
	}
	err := codeErr(C.samsa_consumer_close(c.c), "close")
	C.samsa_consumer_free(c.c)
	c.handle.Delete()
	return err
}
