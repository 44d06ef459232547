package samsa

import (
	"context"
	"runtime"
	"sync"
	"sync/atomic"
)

// lifecycle guards a C handle whose close must not run while other calls
// are in C: calls enter and leave, close waits for them. A call made from
// a callback during close is refused instead of waiting (no deadlock).
type lifecycle struct {
	mu      sync.Mutex
	closed  bool
	closing atomic.Bool
	calls   sync.WaitGroup
}

// enter registers a call; closedError() after close began.
func (l *lifecycle) enter() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return closedError()
	}
	l.calls.Add(1)
	return nil
}

func (l *lifecycle) leave() { l.calls.Done() }

// shut refuses new calls and waits for the running ones; false when the
// handle was already shut.
func (l *lifecycle) shut() bool {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return false
	}
	l.closed = true
	l.closing.Store(true)
	l.mu.Unlock()
	l.calls.Wait()
	return true
}

// background runs f on a goroutine of its own (locked to its thread, for
// libsamsa's per-thread state) as a registered call and waits for it or for
// ctx. When ctx ends first, f goes on to its end (close waits for it) and
// ctx.Err() is returned; f's results must then not be used.
func (l *lifecycle) background(ctx context.Context, f func() error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := l.enter(); err != nil {
		return err
	}
	ch := make(chan error, 1)
	go func() {
		defer l.leave()
		runtimeLocked(func() { ch <- f() })
	}()
	select {
	case err := <-ch:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// runtimeLocked runs f with the goroutine locked to its OS thread.
func runtimeLocked(f func()) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	f()
}

// inline runs f on the calling goroutine as a registered call (for calls
// made from a handler that runs inside a C call of this handle).
func (l *lifecycle) inline(ctx context.Context, f func() error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := l.enter(); err != nil {
		return err
	}
	defer l.leave()
	return f()
}
