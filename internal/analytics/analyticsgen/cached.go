package analyticsgen

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/switchboard/switchboard/internal/db"
	"github.com/switchboard/switchboard/internal/members"
)

// version changes whenever the generated data changes, so that cached databases are rebuilt.
const version = "3"

// BenchNow is the present of the benchmark databases.
var BenchNow = time.Date(2026, 11, 10, 15, 30, 0, 0, time.UTC)

// CachedDir returns a data directory holding a generated database of n conversations over 90
// days before BenchNow (about 10n messages), building it on first use and keeping it in the
// temporary directory, keyed by size, generator version and db.Layout (the migrations and the
// page size). Copy the database before changing it.
func CachedDir(n int, logf func(format string, args ...any)) (string, error) {
	layout, err := db.Layout()
	if err != nil {
		return "", err
	}
	parent := filepath.Join(os.TempDir(), "switchboard-bench")
	key := fmt.Sprintf("analytics-%d", n)
	dir := filepath.Join(parent, key+"-"+version+"-"+layout)
	if _, err := os.Stat(filepath.Join(dir, db.FileName)); err == nil {
		return dir, nil
	}
	if err := os.MkdirAll(parent, 0o700); err != nil {
		return "", err
	}
	tmp, err := os.MkdirTemp(parent, key+"-building-")
	if err != nil {
		return "", err
	}
	start := time.Now()
	ctx := context.Background()
	d, _, err := db.OpenAndMigrate(ctx, tmp)
	if err == nil {
		err = members.NewStore(d).SyncBuiltinRoles(ctx, BenchNow)
	}
	var res Result
	if err == nil {
		res, err = Generate(ctx, d, Options{Conversations: n, Days: 90, Now: BenchNow, Seed: 1, Agents: 12,
			Labels: []string{"VIP", "Billing", "Delivery"}})
	}
	if err == nil {
		_, err = d.W.ExecContext(ctx, `ANALYZE`)
	}
	if err == nil {
		_, err = d.W.ExecContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`)
	}
	if d != nil {
		if cerr := d.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		os.RemoveAll(tmp)
		return "", err
	}
	if err := os.Rename(tmp, dir); err != nil {
		os.RemoveAll(tmp)
		if _, serr := os.Stat(filepath.Join(dir, db.FileName)); serr == nil {
			return dir, nil
		}
		return "", err
	}
	if logf != nil {
		logf("generated %d conversations, %d messages in %v at %s", n, res.Messages, time.Since(start).Round(time.Second), dir)
	}
	stale, _ := filepath.Glob(filepath.Join(parent, key+"-*"))
	for _, old := range stale {
		if old != dir && !strings.Contains(filepath.Base(old), "-building-") {
			os.RemoveAll(old)
		}
	}
	return dir, nil
}
