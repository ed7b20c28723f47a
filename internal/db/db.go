// Package db opens Switchboard's SQLite database: one writer connection that serialises every
// write (SQLite allows one writer at a time; queueing in Go is cheaper than SQLITE_BUSY retries)
// and a small pool of query-only readers that WAL lets run beside it.
package db

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"runtime"

	"modernc.org/sqlite" // also registers the pure-Go "sqlite" driver that Backup and Compact open
)

// FileName is the database file inside the data directory.
const FileName = "switchboard.db"

// DB is the pools. Write through W, read through R; Reports is for the reads that cover wide
// ranges (Analytics) or stream for long (exports), so that they neither share the page views'
// small page caches nor hold their connections.
type DB struct {
	W       *sql.DB
	R       *sql.DB
	Reports *sql.DB
	Path    string

	prio priority
}

// Querier is what stores need to run statements, satisfied by *sql.DB and *sql.Tx alike, so one
// store method serves both a stand-alone call and a step inside a larger transaction.
type Querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// Open creates the data directory if needed, opens both pools and applies pending migrations.
func Open(ctx context.Context, dataDir string) (*DB, error) {
	d, _, err := OpenAndMigrate(ctx, dataDir)
	return d, err
}

// OpenAndMigrate is Open that also names the migrations it applied.
func OpenAndMigrate(ctx context.Context, dataDir string) (*DB, []string, error) {
	return OpenAndMigrateWith(ctx, dataDir, Options{})
}

// OpenAndMigrateWith is OpenAndMigrate with opts.
func OpenAndMigrateWith(ctx context.Context, dataDir string, opts Options) (*DB, []string, error) {
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return nil, nil, fmt.Errorf("create data directory: %w", err)
	}
	path := filepath.Join(dataDir, FileName)
	d, err := OpenFileWith(ctx, path, opts)
	if err != nil {
		return nil, nil, err
	}
	applied, err := Migrate(ctx, d.W)
	if err != nil {
		d.Close()
		return nil, nil, err
	}
	return d, applied, nil
}

// Pool names one of DB's pools.
type Pool string

const (
	PoolWriter  Pool = "writer"
	PoolReaders Pool = "readers"
	PoolReports Pool = "reports"
)

// Options change how the pools reach SQLite. The zero value is production's.
type Options struct {
	// Interpose, when set, wraps each pool's connector: tests watch every statement through
	// it (internal/db/dbcheck).
	Interpose func(pool Pool, c driver.Connector) driver.Connector
}

func (o Options) open(pool Pool, dsn string) (*sql.DB, error) {
	c, err := sqlite.NewConnector(dsn)
	if err != nil {
		return nil, err
	}
	if o.Interpose != nil {
		c = o.Interpose(pool, c)
	}
	return sql.OpenDB(c), nil
}

// OpenFile opens the pools on an exact file path without migrating.
func OpenFile(ctx context.Context, path string) (*DB, error) {
	return OpenFileWith(ctx, path, Options{})
}

// OpenFileWith is OpenFile with opts.
func OpenFileWith(ctx context.Context, path string, opts Options) (*DB, error) {
	// The writer keeps 16 MiB (SQLite's default is 2 MiB): its own commits do not empty its
	// cache, it touches the same conversations, indexes and rollups batch after batch, and
	// reading them back from the file cost a twentieth of ingest's CPU at 3,300 events/s.
	// 32 MiB took the server past issue 11's 150 MB with 200 members' inboxes open and 500
	// messages/s arriving (VmHWM 152 MB; 122 MB with 16 MiB: cmd/switchboard
	// TestLiveSSELoadFigures).
	if err := createWithPageSize(ctx, path); err != nil {
		return nil, err
	}
	w, err := opts.open(PoolWriter, dsn(path, true, writerCacheKiB))
	if err != nil {
		return nil, fmt.Errorf("open writer: %w", err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	if err := w.PingContext(ctx); err != nil {
		w.Close()
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	// At least two. On 2 cores one reader would leave the writer more CPU (mixed load: ack p99
	// 35-38 ms and page p95 10 ms, against 38-153 ms and 12-45 ms with two, in runs before the
	// mixed-load figures settled at about 10 ms with two). With one, a browser test's webhook
	// test event once never arrived: the mark of code that reads through R inside a write
	// transaction, or writes while holding a read. Six such places were found and fixed (the
	// webhook publisher's endpoint creators, alert rules, access reviews, automation's unreadable
	// jobs, the campaign CSV export), and the full suites pass with one reader, but the failure
	// was never reproduced, so two stay. Inside a write transaction, read through it: every
	// server a test starts (apptest) fails its test on such a read (internal/db/dbcheck).
	readers := max(2, runtime.NumCPU())
	r, err := opts.open(PoolReaders, dsn(path, false, readerCacheKiB(readers)))
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("open readers: %w", err)
	}
	r.SetMaxOpenConns(readers)
	r.SetMaxIdleConns(readers)
	reports, err := opts.open(PoolReports, dsn(path, false, reportCacheKiB))
	if err != nil {
		w.Close()
		r.Close()
		return nil, fmt.Errorf("open report readers: %w", err)
	}
	reportReaders := max(1, runtime.NumCPU()/2)
	reports.SetMaxOpenConns(reportReaders)
	reports.SetMaxIdleConns(reportReaders)
	return &DB{W: w, R: r, Reports: reports, Path: path}, nil
}

// Page cache sizes, in KiB. Every commit empties the page cache of each reader connection
// (SQLite's pager resets it when the WAL has changed since its last read), so under webhook
// ingest a reader's cache lives for one read transaction and a large one buys nothing. It
// costs, though: the pages freed at each reset go back to modernc.org/memory, which keeps
// only the newest 4 MiB of each size class committed and hands the rest to the kernel
// (madvise), to fault it back in on the next read. Measured with 1,000 webhook events/s and 100
// inbox views/s (internal/inbox.TestMixedLoadFigures): page p95 10 ms with 1 MiB per reader,
// 36-104 ms with 2 MiB, 0.9-2 s with 4 and 16 MiB. The readers together stay under that 4 MiB.
// Reports (Analytics' rollup ranges) reread the same pages across a view's statements and keep
// a larger cache on connections of their own: 90 days by template took 58 ms at 1 MiB and
// 35 ms at 16 MiB.
const (
	reportCacheKiB = 16384
	writerCacheKiB = 16384
)

func readerCacheKiB(readers int) int { return min(1024, max(256, 3072/readers)) }

func dsn(path string, writer bool, cacheKiB int) string {
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "foreign_keys(1)")
	q.Add("_pragma", "journal_mode(wal)")
	if writer {
		// FULL: a write that was acknowledged must survive a power cut, not only a crash.
		q.Add("_pragma", "synchronous(full)")
		// Long-lived readers can keep the WAL from being reset; after each checkpoint it is
		// truncated back to this size instead of keeping its peak.
		q.Add("_pragma", "journal_size_limit(67108864)")
		q.Set("_txlock", "immediate")
	} else {
		q.Add("_pragma", "query_only(1)")
	}
	q.Add("_pragma", fmt.Sprintf("cache_size(-%d)", cacheKiB))
	return "file:" + path + "?" + q.Encode()
}

// Close closes both pools.
func (d *DB) Close() error {
	return errors.Join(d.Reports.Close(), d.R.Close(), d.W.Close())
}

// Tx runs fn in a write transaction, committing when fn returns nil and rolling back otherwise.
// For background work (Background) it first yields to webhook ingest, at most a quarter second.
func (d *DB) Tx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	d.yield(ctx)
	tx, err := d.W.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// Backup writes a consistent copy of the live database to dest while it stays in use.
func (d *DB) Backup(ctx context.Context, dest string) error {
	if _, err := os.Stat(dest); err == nil {
		return fmt.Errorf("backup: %s already exists", dest)
	}
	// A connection of its own: on the writer it would wait for every open write transaction and
	// block writes while it copies; the readers are query_only, which refuses VACUUM INTO.
	c, err := sql.Open("sqlite", "file:"+d.Path+"?_pragma=busy_timeout(10000)")
	if err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	defer c.Close()
	if _, err := c.ExecContext(ctx, "VACUUM INTO ?", dest); err != nil {
		return fmt.Errorf("backup to %s: %w", dest, err)
	}
	return nil
}
