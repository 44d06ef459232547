// gobench: produces and consumes N 100-byte messages through the Go binding
// and through franz-go, against one samsa broker embedded in this process
// (in a temporary log dir), and prints for each direction
//
//	bench go-produce: samsa X msg/s | ref Y msg/s | ratio R
//
// (ratio = samsa / ref). Both clients run with the same settings: acks=all,
// idempotent, linger 5 ms, batches up to 1 MiB, no compression, 4
// partitions, null keys; each direction gets a fresh topic per client.
//
//	gobench [-n MESSAGES]
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"runtime/pprof"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	samsa "samsa/bindings/go"
)

const (
	valueSize  = 100
	partitions = 4
)

func die(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "gobench: "+format+"\n", args...)
	os.Exit(1)
}

func createTopic(bootstrap, name string) {
	a, err := samsa.NewAdmin(map[string]string{"bootstrap.servers": bootstrap})
	if err != nil {
		die("admin: %v", err)
	}
	defer a.Close()
	res, err := a.CreateTopics(context.Background(), samsa.NewTopic{Name: name, Partitions: partitions})
	if err != nil || res[0].Err != nil {
		die("create %s: %v %v", name, err, res)
	}
}

func samsaProduce(bootstrap, topic string, n int) time.Duration {
	p, err := samsa.NewProducer(map[string]string{
		"bootstrap.servers": bootstrap, "acks": "all", "enable.idempotence": "true",
		"linger.ms": "5", "batch.size": "1048576", "compression.type": "none",
	}, samsa.WithDeliveryReports(false))
	if err != nil {
		die("producer: %v", err)
	}
	defer p.Close()
	ctx := context.Background()
	value := make([]byte, valueSize)
	start := time.Now()
	for i := 0; i < n; i++ {
		if err := p.Produce(ctx, &samsa.Message{Topic: topic, Partition: samsa.AnyPartition, Value: value}); err != nil {
			die("produce: %v", err)
		}
	}
	if err := p.Flush(ctx); err != nil {
		die("flush: %v", err)
	}
	return time.Since(start)
}

func samsaConsume(bootstrap, topic string, n int) time.Duration {
	c, err := samsa.NewConsumer(map[string]string{"bootstrap.servers": bootstrap})
	if err != nil {
		die("consumer: %v", err)
	}
	defer c.Close()
	var parts []samsa.TopicPartition
	for i := int32(0); i < partitions; i++ {
		parts = append(parts, samsa.TopicPartition{Topic: topic, Partition: i, Offset: samsa.OffsetBeginning})
	}
	start := time.Now()
	if err := c.Assign(parts); err != nil {
		die("assign: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	for got := 0; got < n; got++ {
		m, err := c.Poll(ctx)
		if err != nil {
			die("poll after %d: %v", got, err)
		}
		if len(m.Value) != valueSize {
			die("a message of %d bytes", len(m.Value))
		}
	}
	return time.Since(start)
}

func franzClient(bootstrap string, opts ...kgo.Opt) *kgo.Client {
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(bootstrap)}, opts...)...)
	if err != nil {
		die("franz-go: %v", err)
	}
	return cl
}

func franzProduce(bootstrap, topic string, n int) time.Duration {
	cl := franzClient(bootstrap, kgo.RequiredAcks(kgo.AllISRAcks()), kgo.ProducerLinger(5*time.Millisecond),
		kgo.ProducerBatchMaxBytes(1<<20), kgo.ProducerBatchCompression(kgo.NoCompression()),
		kgo.MaxBufferedRecords(100000))
	defer cl.Close()
	ctx := context.Background()
	value := make([]byte, valueSize)
	failed := make(chan error, 1)
	start := time.Now()
	for i := 0; i < n; i++ {
		cl.Produce(ctx, &kgo.Record{Topic: topic, Value: value}, func(_ *kgo.Record, err error) {
			if err != nil {
				select {
				case failed <- err:
				default:
				}
			}
		})
	}
	if err := cl.Flush(ctx); err != nil {
		die("franz-go flush: %v", err)
	}
	d := time.Since(start)
	select {
	case err := <-failed:
		die("franz-go produce: %v", err)
	default:
	}
	return d
}

func franzConsume(bootstrap, topic string, n int) time.Duration {
	offsets := map[int32]kgo.Offset{}
	for i := int32(0); i < partitions; i++ {
		offsets[i] = kgo.NewOffset().AtStart()
	}
	start := time.Now()
	cl := franzClient(bootstrap, kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: offsets}))
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	got := 0
	for got < n {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			die("franz-go consumed %d of %d", got, n)
		}
		fs.EachError(func(t string, p int32, err error) { die("franz-go fetch %s[%d]: %v", t, p, err) })
		fs.EachRecord(func(r *kgo.Record) {
			if len(r.Value) != valueSize {
				die("a record of %d bytes", len(r.Value))
			}
			got++
		})
	}
	return time.Since(start)
}

func rate(n int, d time.Duration) float64 { return float64(n) / d.Seconds() }

func report(name string, n int, s, ref time.Duration) {
	fmt.Printf("bench %s: samsa %.0f msg/s | ref %.0f msg/s | ratio %.2f\n",
		name, rate(n, s), rate(n, ref), rate(n, s)/rate(n, ref))
}

func main() {
	n := flag.Int("n", 1000000, "messages per client and direction")
	profile := flag.String("cpuprofile", "", "write a CPU profile of the run to this file")
	flag.Parse()
	if *profile != "" {
		f, err := os.Create(*profile)
		if err != nil {
			die("%v", err)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			die("%v", err)
		}
		defer pprof.StopCPUProfile()
	}
	dir, err := os.MkdirTemp("", "samsa-gobench-")
	if err != nil {
		die("%v", err)
	}
	defer os.RemoveAll(dir)
	b, err := samsa.NewBroker(map[string]string{"log.dirs": dir, "listeners": "PLAINTEXT://127.0.0.1:0"})
	if err != nil {
		die("broker: %v", err)
	}
	defer b.Close()
	bs := b.Bootstrap()
	createTopic(bs, "bench-samsa")
	createTopic(bs, "bench-franz")
	fmt.Printf("bench go: %d messages of %d bytes per client, broker %s (embedded, %s)\n",
		*n, valueSize, bs, samsa.Version())
	// Alternate the clients so that neither always runs on a warmer machine.
	fp := franzProduce(bs, "bench-franz", *n)
	sp := samsaProduce(bs, "bench-samsa", *n)
	report("go-produce", *n, sp, fp)
	sc := samsaConsume(bs, "bench-samsa", *n)
	fc := franzConsume(bs, "bench-franz", *n)
	report("go-consume", *n, sc, fc)
}
