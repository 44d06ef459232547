package samsa

// #include "shim.h"
import "C"

import (
	"context"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"
)

// Delivery is the outcome of one produced message: Err is nil when the
// message is written, and then Message.Partition, Offset and Timestamp say
// where and when.
type Delivery struct {
	Message *Message
	Err     error
}

// ProducerOption tunes the Go side of a producer (libsamsa's own settings
// go in the configuration map).
type ProducerOption func(*producerOptions)

type producerOptions struct {
	reports     bool
	channelSize int
}

// WithDeliveryReports turns the Deliveries channel on (the default) or off.
// Without it the outcome of a message sent with Produce is only visible
// through Flush, which returns the first failure since the previous Flush.
func WithDeliveryReports(on bool) ProducerOption {
	return func(o *producerOptions) { o.reports = on }
}

// WithDeliveryChannelSize sets the capacity of the Deliveries channel
// (default 4096).
func WithDeliveryChannelSize(n int) ProducerOption {
	return func(o *producerOptions) {
		if n >= 0 {
			o.channelSize = n
		}
	}
}

// pending is a message produced and not yet reported.
type pending struct {
	msg  *Message
	done chan error // ProduceSync's; nil for Produce
}

// Producer sends messages to topics. Produce queues a message; a goroutine
// of the producer serves libsamsa's delivery reports (on a thread of its
// own, no C code calls into Go) and hands each outcome to the Deliveries
// channel or to the ProduceSync call waiting for it.
//
// When delivery reports are on (the default), the application must keep
// receiving from Deliveries: once the channel is full, reports wait, the
// producer's queue fills up and Produce, Flush and Close wait too.
//
// All methods may be called from any goroutine.
type Producer struct {
	c       *C.samsa_producer_t
	reports *C.samsa_go_reports_t

	mu        sync.Mutex
	closed    bool
	pending   map[uint64]*pending
	untracked int // messages produced with id 0 and not yet reported
	nextID    uint64
	progress  chan struct{} // closed (and replaced) whenever reports were served
	firstErr  error         // first failure since Flush, without Deliveries
	topics    map[string]*C.char

	calls      sync.WaitGroup // Produce calls in C
	flushers   atomic.Int32
	deliveries chan *Delivery
	stop       chan struct{}
	done       chan struct{}
	closeOnce  sync.Once
}

// pollInterval bounds how long a C call waits before the Go side looks at
// cancellation and shutdown again.
const pollInterval = 100 * time.Millisecond

// NewProducer makes a producer from Kafka-style properties
// (bootstrap.servers, acks, linger.ms, compression.type, ...; see samsa.h)
// and starts it. A property libsamsa rejects fails with an *Error naming it.
func NewProducer(cfg map[string]string, opts ...ProducerOption) (*Producer, error) {
	o := producerOptions{reports: true, channelSize: 4096}
	for _, opt := range opts {
		opt(&o)
	}
	reports := C.samsa_go_reports_new()
	if reports == nil {
		return nil, newError(ErrLocalNoMem, "")
	}
	var c *C.samsa_producer_t
	err := construct(cfg, "producer", func(k, v **C.char, n C.size_t, e *C.char, el C.size_t) bool {
		c = C.samsa_go_producer_new(k, v, n, reports, e, el)
		return c != nil
	})
	if err != nil {
		C.samsa_go_reports_free(reports)
		return nil, err
	}
	p := &Producer{
		c:        c,
		reports:  reports,
		pending:  make(map[uint64]*pending),
		progress: make(chan struct{}),
		topics:   make(map[string]*C.char),
		stop:     make(chan struct{}),
		done:     make(chan struct{}),
	}
	if o.reports {
		p.deliveries = make(chan *Delivery, o.channelSize)
	}
	go p.serve()
	return p, nil
}

// Deliveries is the channel of delivery reports of messages sent with
// Produce, closed by Close; nil when reports were turned off.
func (p *Producer) Deliveries() <-chan *Delivery { return p.deliveries }

// Produce queues m (see Message) and returns once libsamsa has it: its
// outcome comes later on Deliveries. When the producer's queue is full it
// waits for room until ctx ends (ctx.Err() then). Other failures (an
// invalid message, a message larger than max.request.size, a closed
// producer) are returned at once and no report follows.
func (p *Producer) Produce(ctx context.Context, m *Message) error {
	return p.produce(ctx, m, nil)
}

// ProduceSync produces m and waits for its delivery report, returning its
// outcome (the report does not go to Deliveries). When ctx ends first it
// returns ctx.Err(); the message may still be delivered.
func (p *Producer) ProduceSync(ctx context.Context, m *Message) error {
	done := make(chan error, 1)
	if err := p.produce(ctx, m, done); err != nil {
		return err
	}
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// topicC is topic as a C string kept for the producer's life; p.mu held.
func (p *Producer) topicC(topic string) *C.char {
	t, ok := p.topics[topic]
	if !ok {
		t = C.CString(topic)
		p.topics[topic] = t
	}
	return t
}

func (p *Producer) produce(ctx context.Context, m *Message, done chan error) error {
	if m == nil {
		return errorf(ErrLocalInvalidArg, "produce: nil message")
	}
	if strings.IndexByte(m.Topic, 0) >= 0 {
		return errorf(ErrLocalInvalidArg, "produce: the topic name %q has a NUL byte", m.Topic)
	}
	for _, h := range m.Headers {
		if len(h.Key) == 0 || strings.IndexByte(h.Key, 0) >= 0 {
			return errorf(ErrLocalInvalidArg, "produce: header key %q is empty or has a NUL byte", h.Key)
		}
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return closedError()
	}
	// A message nobody waits for is only counted (id 0); the others are
	// kept by id until their report.
	var id uint64
	if done != nil || p.deliveries != nil {
		p.nextID++
		id = p.nextID
		p.pending[id] = &pending{msg: m, done: done}
	} else {
		p.untracked++
	}
	topic := p.topicC(m.Topic)
	p.calls.Add(1)
	p.mu.Unlock()
	defer p.calls.Done()

	hdrs, nh := cHeaders(m.Headers)
	defer freeHeaders(hdrs, nh)
	var ts int64
	if !m.Timestamp.IsZero() {
		ts = m.Timestamp.UnixMilli()
	}
	key := unsafe.Pointer(unsafe.SliceData(m.Key))
	value := unsafe.Pointer(unsafe.SliceData(m.Value))
	send := func() C.samsa_err_t {
		return C.samsa_go_send(p.c, topic, C.int32_t(m.Partition), key, C.size_t(len(m.Key)),
			value, C.size_t(len(m.Value)), hdrs, C.size_t(nh), C.int64_t(ts), C.uint64_t(id))
	}
	rc := send()
	for ErrorCode(rc) == ErrLocalQueueFull {
		// Wait for reports to make room: look at progress first, then try
		// again, so that a report served in between is not missed.
		p.mu.Lock()
		progress := p.progress
		p.mu.Unlock()
		if rc = send(); ErrorCode(rc) != ErrLocalQueueFull {
			break
		}
		select {
		case <-progress:
		case <-time.After(pollInterval):
		case <-ctx.Done():
			p.forget(id)
			return ctx.Err()
		}
		rc = send()
	}
	if rc != 0 {
		p.forget(id)
		return codeErr(rc, "produce to "+m.Topic)
	}
	return nil
}

// forget drops a message that was not queued after all.
func (p *Producer) forget(id uint64) {
	p.mu.Lock()
	if id == 0 {
		p.untracked--
	} else {
		delete(p.pending, id)
	}
	p.mu.Unlock()
}

// cHeaders copies headers into C memory (NULL for none).
func cHeaders(hs []Header) (*C.samsa_header_t, int) {
	if len(hs) == 0 {
		return nil, 0
	}
	arr := (*C.samsa_header_t)(C.samsa_go_calloc(C.size_t(len(hs)), C.size_t(unsafe.Sizeof(C.samsa_header_t{}))))
	if arr == nil {
		panic("samsa: out of memory")
	}
	s := unsafe.Slice(arr, len(hs))
	for i, h := range hs {
		s[i].name = C.CString(h.Key)
		if h.Value != nil {
			s[i].value = C.CBytes(h.Value)
			s[i].value_len = C.size_t(len(h.Value))
		}
	}
	return arr, len(hs)
}

func freeHeaders(arr *C.samsa_header_t, n int) {
	if arr == nil {
		return
	}
	for _, h := range unsafe.Slice(arr, n) {
		C.free(unsafe.Pointer(h.name))
		C.free(h.value)
	}
	C.free(unsafe.Pointer(arr))
}

// serve is the producer's goroutine: it waits for delivery reports in C
// (flushing while someone waits in Flush) and dispatches them.
func (p *Producer) serve() {
	defer close(p.done)
	ms := C.int(pollInterval / time.Millisecond)
	for {
		select {
		case <-p.stop:
			return
		default:
		}
		if p.flushers.Load() > 0 {
			C.samsa_producer_flush(p.c, ms)
		} else {
			C.samsa_producer_poll(p.c, ms)
		}
		p.dispatch()
	}
}

// dispatch hands the collected reports to their waiters; called by one
// goroutine at a time.
func (p *Producer) dispatch() {
	var items *C.samsa_go_report_t
	var lost C.size_t
	n := int(C.samsa_go_reports_take(p.reports, &items, &lost))
	if lost > 0 {
		panic("samsa: out of memory recording delivery reports")
	}
	if n == 0 {
		return
	}
	reps := unsafe.Slice(items, n)
	done := make([]*pending, n)
	p.mu.Lock()
	for i := range reps {
		id := uint64(reps[i].id)
		if id == 0 {
			p.untracked--
			continue
		}
		done[i] = p.pending[id]
		delete(p.pending, id)
	}
	p.mu.Unlock()
	for i := range reps {
		r := &reps[i]
		pd := done[i]
		var err error
		if r.err != 0 {
			err = newError(ErrorCode(r.err), C.GoString(r.errstr))
		}
		if pd == nil {
			if err != nil {
				p.mu.Lock()
				if p.firstErr == nil {
					p.firstErr = err
				}
				p.mu.Unlock()
			}
			continue
		}
		m := pd.msg
		m.Partition = int32(r.partition)
		m.Offset = int64(r.offset)
		if r.timestamp_ms > 0 {
			m.Timestamp = time.UnixMilli(int64(r.timestamp_ms))
		}
		switch {
		case pd.done != nil:
			pd.done <- err
		default:
			p.deliveries <- &Delivery{Message: m, Err: err}
		}
	}
	C.samsa_go_report_batch_free(items, C.size_t(n))
	p.mu.Lock()
	close(p.progress)
	p.progress = make(chan struct{})
	p.mu.Unlock()
}

// Outstanding is the number of messages produced and not yet reported.
func (p *Producer) Outstanding() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.pending) + p.untracked
}

// Flush sends every queued message at once (ignoring linger.ms) and waits
// until all messages produced so far (by any goroutine) are reported, or ctx
// ends (ctx.Err()). With delivery reports off it returns the first delivery
// failure since the previous Flush.
func (p *Producer) Flush(ctx context.Context) error {
	p.flushers.Add(1)
	defer p.flushers.Add(-1)
	for {
		p.mu.Lock()
		n := len(p.pending) + p.untracked
		progress := p.progress
		var err error
		if n == 0 {
			err = p.firstErr
			p.firstErr = nil
		}
		p.mu.Unlock()
		if n == 0 {
			return err
		}
		select {
		case <-progress:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// Close stops accepting messages, waits until every message produced is
// reported (within the producer's delivery.timeout.ms), closes Deliveries
// and frees the producer. Call it once nothing else uses the producer;
// later calls do nothing.
func (p *Producer) Close() {
	p.closeOnce.Do(func() {
		p.mu.Lock()
		p.closed = true
		p.mu.Unlock()
		p.calls.Wait()
		_ = p.Flush(context.Background())
		close(p.stop)
		<-p.done
		C.samsa_producer_close(p.c, 0)
		p.dispatch()
		C.samsa_producer_free(p.c)
		C.samsa_go_reports_free(p.reports)
		p.mu.Lock()
		for _, t := range p.topics {
			C.free(unsafe.Pointer(t))
		}
		p.topics = nil
		p.mu.Unlock()
		if p.deliveries != nil {
			close(p.deliveries)
		}
	})
}
