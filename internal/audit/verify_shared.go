package audit

import (
	"context"
	"sync"
	"time"
)

// verifyFlight lets concurrent callers share one Verify: the integrity page runs it on request,
// and a few people (or one impatient reload button) must not start a full pass each.
type verifyFlight struct {
	mu   sync.Mutex
	call *verifyCall
}

type verifyCall struct {
	done chan struct{}
	rep  Report
	err  error
}

// verifyTimeout bounds a shared run that every waiter has given up on.
const verifyTimeout = 5 * time.Minute

// VerifyShared is Verify, except that callers arriving while a run is under way wait for that
// run's report instead of starting another. The run is not tied to the first caller's request:
// if that caller leaves, the others still get their report.
func (l *Log) VerifyShared(ctx context.Context) (Report, error) {
	f := &l.verify
	f.mu.Lock()
	c := f.call
	if c == nil {
		c = &verifyCall{done: make(chan struct{})}
		f.call = c
		runCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), verifyTimeout)
		go func() {
			defer cancel()
			c.rep, c.err = l.Verify(runCtx)
			f.mu.Lock()
			f.call = nil
			f.mu.Unlock()
			close(c.done)
		}()
	}
	f.mu.Unlock()
	select {
	case <-c.done:
		return c.rep, c.err
	case <-ctx.Done():
		return Report{}, ctx.Err()
	}
}
