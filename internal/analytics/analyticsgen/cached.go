package analyticsgen

import (
	"context"
	"fmt"
	"time"

	"github.com/switchboard/switchboard/internal/db"
	"github.com/switchboard/switchboard/internal/db/benchdb"
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
	return benchdb.Dir(fmt.Sprintf("analytics-%d", n), version, func(dir string) error {
		start := time.Now()
		res, err := build(dir, n)
		if err != nil {
			return err
		}
		if logf != nil {
			logf("generated %d conversations, %d messages in %v at %s", n, res.Messages, time.Since(start).Round(time.Second), dir)
		}
		return nil
	})
}

// build generates the database into dir, analysed and checkpointed, ready to be copied.
func build(dir string, n int) (Result, error) {
	ctx := context.Background()
	d, _, err := db.OpenAndMigrate(ctx, dir)
	if err != nil {
		return Result{}, err
	}
	err = members.NewStore(d).SyncBuiltinRoles(ctx, BenchNow)
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
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return res, err
}
