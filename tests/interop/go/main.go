// franzdriver: the franz-go driver of samsa's interoperability tests.
//
//	franzdriver produce BOOTSTRAP TOPIC N [BASE_MS]
//	franzdriver consume BOOTSTRAP TOPIC GROUP N TIMEOUT_S
//
// produce sends N records (key k-i, value v-i, header h=i, timestamp
// BASE_MS+i) with the default key partitioner (murmur2, as Java's) and
// idempotent writes (franz-go's default), waiting for every acknowledgement.
// consume joins GROUP, prints every record as one JSON line, commits each
// one after printing it, and leaves the group after N records; it exits 1
// when TIMEOUT_S passes first.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

const defaultBase = 1700000000000

type line struct {
	Partition int32       `json:"partition"`
	Offset    int64       `json:"offset"`
	Key       *string     `json:"key"`
	Value     *string     `json:"value"`
	Headers   [][2]string `json:"headers"`
	Timestamp int64       `json:"timestamp"`
}

func die(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "franzdriver: "+format+"\n", args...)
	os.Exit(1)
}

func atoi(s string) int64 {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		die("not a number: %q", s)
	}
	return n
}

func produce(bootstrap, topic string, n, base int64) {
	cl, err := kgo.NewClient(kgo.SeedBrokers(bootstrap), kgo.DefaultProduceTopic(topic),
		kgo.RequiredAcks(kgo.AllISRAcks()), kgo.ProducerLinger(5*time.Millisecond))
	if err != nil {
		die("client: %v", err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	recs := make([]*kgo.Record, 0, n)
	for i := int64(0); i < n; i++ {
		is := strconv.FormatInt(i, 10)
		recs = append(recs, &kgo.Record{
			Key:       []byte("k-" + is),
			Value:     []byte("v-" + is),
			Headers:   []kgo.RecordHeader{{Key: "h", Value: []byte(is)}},
			Timestamp: time.UnixMilli(base + i),
		})
	}
	if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		die("produce: %v", err)
	}
}

func str(b []byte) *string {
	if b == nil {
		return nil
	}
	s := string(b)
	return &s
}

func consume(bootstrap, topic, group string, n, timeoutS int64) {
	cl, err := kgo.NewClient(kgo.SeedBrokers(bootstrap), kgo.ConsumerGroup(group),
		kgo.ConsumeTopics(topic), kgo.DisableAutoCommit(),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		die("client: %v", err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Duration(timeoutS)*time.Second)
	defer cancel()
	enc := json.NewEncoder(os.Stdout)
	var got int64
	for got < n {
		fetches := cl.PollRecords(ctx, int(n-got))
		if ctx.Err() != nil {
			die("timeout after %d of %d records", got, n)
		}
		fetches.EachError(func(t string, p int32, err error) {
			fmt.Fprintf(os.Stderr, "franzdriver: fetch %s[%d]: %v\n", t, p, err)
		})
		var done []*kgo.Record
		fetches.EachRecord(func(r *kgo.Record) {
			l := line{Partition: r.Partition, Offset: r.Offset, Key: str(r.Key),
				Value: str(r.Value), Headers: [][2]string{}, Timestamp: r.Timestamp.UnixMilli()}
			for _, h := range r.Headers {
				l.Headers = append(l.Headers, [2]string{h.Key, string(h.Value)})
			}
			if err := enc.Encode(&l); err != nil {
				die("stdout: %v", err)
			}
			done = append(done, r)
		})
		if len(done) > 0 {
			if err := cl.CommitRecords(ctx, done...); err != nil {
				die("commit: %v", err)
			}
			got += int64(len(done))
		}
	}
}

func main() {
	a := os.Args[1:]
	switch {
	case len(a) >= 4 && len(a) <= 5 && a[0] == "produce":
		base := int64(defaultBase)
		if len(a) == 5 {
			base = atoi(a[4])
		}
		produce(a[1], a[2], atoi(a[3]), base)
	case len(a) == 6 && a[0] == "consume":
		consume(a[1], a[2], a[3], atoi(a[4]), atoi(a[5]))
	default:
		die("usage: franzdriver produce BOOTSTRAP TOPIC N [BASE_MS] | consume BOOTSTRAP TOPIC GROUP N TIMEOUT_S")
	}
}
