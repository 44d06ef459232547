package samsa_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	samsa "samsa/bindings/go"
)

// A message produced through the binding is read by franz-go through
// samsa's broker, and the other way round.
func TestFranzInterop(t *testing.T) {
	ctx := testCtx(t)
	topic := newTopic(t, 2)
	ts := time.UnixMilli(1700000000000)

	// samsa -> franz-go
	p := newProducer(t, nil, samsa.WithDeliveryReports(false))
	for i := 0; i < 20; i++ {
		s := strconv.Itoa(i)
		m := &samsa.Message{Topic: topic, Partition: samsa.AnyPartition, Key: []byte("k-" + s),
			Value: []byte("v-" + s), Headers: []samsa.Header{{Key: "h", Value: []byte(s)}},
			Timestamp: ts.Add(time.Duration(i) * time.Millisecond)}
		if err := p.Produce(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	if err := p.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(broker.Bootstrap()), kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	var got []*samsa.Message
	for len(got) < 20 {
		fs := cl.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			t.Fatalf("franz-go read %d of 20", len(got))
		}
		fs.EachError(func(topic string, part int32, err error) { t.Fatalf("fetch %s[%d]: %v", topic, part, err) })
		fs.EachRecord(func(r *kgo.Record) {
			m := &samsa.Message{Topic: r.Topic, Partition: r.Partition, Offset: r.Offset,
				Key: r.Key, Value: r.Value, Timestamp: r.Timestamp}
			for _, h := range r.Headers {
				m.Headers = append(m.Headers, samsa.Header{Key: h.Key, Value: h.Value})
			}
			i, _ := strconv.Atoi(string(r.Value[2:]))
			if !r.Timestamp.Equal(ts.Add(time.Duration(i) * time.Millisecond)) {
				t.Fatalf("timestamp %v of %q", r.Timestamp, r.Value)
			}
			got = append(got, m)
		})
	}
	checkMessages(t, got, 0, 20)

	// franz-go -> samsa (franz-go's default producer: idempotent, murmur2
	// key partitioning as the binding's).
	where := map[string]int32{}
	for _, m := range got {
		where[string(m.Key)] = m.Partition
	}
	var recs []*kgo.Record
	for i := 20; i < 40; i++ {
		s := strconv.Itoa(i)
		recs = append(recs, &kgo.Record{Topic: topic, Key: []byte("k-" + s), Value: []byte("v-" + s),
			Headers: []kgo.RecordHeader{{Key: "h", Value: []byte(s)}}})
	}
	recs = append(recs, &kgo.Record{Topic: topic, Key: []byte("k-3"), Value: []byte("v-3")})
	if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}
	c := newConsumer(t, map[string]string{"group.id": "franz-" + topic})
	if err := c.Subscribe(topic); err != nil {
		t.Fatal(err)
	}
	msgs := pollN(t, c, 41)
	var fromFranz []*samsa.Message
	for _, m := range msgs {
		if string(m.Key) == "k-3" && len(m.Headers) == 0 {
			if m.Partition != where["k-3"] {
				t.Fatalf("franz-go put k-3 in %d, the binding in %d", m.Partition, where["k-3"])
			}
			continue
		}
		if n, _ := strconv.Atoi(string(m.Value[2:])); n >= 20 {
			fromFranz = append(fromFranz, m)
		}
	}
	checkMessages(t, fromFranz, 20, 20)
	ctx2, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancel()
	if m, err := c.Poll(ctx2); err == nil {
		t.Fatalf("extra message %+v", m)
	}
}
