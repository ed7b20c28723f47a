package db

import (
	"context"
	"sync"
	"time"
)

// The database has one writer. Webhook ingest holds Meta's requests open until their bodies
// are committed, so it comes first: background work (automation, campaigns, the outboxes'
// bookkeeping) marks its context with Background, and its transactions wait, up to
// backgroundMaxWait, while ingest has bodies waiting. Under a flood of webhooks the background
// work slows down rather than the answers to Meta; it never stops.

// backgroundMaxWait bounds how long one background transaction yields to ingest.
const backgroundMaxWait = 250 * time.Millisecond

type backgroundKey struct{}

// Background marks ctx as background work, whose transactions yield to webhook ingest.
func Background(ctx context.Context) context.Context {
	return context.WithValue(ctx, backgroundKey{}, true)
}

func isBackground(ctx context.Context) bool {
	b, _ := ctx.Value(backgroundKey{}).(bool)
	return b
}

// priority tracks whether ingest has work waiting; clear is closed when it has none.
type priority struct {
	mu    sync.Mutex
	busy  bool
	clear chan struct{}
}

// Urgent reports whether webhook ingest has bodies to commit (true) or is idle (false). The
// Ingester calls it as its queue fills and empties.
func (d *DB) Urgent(busy bool) {
	p := &d.prio
	p.mu.Lock()
	defer p.mu.Unlock()
	if busy == p.busy {
		return
	}
	p.busy = busy
	if busy {
		p.clear = make(chan struct{})
	} else {
		close(p.clear)
	}
}

// yield waits, for a background ctx, until ingest is idle, at most backgroundMaxWait.
func (d *DB) yield(ctx context.Context) {
	if !isBackground(ctx) {
		return
	}
	p := &d.prio
	p.mu.Lock()
	busy, clear := p.busy, p.clear
	p.mu.Unlock()
	if !busy {
		return
	}
	t := time.NewTimer(backgroundMaxWait)
	defer t.Stop()
	select {
	case <-clear:
	case <-t.C:
	case <-ctx.Done():
	}
}
