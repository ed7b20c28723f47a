package webhooks_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/app/apptest"
	"github.com/switchboard/switchboard/internal/authz"
	"github.com/switchboard/switchboard/internal/webhooks"
)

// BenchmarkDeliveryToLoopback measures the sender end to end: b.N events already in the
// outbox, signed and POSTed to a receiver on 127.0.0.1 that answers 204 at once, each outcome
// recorded in the delivery log. Run it with a fixed count:
//
//	go test -run '^$' -bench DeliveryToLoopback -benchtime 20000x ./internal/webhooks
func BenchmarkDeliveryToLoopback(b *testing.B) {
	in := apptest.StartWith(b, apptest.Options{Sandbox: true})
	ctx := context.Background()
	var got atomic.Int64
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got.Add(1)
		w.WriteHeader(http.StatusNoContent)
	}))
	defer rcv.Close()
	m := in.CreateMember("admin@example.com", "Ada Admin", authz.RoleAdministrator, "a long and unguessable passphrase")
	p, _, err := in.App.Members.Store().Principal(ctx, m.ID)
	if err != nil {
		b.Fatal(err)
	}
	e, _, err := in.App.Webhooks.Create(ctx, p, webhooks.NewEndpoint{URL: rcv.URL + "/hook", Events: []string{webhooks.AlertRaised},
		Format: webhooks.FormatStandard, AllNumbers: true})
	if err != nil {
		b.Fatal(err)
	}
	payload := []byte(`{"type":"alert.raised","timestamp":"2026-12-06T05:00:00Z","data":{"id":1,"kind":"mass_export","severity":"warning","title":"Large export"}}`)
	b.StopTimer()
	tx, err := in.App.DB.W.Begin()
	if err != nil {
		b.Fatal(err)
	}
	now := in.Clock.Now().UnixMilli()
	for i := range b.N {
		if _, err := tx.Exec(`INSERT INTO webhook_deliveries (endpoint_id, msg_id, event_type, dedupe_key, payload, next_attempt_at, retry_until, created_at)
			VALUES (?, ?, 'alert.raised', ?, ?, ?, ?, ?)`, e.ID, fmt.Sprintf("msg_bench%d", i), fmt.Sprintf("bench:%d", i), payload, now, now+86_400_000, now); err != nil {
			b.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		b.Fatal(err)
	}
	start := time.Now()
	b.StartTimer()
	in.App.Webhooks.Wake()
	for {
		var pending int
		if err := in.App.DB.R.QueryRow(`SELECT count(*) FROM webhook_deliveries WHERE state <> 'delivered'`).Scan(&pending); err != nil {
			b.Fatal(err)
		}
		if pending == 0 {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	b.StopTimer()
	elapsed := time.Since(start)
	if int(got.Load()) < b.N {
		b.Fatalf("receiver got %d of %d", got.Load(), b.N)
	}
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "deliveries/s")
}
