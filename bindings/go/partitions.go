package samsa

// #include "shim.h"
import "C"

import (
	"context"
	"time"
	"unsafe"
)

// cPartitions is a samsa_partition_list_t whose items and topic strings
// are C memory owned by the Go side (freed with free).
type cPartitions struct {
	list C.samsa_partition_list_t
}

func newCPartitions(parts []TopicPartition) *cPartitions {
	cp := &cPartitions{}
	if len(parts) == 0 {
		return cp
	}
	items := (*C.samsa_topic_partition_t)(C.samsa_go_calloc(C.size_t(len(parts)),
		C.size_t(unsafe.Sizeof(C.samsa_topic_partition_t{}))))
	if items == nil {
		panic("samsa: out of memory")
	}
	s := unsafe.Slice(items, len(parts))
	for i, tp := range parts {
		s[i].topic = C.CString(tp.Topic)
		s[i].partition = C.int32_t(tp.Partition)
		s[i].offset = C.int64_t(tp.Offset)
	}
	cp.list.items = items
	cp.list.count = C.size_t(len(parts))
	return cp
}

func (cp *cPartitions) ptr() *C.samsa_partition_list_t { return &cp.list }

func (cp *cPartitions) free() {
	if cp.list.items == nil {
		return
	}
	for _, it := range unsafe.Slice(cp.list.items, int(cp.list.count)) {
		C.free(unsafe.Pointer(it.topic))
	}
	C.free(unsafe.Pointer(cp.list.items))
	cp.list.items = nil
	cp.list.count = 0
}

// goPartitions copies a C list into Go values; each entry's err becomes an
// *Error (nil for none).
func goPartitions(l *C.samsa_partition_list_t) []TopicPartition {
	if l == nil || l.count == 0 {
		return nil
	}
	items := unsafe.Slice(l.items, int(l.count))
	out := make([]TopicPartition, len(items))
	for i, it := range items {
		out[i] = TopicPartition{
			Topic:     C.GoString(it.topic),
			Partition: int32(it.partition),
			Offset:    int64(it.offset),
			Err:       newError(ErrorCode(it.err), ""),
		}
	}
	return out
}

// timeoutMs is the time left before ctx's deadline in milliseconds
// (rounded up, at least 1), or def when ctx has none.
func timeoutMs(ctx context.Context, def time.Duration) C.int {
	d := def
	if dl, ok := ctx.Deadline(); ok {
		d = time.Until(dl)
	}
	ms := (d + time.Millisecond - 1) / time.Millisecond
	if ms < 1 {
		ms = 1
	}
	if ms > 1<<30 {
		ms = 1 << 30
	}
	return C.int(ms)
}

// goBytes copies n bytes at p into Go memory; nil for a NULL p.
func goBytes(p unsafe.Pointer, n C.size_t) []byte {
	if p == nil {
		return nil
	}
	b := make([]byte, int(n))
	copy(b, unsafe.Slice((*byte)(p), int(n)))
	return b
}

// goStringOrEmpty is C.GoString that maps NULL to "".
func goStringOrEmpty(s *C.char) string {
	if s == nil {
		return ""
	}
	return C.GoString(s)
}
