package samsa

// #include "shim.h"
import "C"

import (
	"context"
	"time"
	"unsafe"
)

// Admin manages topics, partitions, records and groups. Every method
// waits for the cluster's answer until ctx's deadline (60 s when ctx has
// none) and returns ctx.Err() when ctx ends first. Methods may be called
// from any goroutine, also concurrently.
//
// A method's error concerns the whole request; per-item outcomes are in
// each result's Err (nil for success).
type Admin struct {
	a    *C.samsa_admin_t
	life lifecycle
}

// defaultAdminTimeout applies when ctx has no deadline.
const defaultAdminTimeout = 60 * time.Second

// NewAdmin makes an admin client from Kafka-style properties
// (bootstrap.servers, client.id, request.timeout.ms, ...).
func NewAdmin(cfg map[string]string) (*Admin, error) {
	a := &Admin{}
	err := construct(cfg, "admin", func(k, v **C.char, n C.size_t, e *C.char, el C.size_t) bool {
		a.a = C.samsa_admin_new_kv(k, v, n, e, el)
		return a.a != nil
	})
	if err != nil {
		return nil, err
	}
	return a, nil
}

// Close frees the admin client once calls in progress have returned.
func (a *Admin) Close() {
	if a.life.shut() {
		C.samsa_admin_free(a.a)
	}
}

// call runs f (on a goroutine locked to its thread, so that f may read
// samsa_admin_last_error) with the timeout ctx allows.
func (a *Admin) call(ctx context.Context, f func(timeout C.int) error) error {
	timeout := timeoutMs(ctx, defaultAdminTimeout)
	return a.life.background(ctx, func() error { return f(timeout) })
}

// callFor is call for f returning a result.
func callFor[T any](a *Admin, ctx context.Context, f func(timeout C.int) (T, error)) (T, error) {
	var out T
	err := a.call(ctx, func(timeout C.int) error {
		var err error
		out, err = f(timeout)
		return err
	})
	if err != nil {
		var zero T
		return zero, err
	}
	return out, nil
}

// topicResults is the outcome of a topic request: n results (freed here)
// or the whole call's error.
func topicResults(rc C.samsa_err_t, what string, res *C.samsa_topic_result_t, n int) ([]TopicResult, error) {
	if err := adminErr(rc, what); err != nil {
		return nil, err
	}
	defer C.samsa_topic_results_free(res)
	return goTopicResults(res, n), nil
}

// adminErr is the error of a failed admin call, with the library's reason;
// call it on the thread that made the call.
func adminErr(rc C.samsa_err_t, what string) error {
	if rc == 0 {
		return nil
	}
	msg := C.GoString(C.samsa_admin_last_error())
	if msg == "" {
		msg = ErrorCode(rc).Error()
	}
	return newError(ErrorCode(rc), what+": "+msg)
}

// NewTopic describes a topic to create. Partitions and ReplicationFactor
// 0 take the broker's defaults.
type NewTopic struct {
	Name              string
	Partitions        int32
	ReplicationFactor int16
	Configs           map[string]string
}

// TopicResult is the outcome of one topic of a request.
type TopicResult struct {
	Topic string
	Err   error
}

func goTopicResults(r *C.samsa_topic_result_t, n int) []TopicResult {
	out := make([]TopicResult, n)
	for i, it := range unsafe.Slice(r, n) {
		out[i] = TopicResult{Topic: C.GoString(it.topic),
			Err: newError(ErrorCode(it.err), goStringOrEmpty(it.errstr))}
	}
	return out
}

// cArena collects C allocations made to build a request, freed together.
type cArena struct{ ptrs []unsafe.Pointer }

func (ar *cArena) str(s string) *C.char {
	p := C.CString(s)
	ar.ptrs = append(ar.ptrs, unsafe.Pointer(p))
	return p
}

func (ar *cArena) alloc(n int, size uintptr) unsafe.Pointer {
	if n == 0 {
		return nil
	}
	p := C.samsa_go_calloc(C.size_t(n), C.size_t(size))
	if p == nil {
		panic("samsa: out of memory")
	}
	ar.ptrs = append(ar.ptrs, p)
	return p
}

func (ar *cArena) free() {
	for _, p := range ar.ptrs {
		C.free(p)
	}
	ar.ptrs = nil
}

func (ar *cArena) strs(ss []string) **C.char {
	p := (**C.char)(ar.alloc(len(ss), unsafe.Sizeof((*C.char)(nil))))
	if p == nil {
		return nil
	}
	arr := unsafe.Slice(p, len(ss))
	for i, s := range ss {
		arr[i] = ar.str(s)
	}
	return p
}

func orDefault32(v int32) C.int32_t {
	if v == 0 {
		return -1
	}
	return C.int32_t(v)
}

func orDefault16(v int16) C.int16_t {
	if v == 0 {
		return -1
	}
	return C.int16_t(v)
}

// CreateTopics creates topics; with ValidateOnly only checks that they
// could be created.
func (a *Admin) CreateTopics(ctx context.Context, topics ...NewTopic) ([]TopicResult, error) {
	return a.createTopics(ctx, topics, false)
}

// ValidateTopics checks that topics could be created, without creating them.
func (a *Admin) ValidateTopics(ctx context.Context, topics ...NewTopic) ([]TopicResult, error) {
	return a.createTopics(ctx, topics, true)
}

func (a *Admin) createTopics(ctx context.Context, topics []NewTopic, validate bool) ([]TopicResult, error) {
	return callFor(a, ctx, func(timeout C.int) ([]TopicResult, error) {
		var ar cArena
		defer ar.free()
		nt := (*C.samsa_new_topic_t)(ar.alloc(len(topics), unsafe.Sizeof(C.samsa_new_topic_t{})))
		for i, t := range topics {
			e := &unsafe.Slice(nt, len(topics))[i]
			e.name = ar.str(t.Name)
			e.partitions = orDefault32(t.Partitions)
			e.replication_factor = orDefault16(t.ReplicationFactor)
			if len(t.Configs) > 0 {
				cfgs := (*C.samsa_topic_config_t)(ar.alloc(len(t.Configs), unsafe.Sizeof(C.samsa_topic_config_t{})))
				s := unsafe.Slice(cfgs, len(t.Configs))
				j := 0
				for k, v := range t.Configs {
					s[j].name = ar.str(k)
					s[j].value = ar.str(v)
					j++
				}
				e.configs = cfgs
				e.config_count = C.size_t(len(t.Configs))
			}
		}
		var res *C.samsa_topic_result_t
		rc := C.samsa_admin_create_topics(a.a, nt, C.size_t(len(topics)), cBool(validate), timeout, &res)
		return topicResults(rc, "create topics", res, len(topics))
	})
}

// DeleteTopics deletes topics (ErrUnknownTopicOrPartition for a topic that
// does not exist).
func (a *Admin) DeleteTopics(ctx context.Context, topics ...string) ([]TopicResult, error) {
	return callFor(a, ctx, func(timeout C.int) ([]TopicResult, error) {
		var ar cArena
		defer ar.free()
		var res *C.samsa_topic_result_t
		rc := C.samsa_admin_delete_topics(a.a, ar.strs(topics), C.size_t(len(topics)), timeout, &res)
		return topicResults(rc, "delete topics", res, len(topics))
	})
}

// CreatePartitions grows each topic of counts (topic name to partition
// count afterwards).
func (a *Admin) CreatePartitions(ctx context.Context, counts map[string]int32) ([]TopicResult, error) {
	return callFor(a, ctx, func(timeout C.int) ([]TopicResult, error) {
		var ar cArena
		defer ar.free()
		np := (*C.samsa_new_partitions_t)(ar.alloc(len(counts), unsafe.Sizeof(C.samsa_new_partitions_t{})))
		s := unsafe.Slice(np, len(counts))
		i := 0
		for t, n := range counts {
			s[i].topic = ar.str(t)
			s[i].total_count = C.int32_t(n)
			i++
		}
		var res *C.samsa_topic_result_t
		rc := C.samsa_admin_create_partitions(a.a, np, C.size_t(len(counts)), 0, timeout, &res)
		return topicResults(rc, "create partitions", res, len(counts))
	})
}

// BrokerInfo is one broker of the cluster.
type BrokerInfo struct {
	NodeID int32
	Host   string
	Port   int
	Rack   string // "" when none
}

// PartitionInfo is one partition of a topic as Metadata says.
type PartitionInfo struct {
	Partition       int32
	Err             error
	Leader          int32 // -1: none
	LeaderEpoch     int32
	Replicas        []int32
	ISR             []int32
	OfflineReplicas []int32
}

// TopicInfo is one topic as Metadata says (Err ErrUnknownTopicOrPartition
// for a topic that does not exist).
type TopicInfo struct {
	Name       string
	ID         [16]byte // all zero when the broker does not say
	Internal   bool
	Err        error
	Partitions []PartitionInfo
}

// ClusterInfo is the cluster as Metadata says.
type ClusterInfo struct {
	ClusterID    string
	ControllerID int32 // -1: unknown
	Brokers      []BrokerInfo
	Topics       []TopicInfo
}

func goInt32s(p *C.int32_t, n C.size_t) []int32 {
	out := make([]int32, int(n))
	if n > 0 {
		for i, v := range unsafe.Slice(p, int(n)) {
			out[i] = int32(v)
		}
	}
	return out
}

func goClusterInfo(ci *C.samsa_cluster_info_t) *ClusterInfo {
	out := &ClusterInfo{ClusterID: goStringOrEmpty(ci.cluster_id), ControllerID: int32(ci.controller_id)}
	if ci.broker_count > 0 {
		for _, b := range unsafe.Slice(ci.brokers, int(ci.broker_count)) {
			out.Brokers = append(out.Brokers, BrokerInfo{NodeID: int32(b.node_id),
				Host: goStringOrEmpty(b.host), Port: int(b.port), Rack: goStringOrEmpty(b.rack)})
		}
	}
	if ci.topic_count > 0 {
		for _, t := range unsafe.Slice(ci.topics, int(ci.topic_count)) {
			ti := TopicInfo{Name: C.GoString(t.name), Internal: t.internal != 0,
				Err: newError(ErrorCode(t.err), goStringOrEmpty(t.errstr))}
			for i := range ti.ID {
				ti.ID[i] = byte(t.topic_id[i])
			}
			if t.partition_count > 0 {
				for _, p := range unsafe.Slice(t.partitions, int(t.partition_count)) {
					ti.Partitions = append(ti.Partitions, PartitionInfo{
						Partition:       int32(p.partition),
						Err:             newError(ErrorCode(p.err), ""),
						Leader:          int32(p.leader),
						LeaderEpoch:     int32(p.leader_epoch),
						Replicas:        goInt32s(p.replicas, p.replica_count),
						ISR:             goInt32s(p.isr, p.isr_count),
						OfflineReplicas: goInt32s(p.offline_replicas, p.offline_replica_count),
					})
				}
			}
			out.Topics = append(out.Topics, ti)
		}
	}
	return out
}

// DescribeCluster is the cluster id, the controller and the brokers.
func (a *Admin) DescribeCluster(ctx context.Context) (*ClusterInfo, error) {
	return callFor(a, ctx, func(timeout C.int) (*ClusterInfo, error) {
		var ci *C.samsa_cluster_info_t
		if err := adminErr(C.samsa_admin_describe_cluster(a.a, timeout, &ci), "describe cluster"); err != nil {
			return nil, err
		}
		defer C.samsa_cluster_info_free(ci)
		return goClusterInfo(ci), nil
	})
}

// ListTopics describes the named topics, or every topic but the internal
// ones when none is named. Topics are never created by this.
func (a *Admin) ListTopics(ctx context.Context, topics ...string) ([]TopicInfo, error) {
	return callFor(a, ctx, func(timeout C.int) ([]TopicInfo, error) {
		var ar cArena
		defer ar.free()
		var ci *C.samsa_cluster_info_t
		rc := C.samsa_admin_list_topics(a.a, ar.strs(topics), C.size_t(len(topics)), 0, timeout, &ci)
		if err := adminErr(rc, "list topics"); err != nil {
			return nil, err
		}
		defer C.samsa_cluster_info_free(ci)
		return goClusterInfo(ci).Topics, nil
	})
}

// Offset specs for ListOffsets (a TopicPartition's Offset); a value >= 0
// is a timestamp in milliseconds: the first offset whose message's
// timestamp is at least that.
const (
	OffsetSpecLatest       int64 = -1 // the high watermark
	OffsetSpecEarliest     int64 = -2 // the log start offset
	OffsetSpecMaxTimestamp int64 = -3 // the message with the largest timestamp
)

// OffsetResult is the outcome of one partition of an offsets request.
type OffsetResult struct {
	Topic       string
	Partition   int32
	Err         error
	Offset      int64     // -1: none
	Timestamp   time.Time // ListOffsets by time or max timestamp: the message's; else zero
	LeaderEpoch int32     // -1: unknown
	Metadata    string    // group offsets: the commit's metadata
}

func goOffsetResults(r *C.samsa_offset_result_t, n int) []OffsetResult {
	out := make([]OffsetResult, n)
	if n == 0 {
		return out
	}
	for i, it := range unsafe.Slice(r, n) {
		out[i] = OffsetResult{
			Topic:       C.GoString(it.topic),
			Partition:   int32(it.partition),
			Err:         newError(ErrorCode(it.err), goStringOrEmpty(it.errstr)),
			Offset:      int64(it.offset),
			LeaderEpoch: int32(it.leader_epoch),
			Metadata:    goStringOrEmpty(it.metadata),
		}
		if it.timestamp_ms >= 0 {
			out[i].Timestamp = time.UnixMilli(int64(it.timestamp_ms))
		}
	}
	return out
}

// cOffsets is parts as samsa_partition_offset_t entries.
func (ar *cArena) offsets(parts []TopicPartition) *C.samsa_partition_offset_t {
	p := (*C.samsa_partition_offset_t)(ar.alloc(len(parts), unsafe.Sizeof(C.samsa_partition_offset_t{})))
	if p == nil {
		return nil
	}
	s := unsafe.Slice(p, len(parts))
	for i, tp := range parts {
		s[i].topic = ar.str(tp.Topic)
		s[i].partition = C.int32_t(tp.Partition)
		s[i].offset = C.int64_t(tp.Offset)
	}
	return p
}

// offsetsCall runs an admin call taking partition offsets and returning n
// offset results.
func (a *Admin) offsetsCall(ctx context.Context, what string, parts []TopicPartition,
	f func(*C.samsa_partition_offset_t, C.size_t, C.int, **C.samsa_offset_result_t) C.samsa_err_t) ([]OffsetResult, error) {
	return callFor(a, ctx, func(timeout C.int) ([]OffsetResult, error) {
		var ar cArena
		defer ar.free()
		var res *C.samsa_offset_result_t
		if err := adminErr(f(ar.offsets(parts), C.size_t(len(parts)), timeout, &res), what); err != nil {
			return nil, err
		}
		defer C.samsa_offset_results_free(res)
		return goOffsetResults(res, len(parts)), nil
	})
}

// ListOffsets looks up, for each partition, the offset its Offset spec
// names (OffsetSpecLatest, OffsetSpecEarliest, OffsetSpecMaxTimestamp or a
// timestamp in ms).
func (a *Admin) ListOffsets(ctx context.Context, specs ...TopicPartition) ([]OffsetResult, error) {
	return a.offsetsCall(ctx, "list offsets", specs,
		func(p *C.samsa_partition_offset_t, n C.size_t, t C.int, r **C.samsa_offset_result_t) C.samsa_err_t {
			return C.samsa_admin_list_offsets(a.a, p, n, t, r)
		})
}

// DeleteRecords deletes the messages before each partition's Offset (-1:
// all); each result's Offset is the new log start offset.
func (a *Admin) DeleteRecords(ctx context.Context, before ...TopicPartition) ([]OffsetResult, error) {
	return a.offsetsCall(ctx, "delete records", before,
		func(p *C.samsa_partition_offset_t, n C.size_t, t C.int, r **C.samsa_offset_result_t) C.samsa_err_t {
			return C.samsa_admin_delete_records(a.a, p, n, t, r)
		})
}

// AlterGroupOffsets commits offsets for group as an admin does (accepted
// only while the group has no members; creates the group when needed).
func (a *Admin) AlterGroupOffsets(ctx context.Context, group string, offsets ...TopicPartition) ([]OffsetResult, error) {
	return a.offsetsCall(ctx, "alter group offsets", offsets,
		func(p *C.samsa_partition_offset_t, n C.size_t, t C.int, r **C.samsa_offset_result_t) C.samsa_err_t {
			g := C.CString(group)
			defer C.free(unsafe.Pointer(g))
			return C.samsa_admin_alter_group_offsets(a.a, g, p, n, t, r)
		})
}

// ListGroupOffsets is group's committed offsets of parts, or of every
// partition it committed for when parts is empty (Offset -1: none).
func (a *Admin) ListGroupOffsets(ctx context.Context, group string, parts ...TopicPartition) ([]OffsetResult, error) {
	return callFor(a, ctx, func(timeout C.int) ([]OffsetResult, error) {
		var ar cArena
		defer ar.free()
		tp := (*C.samsa_topic_partition_t)(ar.alloc(len(parts), unsafe.Sizeof(C.samsa_topic_partition_t{})))
		if len(parts) > 0 {
			s := unsafe.Slice(tp, len(parts))
			for i, p := range parts {
				s[i].topic = ar.str(p.Topic)
				s[i].partition = C.int32_t(p.Partition)
				s[i].offset = -1
			}
		}
		var res *C.samsa_offset_result_t
		var count C.size_t
		rc := C.samsa_admin_list_group_offsets(a.a, ar.str(group), tp, C.size_t(len(parts)), timeout, &res, &count)
		if err := adminErr(rc, "list group offsets"); err != nil {
			return nil, err
		}
		defer C.samsa_offset_results_free(res)
		return goOffsetResults(res, int(count)), nil
	})
}

// GroupListing is one group as ListGroups says.
type GroupListing struct {
	GroupID       string
	ProtocolType  string // "consumer" for consumer groups
	State         string // "Stable", "Empty" ...
	CoordinatorID int32
}

// ListGroups lists the groups of every broker.
func (a *Admin) ListGroups(ctx context.Context) ([]GroupListing, error) {
	return callFor(a, ctx, func(timeout C.int) ([]GroupListing, error) {
		var l *C.samsa_group_list_t
		if err := adminErr(C.samsa_admin_list_groups(a.a, timeout, &l), "list groups"); err != nil {
			return nil, err
		}
		defer C.samsa_group_list_free(l)
		var out []GroupListing
		if l.group_count > 0 {
			for _, g := range unsafe.Slice(l.groups, int(l.group_count)) {
				out = append(out, GroupListing{GroupID: C.GoString(g.group_id),
					ProtocolType: goStringOrEmpty(g.protocol_type), State: goStringOrEmpty(g.state),
					CoordinatorID: int32(g.coordinator_id)})
			}
		}
		return out, nil
	})
}

// GroupMember is one member of a group.
type GroupMember struct {
	MemberID        string
	GroupInstanceID string // "" when none
	ClientID        string
	ClientHost      string
	Metadata        []byte           // the member's protocol metadata
	Assignment      []byte           // its assignment as the leader made it
	Assigned        []TopicPartition // consumer groups: the assignment decoded
}

// GroupDescription is one group as DescribeGroups says: a group that does
// not exist is "Dead" with no members and Err ErrGroupIDNotFound.
type GroupDescription struct {
	GroupID       string
	Err           error
	State         string
	ProtocolType  string
	Protocol      string // the assignor chosen
	CoordinatorID int32
	Members       []GroupMember
}

// DescribeGroups describes groups, each asked of its coordinator.
func (a *Admin) DescribeGroups(ctx context.Context, groups ...string) ([]GroupDescription, error) {
	return callFor(a, ctx, func(timeout C.int) ([]GroupDescription, error) {
		var ar cArena
		defer ar.free()
		var res *C.samsa_group_description_t
		rc := C.samsa_admin_describe_groups(a.a, ar.strs(groups), C.size_t(len(groups)), timeout, &res)
		if err := adminErr(rc, "describe groups"); err != nil {
			return nil, err
		}
		defer C.samsa_group_descriptions_free(res)
		if len(groups) == 0 {
			return nil, nil
		}
		var out []GroupDescription
		for _, g := range unsafe.Slice(res, len(groups)) {
			out = append(out, goGroupDescription(&g))
		}
		return out, nil
	})
}

func goGroupDescription(g *C.samsa_group_description_t) GroupDescription {
	d := GroupDescription{GroupID: C.GoString(g.group_id),
		Err:   newError(ErrorCode(g.err), goStringOrEmpty(g.errstr)),
		State: goStringOrEmpty(g.state), ProtocolType: goStringOrEmpty(g.protocol_type),
		Protocol: goStringOrEmpty(g.protocol), CoordinatorID: int32(g.coordinator_id)}
	if g.member_count == 0 {
		return d
	}
	for _, m := range unsafe.Slice(g.members, int(g.member_count)) {
		gm := GroupMember{MemberID: C.GoString(m.member_id),
			GroupInstanceID: goStringOrEmpty(m.group_instance_id),
			ClientID:        goStringOrEmpty(m.client_id),
			ClientHost:      goStringOrEmpty(m.client_host),
			Metadata:        goBytes(m.metadata, m.metadata_len),
			Assignment:      goBytes(m.assignment, m.assignment_len)}
		l := C.samsa_partition_list_t{items: m.assigned, count: m.assigned_count}
		gm.Assigned = goPartitions(&l)
		d.Members = append(d.Members, gm)
	}
	return d
}
