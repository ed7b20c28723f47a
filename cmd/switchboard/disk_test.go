package main

import (
	"context"
	"flag"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/app/apptest"
	"github.com/switchboard/switchboard/internal/loadgen"
)

// Where the whole server's disk writes go under webhook load, measured by
// TestWebhookDiskFigures when -disktest.duration is set:
//
//	go test -run TestWebhookDiskFigures -v ./cmd/switchboard -disktest.duration=10s -disktest.rate=1000
var (
	diskDuration = flag.Duration("disktest.duration", 0, "run TestWebhookDiskFigures for this long, after as long again to warm up; 0 skips it")
	diskRate     = flag.Float64("disktest.rate", 1000, "TestWebhookDiskFigures: bodies per second, open loop")
)

// TestWebhookDiskFigures runs the server as production does (the checkpointer, the 2 ms
// group commit, a CRM endpoint subscribed to messages and statuses as the demo has), sends
// the load test's bodies for as long again as it measures so that the customers are known
// (a steady state, not the first contact of each), then stops checkpoints, measures, and
// reads the WAL: bytes per event and which table or index each written page belongs to.
// The checkpoint copies each distinct page once more into the database file; the binary's
// whole figure (what /proc counts) is TestWebhookLoadFigures's "wrote … to disk".
func TestWebhookDiskFigures(t *testing.T) {
	if *diskDuration <= 0 {
		t.Skip("set -disktest.duration to measure where webhook ingest's disk writes go")
	}
	in := apptest.StartWith(t, apptest.Options{Sandbox: true})
	in.ConnectSandbox()
	received := subscribeCRM(t, in)
	ctx := context.Background()
	cfg := loadgen.Config{URL: in.URL + "/webhooks/whatsapp", AppSecret: []byte(apptest.SandboxAppSecret), WABAID: apptest.SandboxWABAID,
		Numbers: sandboxNumbers(), Workers: 48, Duration: *diskDuration, Rate: *diskRate, Count: loadgen.MaxCount,
		Customers: 5000, RunID: "diskwarm"}
	if _, err := loadgen.Run(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	// Let the outbox drain, then start the WAL over with nothing in it.
	time.Sleep(time.Second)
	in.App.StopCheckpointer()
	d := in.App.DB
	for _, q := range []string{`PRAGMA wal_autocheckpoint = 0`, `PRAGMA wal_checkpoint(TRUNCATE)`} {
		if _, err := d.W.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	before, delivered := in.App.Ingester.Stats(), received.Load()
	cfg.RunID = "disk"
	res, err := loadgen.Run(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Second) // the outbox's deliveries of the run are recorded too
	after := in.App.Ingester.Stats()
	wal, err := d.ReadWALPages(ctx)
	if err != nil {
		t.Fatal(err)
	}
	events := int(res.EventsOK)
	batches := after.Batches - before.Batches
	t.Logf("%d events answered 200 at %.0f bodies/s; %d batches (%.1f bodies a batch); time to 200 p50 %v p99 %v; CRM deliveries %d",
		events, *diskRate, batches, float64(after.Bodies-before.Bodies)/float64(max(batches, 1)),
		res.Latency.Percentile(50).Round(100*time.Microsecond), res.Latency.Percentile(99).Round(100*time.Microsecond),
		received.Load()-delivered)
	t.Logf("\n%s", wal.Report(events))
	if res.NonOK() != 0 {
		t.Errorf("%d requests not answered 200: %v %v", res.NonOK(), res.Statuses, res.FirstErrors)
	}
}
