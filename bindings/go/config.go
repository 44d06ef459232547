package samsa

// #include "shim.h"
import "C"

import (
	"sort"
	"strings"
	"unsafe"
)

// cStrings is an array of C strings in C memory.
type cStrings struct {
	p **C.char
	n int
}

// newCStrings copies ss into C memory; free it with free.
func newCStrings(ss []string) (cStrings, error) {
	for _, s := range ss {
		if strings.IndexByte(s, 0) >= 0 {
			return cStrings{}, errorf(ErrLocalInvalidArg, "%q contains a NUL byte", s)
		}
	}
	p := C.samsa_go_strings_new(C.size_t(len(ss)))
	if p == nil {
		return cStrings{}, newError(ErrLocalNoMem, "")
	}
	arr := unsafe.Slice(p, len(ss))
	for i, s := range ss {
		arr[i] = C.CString(s)
	}
	return cStrings{p: p, n: len(ss)}, nil
}

func (s cStrings) free() { C.samsa_go_strings_free(s.p, C.size_t(s.n)) }

// ptr is the array as C's const char *const *.
func (s cStrings) ptr() **C.char { return s.p }

// cConfig is a configuration map as two C arrays of keys and values, in
// key order.
type cConfig struct {
	keys, values cStrings
}

func newCConfig(cfg map[string]string) (*cConfig, error) {
	keys := make([]string, 0, len(cfg))
	for k := range cfg {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	values := make([]string, len(keys))
	for i, k := range keys {
		values[i] = cfg[k]
	}
	ck, err := newCStrings(keys)
	if err != nil {
		return nil, err
	}
	cv, err := newCStrings(values)
	if err != nil {
		ck.free()
		return nil, err
	}
	return &cConfig{keys: ck, values: cv}, nil
}

func (c *cConfig) free() {
	c.keys.free()
	c.values.free()
}

func (c *cConfig) n() C.size_t { return C.size_t(c.keys.n) }

// errBuf is a C buffer for an errstr argument.
type errBuf struct{ p *C.char }

const errBufLen = 512

func newErrBuf() errBuf {
	return errBuf{p: (*C.char)(C.samsa_go_calloc(1, errBufLen))}
}

func (b errBuf) String() string {
	if b.p == nil {
		return ""
	}
	return C.GoString(b.p)
}

func (b errBuf) free() { C.free(unsafe.Pointer(b.p)) }

// construct runs a C constructor f with cfg as key and value arrays and an
// errstr buffer; f reports whether it made the handle. The error names
// what failed as libsamsa said it.
func construct(cfg map[string]string, what string,
	f func(keys, values **C.char, n C.size_t, errstr *C.char, errlen C.size_t) bool) error {
	cc, err := newCConfig(cfg)
	if err != nil {
		return err
	}
	defer cc.free()
	eb := newErrBuf()
	defer eb.free()
	if !f(cc.keys.ptr(), cc.values.ptr(), cc.n(), eb.p, errBufLen) {
		return newError(ErrLocalInvalidConfig, what+": "+eb.String())
	}
	return nil
}
