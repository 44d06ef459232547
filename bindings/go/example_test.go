package samsa_test

import (
	"context"
	"fmt"
	"log"
	"os"

	samsa "samsa/bindings/go"
)

// The README's quick start: an embedded broker, a topic, one message
// produced and read back by a consumer group.
func Example() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "samsa")
	defer os.RemoveAll(dir)

	b, err := samsa.NewBroker(map[string]string{
		"log.dirs": dir, "listeners": "PLAINTEXT://127.0.0.1:0"})
	if err != nil {
		log.Fatal(err)
	}
	defer b.Close()

	a, _ := samsa.NewAdmin(map[string]string{"bootstrap.servers": b.Bootstrap()})
	defer a.Close()
	if _, err := a.CreateTopics(ctx, samsa.NewTopic{Name: "greetings", Partitions: 3}); err != nil {
		log.Fatal(err)
	}

	p, _ := samsa.NewProducer(map[string]string{"bootstrap.servers": b.Bootstrap()})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for d := range p.Deliveries() {
			if d.Err != nil {
				log.Printf("not delivered: %v", d.Err)
			}
		}
	}()
	p.Produce(ctx, &samsa.Message{Topic: "greetings", Partition: samsa.AnyPartition,
		Key: []byte("k"), Value: []byte("hello")})
	p.Flush(ctx)
	p.Close()
	<-done

	c, _ := samsa.NewConsumer(map[string]string{"bootstrap.servers": b.Bootstrap(),
		"group.id": "readers", "auto.offset.reset": "earliest"})
	defer c.Close()
	c.Subscribe("greetings")
	m, err := c.Poll(ctx)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%s@%d: %s\n", m.Topic, m.Offset, m.Value)
	if err := c.Commit(ctx); err != nil {
		log.Fatal(err)
	}
	// Output: greetings@0: hello
}
