package samsa_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	samsa "samsa/bindings/go"
)

// broker is the embedded broker every test talks to.
var broker *samsa.Broker

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "samsa-go-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	broker, err = samsa.NewBroker(map[string]string{
		"log.dirs":                         dir,
		"listeners":                        "PLAINTEXT://127.0.0.1:0",
		"num.partitions":                   "1",
		"group.initial.rebalance.delay.ms": "0",
		"log.flush.on.ack":                 "false",
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, "broker:", err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	broker.Close()
	os.RemoveAll(dir)
	os.Exit(code)
}

// testCtx is a context that ends with the test (or after a minute).
func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}

var topicSeq atomic.Int32

// newTopic creates a topic with n partitions, named after the test.
func newTopic(t *testing.T, n int32) string {
	t.Helper()
	name := fmt.Sprintf("go-%s-%d", t.Name(), topicSeq.Add(1))
	a := newAdmin(t)
	res, err := a.CreateTopics(testCtx(t), samsa.NewTopic{Name: name, Partitions: n})
	if err != nil || res[0].Err != nil {
		t.Fatalf("create %s: %v %v", name, err, res)
	}
	return name
}

func newAdmin(t *testing.T) *samsa.Admin {
	t.Helper()
	a, err := samsa.NewAdmin(map[string]string{"bootstrap.servers": broker.Bootstrap()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(a.Close)
	return a
}

// clientConfig is cfg over the broker's address and defaults.
func clientConfig(defaults, cfg map[string]string) map[string]string {
	all := map[string]string{"bootstrap.servers": broker.Bootstrap()}
	for _, m := range []map[string]string{defaults, cfg} {
		for k, v := range m {
			all[k] = v
		}
	}
	return all
}

func newProducer(t *testing.T, cfg map[string]string, opts ...samsa.ProducerOption) *samsa.Producer {
	t.Helper()
	p, err := samsa.NewProducer(clientConfig(map[string]string{"linger.ms": "2"}, cfg), opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	return p
}

func newConsumer(t *testing.T, cfg map[string]string, opts ...samsa.ConsumerOption) *samsa.Consumer {
	t.Helper()
	c, err := samsa.NewConsumer(clientConfig(map[string]string{"auto.offset.reset": "earliest"}, cfg), opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// produceN produces n messages k-i/v-i with a header h=i through Produce
// and Deliveries, and checks every report.
func produceN(t *testing.T, p *samsa.Producer, topic string, from, n int) {
	t.Helper()
	ctx := testCtx(t)
	var wg sync.WaitGroup
	wg.Add(1)
	seen := 0
	var failures []error
	go func() {
		defer wg.Done()
		for seen < n {
			d := <-p.Deliveries()
			if d.Err != nil || d.Message.Offset < 0 {
				failures = append(failures, fmt.Errorf("%v at %d", d.Err, d.Message.Offset))
			}
			if d.Message.Opaque.(int) < from || d.Message.Opaque.(int) >= from+n {
				failures = append(failures, fmt.Errorf("opaque %v", d.Message.Opaque))
			}
			seen++
		}
	}()
	for i := from; i < from+n; i++ {
		s := strconv.Itoa(i)
		err := p.Produce(ctx, &samsa.Message{Topic: topic, Partition: samsa.AnyPartition,
			Key: []byte("k-" + s), Value: []byte("v-" + s),
			Headers: []samsa.Header{{Key: "h", Value: []byte(s)}}, Opaque: i})
		if err != nil {
			t.Fatalf("produce %d: %v", i, err)
		}
	}
	if err := p.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	if len(failures) > 0 {
		t.Fatalf("%d failed deliveries, first: %v", len(failures), failures[0])
	}
}

// pollN polls n messages.
func pollN(t *testing.T, c *samsa.Consumer, n int) []*samsa.Message {
	t.Helper()
	ctx := testCtx(t)
	var out []*samsa.Message
	for len(out) < n {
		m, err := c.Poll(ctx)
		if err != nil {
			t.Fatalf("poll after %d of %d: %v", len(out), n, err)
		}
		out = append(out, m)
	}
	return out
}

// checkMessages checks that msgs are exactly k-i/v-i/h=i for i in [from, from+n).
func checkMessages(t *testing.T, msgs []*samsa.Message, from, n int) {
	t.Helper()
	got := map[string]bool{}
	for _, m := range msgs {
		i := string(m.Value[2:])
		if string(m.Key) != "k-"+i || len(m.Headers) != 1 || m.Headers[0].Key != "h" ||
			string(m.Headers[0].Value) != i {
			t.Fatalf("bad message %q %q %v", m.Key, m.Value, m.Headers)
		}
		if got[i] {
			t.Fatalf("duplicate %s", i)
		}
		got[i] = true
	}
	for i := from; i < from+n; i++ {
		if !got[strconv.Itoa(i)] {
			t.Fatalf("missing message %d (got %d)", i, len(got))
		}
	}
}

func TestProduceConsume(t *testing.T) {
	topic := newTopic(t, 3)
	p := newProducer(t, nil)
	produceN(t, p, topic, 0, 300)
	c := newConsumer(t, nil)
	var parts []samsa.TopicPartition
	for i := int32(0); i < 3; i++ {
		parts = append(parts, samsa.TopicPartition{Topic: topic, Partition: i, Offset: samsa.OffsetBeginning})
	}
	if err := c.Assign(parts); err != nil {
		t.Fatal(err)
	}
	msgs := pollN(t, c, 300)
	checkMessages(t, msgs, 0, 300)
	last := map[int32]int64{0: -1, 1: -1, 2: -1}
	for _, m := range msgs {
		if m.Topic != topic || m.Offset != last[m.Partition]+1 {
			t.Fatalf("%s[%d]@%d after %d", m.Topic, m.Partition, m.Offset, last[m.Partition])
		}
		last[m.Partition] = m.Offset
	}
	// Messages are keyed: a key always lands in the same partition.
	c2 := newConsumer(t, nil)
	if err := c2.Assign(parts); err != nil {
		t.Fatal(err)
	}
	where := map[string]int32{}
	for _, m := range msgs {
		where[string(m.Key)] = m.Partition
	}
	for _, m := range pollN(t, c2, 300) {
		if where[string(m.Key)] != m.Partition {
			t.Fatalf("key %s in %d and %d", m.Key, m.Partition, where[string(m.Key)])
		}
	}
}

func TestProduceSyncNullsAndTimestamps(t *testing.T) {
	topic := newTopic(t, 1)
	p := newProducer(t, nil, samsa.WithDeliveryReports(false))
	ctx := testCtx(t)
	ts := time.UnixMilli(1700000000123)
	msgs := []*samsa.Message{
		{Topic: topic, Partition: 0, Value: []byte("only value"), Timestamp: ts},
		{Topic: topic, Partition: 0, Key: []byte("tombstone")},
		{Topic: topic, Partition: 0, Key: []byte{}, Value: []byte{},
			Headers: []samsa.Header{{Key: "null"}, {Key: "empty", Value: []byte{}}}},
	}
	for i, m := range msgs {
		if err := p.ProduceSync(ctx, m); err != nil {
			t.Fatal(err)
		}
		if m.Offset != int64(i) || m.Partition != 0 {
			t.Fatalf("message %d at %d[%d]", i, m.Partition, m.Offset)
		}
	}
	if p.Outstanding() != 0 {
		t.Fatalf("%d outstanding", p.Outstanding())
	}
	c := newConsumer(t, nil)
	if err := c.Assign([]samsa.TopicPartition{{Topic: topic, Offset: 0}}); err != nil {
		t.Fatal(err)
	}
	got := pollN(t, c, 3)
	if got[0].Key != nil || string(got[0].Value) != "only value" || !got[0].Timestamp.Equal(ts) ||
		got[0].TimestampType != samsa.TimestampCreateTime {
		t.Fatalf("message 0: %+v", got[0])
	}
	if string(got[1].Key) != "tombstone" || got[1].Value != nil {
		t.Fatalf("message 1: %+v", got[1])
	}
	h := got[2].Headers
	if got[2].Key == nil || len(got[2].Key) != 0 || got[2].Value == nil || len(got[2].Value) != 0 ||
		len(h) != 2 || h[0].Key != "null" || h[0].Value != nil || h[1].Key != "empty" ||
		h[1].Value == nil || len(h[1].Value) != 0 {
		t.Fatalf("message 2: %+v", got[2])
	}
}

// A producer with a tiny queue: Produce waits for room instead of failing.
func TestProduceWaitsForRoom(t *testing.T) {
	topic := newTopic(t, 2)
	p := newProducer(t, map[string]string{"queue.buffering.max.messages": "8"},
		samsa.WithDeliveryChannelSize(1))
	produceN(t, p, topic, 0, 500)
}

func TestConsumerGroupCommit(t *testing.T) {
	topic := newTopic(t, 2)
	group := "group-" + topic
	p := newProducer(t, nil)
	produceN(t, p, topic, 0, 40)

	var mu sync.Mutex
	var events []samsa.RebalanceEvent
	var commits []error
	cfg := map[string]string{"group.id": group, "enable.auto.commit": "false"}
	c := newConsumer(t, cfg,
		samsa.WithRebalanceHandler(func(c *samsa.Consumer, e samsa.RebalanceEvent) {
			mu.Lock()
			events = append(events, e)
			mu.Unlock()
		}),
		samsa.WithCommitHandler(func(c *samsa.Consumer, offs []samsa.TopicPartition, err error) {
			mu.Lock()
			commits = append(commits, err)
			mu.Unlock()
		}))
	if err := c.Subscribe(topic); err != nil {
		t.Fatal(err)
	}
	checkMessages(t, pollN(t, c, 40), 0, 40)
	ctx := testCtx(t)
	if err := c.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	if len(events) == 0 || !events[0].Assigned || len(events[0].Partitions) != 2 {
		t.Fatalf("rebalance events %+v", events)
	}
	if len(commits) != 1 || commits[0] != nil {
		t.Fatalf("commit callbacks %v", commits)
	}
	mu.Unlock()
	asg, err := c.Assignment()
	if err != nil || len(asg) != 2 {
		t.Fatalf("assignment %v %v", asg, err)
	}
	parts := []samsa.TopicPartition{{Topic: topic, Partition: 0}, {Topic: topic, Partition: 1}}
	committed, err := c.Committed(ctx, parts)
	if err != nil {
		t.Fatal(err)
	}
	pos, err := c.Position(parts)
	if err != nil {
		t.Fatal(err)
	}
	var sum int64
	for i := range committed {
		if committed[i].Err != nil || committed[i].Offset != pos[i].Offset {
			t.Fatalf("committed %+v, positions %+v", committed, pos)
		}
		sum += committed[i].Offset
	}
	if sum != 40 {
		t.Fatalf("committed %d messages", sum)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}

	// The group's next member starts where the first committed.
	produceN(t, p, topic, 40, 10)
	c2 := newConsumer(t, cfg)
	if err := c2.Subscribe(topic); err != nil {
		t.Fatal(err)
	}
	checkMessages(t, pollN(t, c2, 10), 40, 10)
	if err := c2.CommitOffsets(ctx, []samsa.TopicPartition{{Topic: topic, Partition: 0, Offset: 1}}); err != nil {
		t.Fatal(err)
	}
	if err := c2.Close(); err != nil {
		t.Fatal(err)
	}
	a := newAdmin(t)
	offs, err := a.ListGroupOffsets(ctx, group, samsa.TopicPartition{Topic: topic, Partition: 0})
	if err != nil || len(offs) != 1 || offs[0].Err != nil || offs[0].Offset != 1 {
		t.Fatalf("group offsets %+v %v", offs, err)
	}
	groups, err := a.DescribeGroups(ctx, group, "no-such-group")
	if err != nil || len(groups) != 2 {
		t.Fatalf("describe groups %+v %v", groups, err)
	}
	if groups[0].GroupID != group || groups[0].Err != nil || groups[0].ProtocolType != "consumer" {
		t.Fatalf("group %+v", groups[0])
	}
	list, err := a.ListGroups(ctx)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, g := range list {
		found = found || g.GroupID == group
	}
	if !found {
		t.Fatalf("group %s not listed in %+v", group, list)
	}
}

// A rebalance handler runs inside Poll and may call the consumer again: a
// second member joins, the eager range assignor revokes the first's
// partition, and the handler commits (before the partition goes) and reads
// the assignment.
func TestRebalanceHandler(t *testing.T) {
	topic := newTopic(t, 1)
	group := "group-" + topic
	p := newProducer(t, nil)
	produceN(t, p, topic, 0, 5)
	cfg := map[string]string{"group.id": group, "enable.auto.commit": "false",
		"partition.assignment.strategy": "range"}
	var handlerErr error
	var assigned, revoked atomic.Int32
	c := newConsumer(t, cfg,
		samsa.WithRebalanceHandler(func(c *samsa.Consumer, e samsa.RebalanceEvent) {
			if e.Assigned && revoked.Load() > 0 {
				// the rebalance c2 starts may end within the same poll,
				// giving c nothing or the partition again
				return
			}
			if len(e.Partitions) != 1 || e.Partitions[0].Topic != topic {
				handlerErr = fmt.Errorf("event %+v", e)
			}
			if e.Assigned {
				assigned.Add(1)
				return
			}
			if err := c.Commit(context.Background()); err != nil {
				handlerErr = err
			}
			if _, err := c.Assignment(); err != nil {
				handlerErr = err
			}
			revoked.Add(1)
		}))
	if err := c.Subscribe(topic); err != nil {
		t.Fatal(err)
	}
	pollN(t, c, 5)
	if err := c.Commit(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	c2 := newConsumer(t, cfg)
	if err := c2.Subscribe(topic); err != nil {
		t.Fatal(err)
	}
	deadline := testCtx(t)
	ctx, cancel := context.WithCancel(deadline)
	defer cancel()
	go func() {
		for ctx.Err() == nil {
			c2.Poll(ctx)
		}
	}()
	for revoked.Load() == 0 {
		short, cancelShort := context.WithTimeout(deadline, 100*time.Millisecond)
		_, err := c.Poll(short)
		cancelShort()
		if err != nil && !errors.Is(err, context.DeadlineExceeded) {
			t.Fatal(err)
		}
		if deadline.Err() != nil {
			t.Fatal("no rebalance")
		}
	}
	if handlerErr != nil || assigned.Load() != 1 {
		t.Fatalf("handler: %v, %d assignments", handlerErr, assigned.Load())
	}
}

func TestSeekAndPause(t *testing.T) {
	topic := newTopic(t, 1)
	p := newProducer(t, nil)
	produceN(t, p, topic, 0, 10)
	c := newConsumer(t, nil)
	if err := c.Assign([]samsa.TopicPartition{{Topic: topic, Offset: samsa.OffsetBeginning}}); err != nil {
		t.Fatal(err)
	}
	msgs := pollN(t, c, 10)
	if msgs[9].Offset != 9 {
		t.Fatalf("last offset %d", msgs[9].Offset)
	}
	if err := c.Seek(topic, 0, 3); err != nil {
		t.Fatal(err)
	}
	if m := pollN(t, c, 1)[0]; m.Offset != 3 || string(m.Value) != "v-3" {
		t.Fatalf("after seek: %d %q", m.Offset, m.Value)
	}
	pos, err := c.Position([]samsa.TopicPartition{{Topic: topic}})
	if err != nil || pos[0].Offset != 4 {
		t.Fatalf("position %+v %v", pos, err)
	}
	if err := c.SeekTime(topic, 0, msgs[6].Timestamp); err != nil {
		t.Fatal(err)
	}
	if m := pollN(t, c, 1)[0]; m.Offset > 6 {
		t.Fatalf("after seek by time: %d", m.Offset)
	}
	if err := c.Seek(topic, 0, samsa.OffsetEnd); err != nil {
		t.Fatal(err)
	}
	err = c.Seek(topic, 7, 0)
	var se *samsa.Error
	if !errors.As(err, &se) || se.Code() != samsa.ErrLocalState {
		t.Fatalf("seek of an unassigned partition: %v", err)
	}
	res, err := c.Pause([]samsa.TopicPartition{{Topic: topic}})
	if err != nil || res[0].Err != nil {
		t.Fatalf("pause %+v %v", res, err)
	}
	produceN(t, p, topic, 10, 1)
	ctx, cancel := context.WithTimeout(testCtx(t), 300*time.Millisecond)
	defer cancel()
	if m, err := c.Poll(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("poll while paused: %v %v", m, err)
	}
	if _, err := c.Resume([]samsa.TopicPartition{{Topic: topic}}); err != nil {
		t.Fatal(err)
	}
	if m := pollN(t, c, 1)[0]; m.Offset != 10 {
		t.Fatalf("after resume: %d", m.Offset)
	}
}

func TestAdmin(t *testing.T) {
	ctx := testCtx(t)
	a := newAdmin(t)
	ci, err := a.DescribeCluster(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if ci.ClusterID != broker.ClusterID() || len(ci.Brokers) != 1 || ci.ControllerID != ci.Brokers[0].NodeID {
		t.Fatalf("cluster %+v (broker %s)", ci, broker.ClusterID())
	}
	topic := newTopic(t, 2)
	res, err := a.CreateTopics(ctx, samsa.NewTopic{Name: topic, Partitions: 2})
	if err != nil || !errors.Is(res[0].Err, samsa.ErrTopicAlreadyExists) {
		t.Fatalf("create again: %v %v", res, err)
	}
	res, err = a.ValidateTopics(ctx, samsa.NewTopic{Name: topic + "-v", Partitions: -5})
	if err != nil || !errors.Is(res[0].Err, samsa.ErrInvalidPartitions) {
		t.Fatalf("validate: %v %v", res, err)
	}
	res, err = a.CreatePartitions(ctx, map[string]int32{topic: 4})
	if err != nil || res[0].Err != nil {
		t.Fatalf("create partitions: %v %v", res, err)
	}
	topics, err := a.ListTopics(ctx, topic, "no-such-topic")
	if err != nil || len(topics) != 2 {
		t.Fatalf("list topics %+v %v", topics, err)
	}
	sort.Slice(topics, func(i, j int) bool { return topics[i].Name < topics[j].Name })
	if topics[0].Name != topic || topics[0].Err != nil || len(topics[0].Partitions) != 4 ||
		topics[0].Partitions[3].Leader != ci.Brokers[0].NodeID {
		t.Fatalf("topic %+v", topics[0])
	}
	if !errors.Is(topics[1].Err, samsa.ErrUnknownTopicOrPartition) {
		t.Fatalf("missing topic %+v", topics[1])
	}
	all, err := a.ListTopics(ctx)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, ti := range all {
		found = found || ti.Name == topic
		if ti.Internal {
			t.Fatalf("internal topic %s listed", ti.Name)
		}
	}
	if !found {
		t.Fatalf("%s not in %d topics", topic, len(all))
	}

	p := newProducer(t, nil)
	for i := 0; i < 5; i++ {
		err := p.ProduceSync(ctx, &samsa.Message{Topic: topic, Partition: 1,
			Value: []byte("x"), Timestamp: time.UnixMilli(int64(1000 + i))})
		if err != nil {
			t.Fatal(err)
		}
	}
	offs, err := a.ListOffsets(ctx,
		samsa.TopicPartition{Topic: topic, Partition: 1, Offset: samsa.OffsetSpecEarliest},
		samsa.TopicPartition{Topic: topic, Partition: 1, Offset: samsa.OffsetSpecLatest},
		samsa.TopicPartition{Topic: topic, Partition: 1, Offset: 1002},
		samsa.TopicPartition{Topic: topic, Partition: 9, Offset: samsa.OffsetSpecLatest})
	if err != nil {
		t.Fatal(err)
	}
	if offs[0].Offset != 0 || offs[1].Offset != 5 || offs[2].Offset != 2 ||
		!offs[2].Timestamp.Equal(time.UnixMilli(1002)) || offs[0].Err != nil {
		t.Fatalf("offsets %+v", offs)
	}
	if !errors.Is(offs[3].Err, samsa.ErrUnknownTopicOrPartition) {
		t.Fatalf("offsets of a missing partition: %+v", offs[3])
	}
	del, err := a.DeleteRecords(ctx, samsa.TopicPartition{Topic: topic, Partition: 1, Offset: 3})
	if err != nil || del[0].Err != nil || del[0].Offset != 3 {
		t.Fatalf("delete records %+v %v", del, err)
	}
	group := "admin-" + topic
	alt, err := a.AlterGroupOffsets(ctx, group, samsa.TopicPartition{Topic: topic, Partition: 1, Offset: 4})
	if err != nil || alt[0].Err != nil {
		t.Fatalf("alter group offsets %+v %v", alt, err)
	}
	gofs, err := a.ListGroupOffsets(ctx, group)
	if err != nil || len(gofs) != 1 || gofs[0].Offset != 4 || gofs[0].Partition != 1 {
		t.Fatalf("group offsets %+v %v", gofs, err)
	}

	res, err = a.DeleteTopics(ctx, topic, "no-such-topic")
	if err != nil || res[0].Err != nil {
		t.Fatalf("delete: %v %v", res, err)
	}
	var se *samsa.Error
	if !errors.As(res[1].Err, &se) || se.Code() != samsa.ErrUnknownTopicOrPartition || se.Message() == "" {
		t.Fatalf("delete of a missing topic: %v", res[1].Err)
	}
}

func TestErrors(t *testing.T) {
	_, err := samsa.NewProducer(map[string]string{"bootstrap.servers": broker.Bootstrap(), "acks": "sometimes"})
	var se *samsa.Error
	if !errors.As(err, &se) || se.Code() != samsa.ErrLocalInvalidConfig || !bytes.Contains([]byte(se.Error()), []byte("acks")) {
		t.Fatalf("bad acks: %v", err)
	}
	if !errors.Is(err, samsa.ErrLocalInvalidConfig) || errors.Is(err, samsa.ErrInvalidConfig) {
		t.Fatalf("errors.Is on %v", err)
	}
	if _, err := samsa.NewConsumer(map[string]string{"no.such.property": "1"}); !errors.As(err, &se) {
		t.Fatalf("unknown property: %v", err)
	}
	b, err := samsa.NewBroker(map[string]string{"log.dirs": t.TempDir(), "num.partitions": "many"})
	if b != nil {
		b.Close()
	}
	if !errors.As(err, &se) || !bytes.Contains([]byte(se.Message()), []byte("num.partitions")) {
		t.Fatalf("broker with a bad property: %v", err)
	}
	c := newConsumer(t, nil)
	if err := c.Subscribe("t"); !errors.Is(err, samsa.ErrLocalInvalidConfig) {
		t.Fatalf("subscribe without group.id: %v", err)
	}
	if err := c.Commit(testCtx(t)); !errors.As(err, &se) || se.Code() != samsa.ErrLocalInvalidConfig {
		t.Fatalf("commit without group.id: %v", err)
	}
	p := newProducer(t, map[string]string{"max.request.size": "1000"})
	err = p.Produce(testCtx(t), &samsa.Message{Topic: "t", Partition: samsa.AnyPartition, Value: make([]byte, 5000)})
	if !errors.Is(err, samsa.ErrLocalMsgTooLarge) {
		t.Fatalf("large message: %v", err)
	}
	if err := p.Produce(testCtx(t), &samsa.Message{Topic: "t", Partition: -7}); !errors.Is(err, samsa.ErrLocalInvalidArg) {
		t.Fatalf("partition -7: %v", err)
	}
	if err := p.Produce(testCtx(t), &samsa.Message{Topic: "t\x00u"}); !errors.Is(err, samsa.ErrLocalInvalidArg) {
		t.Fatalf("topic with NUL: %v", err)
	}
	err = p.Produce(testCtx(t), &samsa.Message{Topic: "t", Headers: []samsa.Header{{Value: []byte("x")}}})
	if !errors.Is(err, samsa.ErrLocalInvalidArg) {
		t.Fatalf("header without key: %v", err)
	}
	if samsa.ErrNotCoordinator.Name() != "NOT_COORDINATOR" || samsa.ErrLocalTimedOut.Name() != "_TIMED_OUT" ||
		!samsa.ErrLocalTimedOut.IsLocal() || samsa.ErrRequestTimedOut.IsLocal() {
		t.Fatal("error code names")
	}
	if samsa.Version() == "" {
		t.Fatal("no version")
	}
}

// A message that cannot be delivered comes back on Deliveries with its
// error once delivery.timeout.ms passes.
func TestDeliveryFailure(t *testing.T) {
	topic := newTopic(t, 1)
	p := newProducer(t, map[string]string{"delivery.timeout.ms": "1000", "request.timeout.ms": "500"})
	err := p.Produce(testCtx(t), &samsa.Message{Topic: topic, Partition: 5, Value: []byte("x"), Opaque: "x"})
	if err != nil {
		t.Fatal(err)
	}
	d := <-p.Deliveries()
	var se *samsa.Error
	if d.Message.Opaque != "x" || !errors.As(d.Err, &se) || se.Code() == samsa.ErrNone {
		t.Fatalf("delivery %+v", d)
	}
	t.Logf("failed delivery: %v", d.Err)
}

func TestContextAndClose(t *testing.T) {
	topic := newTopic(t, 1)
	c := newConsumer(t, nil)
	if err := c.Assign([]samsa.TopicPartition{{Topic: topic, Offset: samsa.OffsetBeginning}}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	go func() { time.Sleep(200 * time.Millisecond); cancel() }()
	if _, err := c.Poll(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled poll: %v", err)
	}
	if _, err := c.Poll(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("poll with a cancelled context: %v", err)
	}

	// Close makes a Poll in progress return.
	done := make(chan error)
	go func() {
		_, err := c.Poll(context.Background())
		done <- err
	}()
	time.Sleep(100 * time.Millisecond)
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-done; !errors.Is(err, samsa.ErrClosed) || !errors.Is(err, samsa.ErrLocalDestroyed) {
		t.Fatalf("poll during close: %v", err)
	}
	if err := c.Seek(topic, 0, 0); !errors.Is(err, samsa.ErrClosed) {
		t.Fatalf("seek after close: %v", err)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}

	p := newProducer(t, nil)
	if err := p.Produce(ctx, &samsa.Message{Topic: topic}); !errors.Is(err, context.Canceled) {
		t.Fatalf("produce with a cancelled context: %v", err)
	}
	if err := p.Produce(context.Background(), &samsa.Message{Topic: topic, Value: []byte("x")}); err != nil {
		t.Fatal(err)
	}
	if err := p.Flush(ctx); err != nil && !errors.Is(err, context.Canceled) {
		t.Fatalf("flush: %v", err)
	}
	p.Close()
	if _, ok := <-p.Deliveries(); !ok {
		t.Fatal("the report was not delivered before Close")
	}
	if _, ok := <-p.Deliveries(); ok {
		t.Fatal("Deliveries not closed")
	}
	if err := p.Produce(context.Background(), &samsa.Message{Topic: topic}); !errors.Is(err, samsa.ErrClosed) {
		t.Fatalf("produce after close: %v", err)
	}

	a := newAdmin(t)
	short, cancel2 := context.WithCancel(context.Background())
	cancel2()
	if _, err := a.ListTopics(short); !errors.Is(err, context.Canceled) {
		t.Fatalf("admin with a cancelled context: %v", err)
	}
	a.Close()
	if _, err := a.ListTopics(context.Background()); !errors.Is(err, samsa.ErrClosed) {
		t.Fatalf("admin after close: %v", err)
	}
}

// Several goroutines produce through one producer while another consumes.
func TestConcurrentProducers(t *testing.T) {
	topic := newTopic(t, 4)
	p := newProducer(t, nil, samsa.WithDeliveryReports(false))
	ctx := testCtx(t)
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < 250; i++ {
				n := strconv.Itoa(g*250 + i)
				m := &samsa.Message{Topic: topic, Partition: samsa.AnyPartition, Key: []byte("k-" + n),
					Value: []byte("v-" + n), Headers: []samsa.Header{{Key: "h", Value: []byte(n)}}}
				if err := p.Produce(ctx, m); err != nil {
					t.Error(err)
					return
				}
			}
		}(g)
	}
	wg.Wait()
	if err := p.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	c := newConsumer(t, map[string]string{"group.id": "g-" + topic})
	if err := c.Subscribe(topic); err != nil {
		t.Fatal(err)
	}
	checkMessages(t, pollN(t, c, 1000), 0, 1000)
}
