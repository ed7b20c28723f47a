package inbox

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/db"
	"github.com/switchboard/switchboard/internal/whatsapp"
)

// While bodies queue behind a batch, the batch may leave its messages for the next one to
// index (searchLag); the last batch of the burst, with nothing behind it, indexes them all.
func TestSearchIndexCatchesUpWithTheLastBatchOfABurst(t *testing.T) {
	f := newFixture(t)
	// However slow the machine, the index counts as fresh throughout.
	f.svc.searchLag = time.Hour
	entered := make(chan int, 4)
	release := make(chan struct{})
	calls := 0
	// The hook holds each batch inside its transaction until the test lets it go, so that
	// the bodies sent meanwhile are queued when the batch ends.
	hold := func(ctx context.Context, q db.Querier, events []whatsapp.Event) error {
		calls++
		entered <- calls
		<-release
		return nil
	}
	g := NewIngester(f.db, f.svc.ApplyEvents, IngesterOptions{Clock: f.clock, Applied: hold})
	defer g.Close()
	send := func(i int, word string) <-chan error {
		done := make(chan error, 1)
		body := inboundBody(inbound{number: metaNumberA, waID: fmt.Sprintf("49170000%04d", i), name: "Customer",
			wamid: fmt.Sprintf("wamid.lag.%d", i), text: "about the " + word, at: f.clock.Now()})
		go func() { done <- deliver(f.ctx, g, body) }()
		return done
	}
	search := func(word string) int {
		t.Helper()
		return len(f.list(f.admin, ListQuery{Box: BoxAll, Search: word}))
	}

	// A first body alone: indexed at once, as at any quiet pace.
	first := send(0, "gardenia")
	<-entered
	release <- struct{}{}
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	if search("gardenia") != 1 {
		t.Fatal("a body with nothing behind it is not searchable once acknowledged")
	}

	// A burst: the second body's batch is held while two more queue behind it.
	second := send(1, "begonia")
	<-entered
	third, fourth := send(2, "camellia"), send(3, "dahlia")
	waitQueued(t, g, 2)
	release <- struct{}{}
	if err := <-second; err != nil {
		t.Fatal(err)
	}
	<-entered // the batch of the other two is in its transaction: the second's has committed
	if search("begonia") != 0 {
		t.Error("the batch indexed although bodies queued behind it and the index was fresh")
	}
	release <- struct{}{}
	for _, done := range []<-chan error{third, fourth} {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	for _, word := range []string{"begonia", "camellia", "dahlia"} {
		if search(word) != 1 {
			t.Errorf("%q is not searchable after the burst's last batch", word)
		}
	}
}

// waitQueued waits until n bodies wait in g's queue.
func waitQueued(t *testing.T, g *Ingester, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for len(g.queue) < n {
		if time.Now().After(deadline) {
			t.Fatalf("%d bodies queued, want %d", len(g.queue), n)
		}
		time.Sleep(time.Millisecond)
	}
}
