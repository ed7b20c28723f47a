package privacy_test

import (
	"context"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/audit"
	"github.com/switchboard/switchboard/internal/clock"
	"github.com/switchboard/switchboard/internal/db"
	"github.com/switchboard/switchboard/internal/inbox"
	"github.com/switchboard/switchboard/internal/inbox/inboxgen"
	"github.com/switchboard/switchboard/internal/members"
	"github.com/switchboard/switchboard/internal/privacy"
)

var erasureFigures = flag.Int("erasure.conversations", 0, "measure one erasure over a generated inbox of this many conversations (10 messages each)")

// What one erasure costs on a large inbox: the deletes, the search indexes' merge, the
// checkpoints and VACUUM. A figure, not a limit:
//
//	go test -run TestErasureCostFigures -v ./internal/privacy -erasure.conversations=20000
func TestErasureCostFigures(t *testing.T) {
	if *erasureFigures == 0 {
		t.Skip("set -erasure.conversations to measure")
	}
	ctx := context.Background()
	dir := t.TempDir()
	d, err := db.Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if err := inboxgen.Generate(ctx, d, *erasureFigures, inboxgen.Now); err != nil {
		t.Fatal(err)
	}
	clk := clock.NewFake(inboxgen.Now)
	log := audit.New(d, clk)
	ib := inbox.NewService(d, log, clk, nil)
	if err := ib.IndexSearch(ctx, d.W); err != nil {
		t.Fatal(err)
	}
	p, _, err := members.NewStore(d).Principal(ctx, inboxgen.AdministratorID)
	if err != nil {
		t.Fatal(err)
	}
	pv := privacy.New(d, log, clk, ib, filepath.Join(dir, "media"), nil)
	var contact int64
	if err := d.R.QueryRow(`SELECT contact_id FROM conversations ORDER BY id LIMIT 1`).Scan(&contact); err != nil {
		t.Fatal(err)
	}
	size := func() int64 {
		st, _ := os.Stat(filepath.Join(dir, db.FileName))
		return st.Size()
	}
	before := size()
	start := time.Now()
	r, err := pv.RequestErasure(ctx, p, contact, "figures")
	if err != nil {
		t.Fatal(err)
	}
	took := time.Since(start)
	t.Logf("erasure of one contact over %d conversations (%d messages): %v; database %d MB → %d MB; removed %v",
		*erasureFigures, 10**erasureFigures, took.Round(time.Millisecond), before>>20, size()>>20, r.Removed)
}
