package app_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/app"
	"github.com/switchboard/switchboard/internal/audit"
	"github.com/switchboard/switchboard/internal/config"
)

// The events of the last requests are anchored by a signed checkpoint when the server stops,
// in the database and in the file, and the public key is written for offline verification.
func TestShutdownAnchorsTheActivityLog(t *testing.T) {
	dir := t.TempDir()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var f config.ServeFlags
	f.Addr, f.DataDir, f.LogLevel, f.LogFormat = l.Addr().String(), dir, "info", "text"
	f.IdleTimeout, f.AbsoluteTimeout = 30*time.Minute, 12*time.Hour
	cfg, err := config.Serve(f)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	a, err := app.New(ctx, cfg, app.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	if _, err := a.Audit.Record(ctx, audit.Event{Actor: audit.System(), Action: "settings.updated"}); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx, l) }()
	// The loop's first checkpoint comes at start; the next would be a minute later, so the
	// event recorded after it is anchored only by the one made at shutdown.
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if _, err := os.Stat(filepath.Join(dir, audit.CheckpointFileName)); err == nil {
			break
		}
	}
	ev, err := a.Audit.Record(ctx, audit.Event{Actor: audit.System(), Action: "settings.updated"})
	if err != nil {
		t.Fatal(err)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}

	latest, ok, err := a.Audit.LatestSignedCheckpoint(context.Background())
	if err != nil || !ok || latest.EventID != ev.ID || latest.EventHash != ev.Hash {
		t.Fatalf("latest checkpoint %+v (%v, %v), want one on event %d", latest, ok, err, ev.ID)
	}
	b, err := os.ReadFile(filepath.Join(dir, audit.CheckpointFileName))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	var last audit.SignedCheckpoint
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &last); err != nil || last != latest {
		t.Fatalf("the file ends with %+v (%v), want %+v", last, err, latest)
	}
	pubText, err := os.ReadFile(filepath.Join(dir, audit.PublicKeyFileName))
	if err != nil {
		t.Fatal(err)
	}
	pub, err := audit.ParsePublicKey(string(pubText))
	if err != nil {
		t.Fatal(err)
	}
	if err := latest.VerifySignature(pub); err != nil {
		t.Fatal(err)
	}
}
