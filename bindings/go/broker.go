package samsa

// #include "shim.h"
import "C"

import (
	"sort"
	"strings"
	"sync"
	"unsafe"
)

// Broker is an embedded Kafka-compatible broker serving on a thread of its
// own: one node that is the controller and the leader of every partition,
// keeping its partitions in log.dirs.
type Broker struct {
	b         *C.samsa_broker_t
	bootstrap string
	listener  string
	clusterID string
	closeOnce sync.Once
}

// NewBroker makes a broker from Kafka-style properties (log.dirs,
// listeners such as "PLAINTEXT://127.0.0.1:0" for a free port,
// num.partitions, ...), opens its log dirs and starts serving.
func NewBroker(cfg map[string]string) (*Broker, error) {
	conf := C.samsa_conf_new()
	if conf == nil {
		return nil, newError(ErrLocalNoMem, "")
	}
	eb := newErrBuf()
	defer eb.free()
	keys := make([]string, 0, len(cfg))
	for k := range cfg {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		v := cfg[k]
		if strings.IndexByte(k, 0) >= 0 || strings.IndexByte(v, 0) >= 0 {
			C.samsa_conf_free(conf)
			return nil, errorf(ErrLocalInvalidArg, "broker: property %q has a NUL byte", k)
		}
		ck, cv := C.CString(k), C.CString(v)
		rc := C.samsa_conf_set(conf, ck, cv, eb.p, errBufLen)
		C.free(unsafe.Pointer(ck))
		C.free(unsafe.Pointer(cv))
		if rc != 0 {
			C.samsa_conf_free(conf)
			return nil, newError(ErrorCode(rc), "broker: "+eb.String())
		}
	}
	b := C.samsa_broker_new(conf, eb.p, errBufLen)
	if b == nil {
		C.samsa_conf_free(conf)
		return nil, newError(ErrLocalInvalidConfig, "broker: "+eb.String())
	}
	if rc := C.samsa_broker_start(b); rc != 0 {
		C.samsa_broker_free(b)
		return nil, codeErr(rc, "broker: start")
	}
	return &Broker{
		b:         b,
		bootstrap: C.GoString(C.samsa_broker_bootstrap(b)),
		listener:  C.GoString(C.samsa_broker_listener(b)),
		clusterID: C.GoString(C.samsa_broker_cluster_id(b)),
	}, nil
}

// Bootstrap is "host:port" for clients' bootstrap.servers (the real port
// when the listener asked for port 0).
func (b *Broker) Bootstrap() string { return b.bootstrap }

// Listener is the bound listener as "PLAINTEXT://host:port".
func (b *Broker) Listener() string { return b.listener }

// ClusterID is the cluster id kept in the log dirs' meta.properties.
func (b *Broker) ClusterID() string { return b.clusterID }

// Close stops serving (dropping connections), flushes and closes every
// partition and frees the broker. Later calls do nothing.
func (b *Broker) Close() {
	b.closeOnce.Do(func() {
		C.samsa_broker_stop(b.b)
		C.samsa_broker_free(b.b)
	})
}
