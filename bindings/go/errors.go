// Package samsa is the Go binding of libsamsa, a Kafka client and
// embeddable Kafka-compatible broker written in C.
//
// Handles (Producer, Consumer, Admin, Broker) wrap the C handles through
// cgo; they are safe for concurrent use unless a method says otherwise.
// Messages handed to the application are copied into Go memory, so the
// garbage collector owns them and no C memory is held by Go values.
package samsa

// #include <stdlib.h>
// #include "samsa.h"
import "C"

import (
	"errors"
	"fmt"
)

// ErrorCode is a samsa_err_t: 0 is success, positive values (and -1) are
// Kafka protocol error codes with Kafka's numbers, values of -100 and below
// are local errors raised by libsamsa itself.
//
// An ErrorCode is an error itself, so that errors.Is(err, samsa.ErrLocalTimedOut)
// matches any *Error carrying that code.
type ErrorCode int32

// Name is the code's name in samsa.h without its prefix
// ("NOT_LEADER_OR_FOLLOWER", "_TIMED_OUT"), "UNKNOWN" for others.
func (c ErrorCode) Name() string { return C.GoString(C.samsa_err_name(C.samsa_err_t(c))) }

// String is the code's name.
func (c ErrorCode) String() string { return c.Name() }

// Error is the library's short description of the code.
func (c ErrorCode) Error() string { return C.GoString(C.samsa_err_str(C.samsa_err_t(c))) }

// IsLocal reports whether the code is a local error (raised by libsamsa,
// not sent by a broker).
func (c ErrorCode) IsLocal() bool { return c <= -100 }

// Error is what every failing call of this package returns, possibly
// wrapped: a samsa error code with the message that says what failed and
// where. Retrieve it with errors.As, or match a code with errors.Is(err, code).
type Error struct {
	code ErrorCode
	msg  string
}

// Code is the samsa (Kafka or local) error code.
func (e *Error) Code() ErrorCode { return e.code }

// Message is what failed and where, as libsamsa said it (may be the code's
// description when the library said nothing more).
func (e *Error) Message() string { return e.msg }

// Error formats the error as "NAME: message".
func (e *Error) Error() string { return e.code.Name() + ": " + e.msg }

// Is makes errors.Is(err, samsa.ErrX) match an Error with code ErrX.
func (e *Error) Is(target error) bool {
	c, ok := target.(ErrorCode)
	return ok && c == e.code
}

// newError is an *Error for code with msg (the code's description when msg
// is empty); nil for ErrNone.
func newError(code ErrorCode, msg string) error {
	if code == ErrNone {
		return nil
	}
	if msg == "" {
		msg = code.Error()
	}
	return &Error{code: code, msg: msg}
}

// errorf is an *Error for code with a formatted message.
func errorf(code ErrorCode, format string, args ...any) error {
	return &Error{code: code, msg: fmt.Sprintf(format, args...)}
}

// codeErr is the *Error of a C return code (nil for success), the message
// prefixed with what was being done.
func codeErr(err C.samsa_err_t, what string) error {
	code := ErrorCode(err)
	if code == ErrNone {
		return nil
	}
	return &Error{code: code, msg: what + ": " + code.Error()}
}

// ErrClosed is returned (wrapped in an *Error with code ErrLocalDestroyed)
// by calls made on a handle after Close.
var ErrClosed = errors.New("samsa: handle is closed")

// closedError is the error of a call on a closed handle: errors.Is matches
// both ErrClosed and ErrLocalDestroyed.
func closedError() error {
	return fmt.Errorf("%w (%w)", ErrClosed, &Error{code: ErrLocalDestroyed, msg: "handle is closed"})
}

// Version is libsamsa's version ("MAJOR.MINOR.PATCH").
func Version() string { return C.GoString(C.samsa_version()) }
