package app_test

import (
	"context"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/app"
	"github.com/switchboard/switchboard/internal/app/apptest"
)

func TestOldProcessedWebhookBodiesArePruned(t *testing.T) {
	in := apptest.Start(t)
	in.ConnectSandbox()
	ctx := context.Background()
	if _, err := in.Sim.CustomerSays(ctx, apptest.SandboxNumberA, "16505551234", "Sheena", "Hi"); err != nil {
		t.Fatal(err)
	}
	count := func() int {
		var n int
		if err := in.App.DB.R.QueryRow(`SELECT count(*) FROM webhook_events`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if count() != 1 {
		t.Fatalf("%d bodies stored", count())
	}
	in.Clock.Advance(app.WebhookRetention + time.Hour)
	pctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { in.App.PruneWebhooksEvery(pctx, time.Hour); close(done) }()
	for deadline := time.Now().Add(5 * time.Second); count() != 0 && time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
	}
	cancel()
	<-done
	if n := count(); n != 0 {
		t.Errorf("%d bodies older than the retention remain", n)
	}
	var messages int
	if err := in.App.DB.R.QueryRow(`SELECT count(*) FROM messages`).Scan(&messages); err != nil || messages != 1 {
		t.Errorf("the message itself must stay: %d %v", messages, err)
	}
}
