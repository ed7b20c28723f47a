package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strconv"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// PageSize is the page size, in bytes, of the databases Switchboard creates (SQLite's default
// is 4096). A commit writes every page it changes whole, once to the WAL and once more when
// the checkpoint copies it into the file, and an inbound message changes pages at scattered
// places: its conversation's row and recency index entries, the wamid index, its
// conversation's message index. Each costs a page however little of it changed, so the page
// size sets what webhook ingest writes to disk. At 4,700 events/s (cmd/switchboard
// TestWebhookLoadFigures): 25 KB an event with 4096-byte pages, 16.6 KB with 2048, 12 KB with
// 1024. With 1024, full-text search slowed by about a sixth (FTS5 keeps its index in blobs of
// up to 4 KB, which then span overflow pages); with 2048 neither search nor the inbox's lists
// moved beyond run-to-run noise (internal/inbox BenchmarkList), and the mixed load wrote 30 %
// less (TestMixedLoadFigures).
const PageSize = 2048

// createWithPageSize makes the database file at path, if there is none yet, with PageSize
// pages. The pools set journal_mode(wal) through _pragma, which modernc.org/sqlite runs in
// lexical order, so a page_size beside it would come too late: a database in WAL mode keeps
// the page size it was created with.
func createWithPageSize(ctx context.Context, path string) error {
	if st, err := os.Stat(path); err == nil && st.Size() > 0 {
		return nil
	} else if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("create %s: %w", path, err)
	}
	// busy_timeout: a server and a command started together on a new data directory both get here.
	c, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)&_pragma=page_size("+strconv.Itoa(PageSize)+")")
	if err != nil {
		return fmt.Errorf("create %s: %w", path, err)
	}
	defer c.Close()
	// Switching to WAL writes the file's first page, which fixes its page size.
	if _, err := c.ExecContext(ctx, `PRAGMA journal_mode = wal`); err != nil {
		return fmt.Errorf("create %s: %w", path, err)
	}
	return nil
}

// PageSizeOf reads the page size of d's database file.
func (d *DB) PageSizeOf(ctx context.Context) (int, error) {
	var n int
	if err := d.R.QueryRowContext(ctx, `PRAGMA page_size`).Scan(&n); err != nil {
		return 0, fmt.Errorf("read page size: %w", err)
	}
	return n, nil
}

// ErrInUse is Compact's answer when another connection, such as a running server, has the
// database open.
var ErrInUse = errors.New("the database is in use: stop the server first")

// FileStats is the shape of a database file.
type FileStats struct {
	PageSize  int
	Pages     int64
	FreePages int64
}

// Bytes is the file's size: its pages times the page size.
func (s FileStats) Bytes() int64 { return int64(s.PageSize) * s.Pages }

// Compact rewrites the database file at path with PageSize pages and without free pages
// (VACUUM), so that a database created before PageSize was chosen writes as little as a new
// one. It needs the file to itself and refuses with ErrInUse while a server has it open. The
// rewrite is as safe as any transaction: until it commits, the rollback journal keeps the old
// file.
func Compact(ctx context.Context, path string) (before, after FileStats, err error) {
	if _, err := os.Stat(path); err != nil {
		return before, after, fmt.Errorf("no database at %s: %w", path, err)
	}
	c, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(2000)&_pragma=synchronous(full)")
	if err != nil {
		return before, after, fmt.Errorf("compact: %w", err)
	}
	defer c.Close()
	conn, err := c.Conn(ctx) // page_size and journal_mode hold per connection
	if err != nil {
		return before, after, fmt.Errorf("compact: %w", err)
	}
	defer conn.Close()
	if before, err = fileStats(ctx, conn); err != nil {
		return before, after, err
	}
	// A WAL database keeps its page size; only a rollback-journal one takes a new one at VACUUM.
	// Leaving WAL needs every other connection gone, which is how a running server is noticed.
	var mode string
	if err := conn.QueryRowContext(ctx, `PRAGMA journal_mode = delete`).Scan(&mode); err != nil {
		if isBusy(err) {
			return before, after, ErrInUse
		}
		return before, after, fmt.Errorf("compact: leave WAL mode: %w", err)
	}
	if mode != "delete" {
		return before, after, ErrInUse
	}
	defer func() {
		if _, werr := conn.ExecContext(context.WithoutCancel(ctx), `PRAGMA journal_mode = wal`); werr != nil {
			err = errors.Join(err, fmt.Errorf("compact: back to WAL mode: %w", werr))
		}
	}()
	if _, err := conn.ExecContext(ctx, `PRAGMA page_size = `+strconv.Itoa(PageSize)); err != nil {
		return before, after, fmt.Errorf("compact: %w", err)
	}
	if _, err := conn.ExecContext(ctx, `VACUUM`); err != nil {
		return before, after, fmt.Errorf("compact: vacuum: %w", err)
	}
	if after, err = fileStats(ctx, conn); err != nil {
		return before, after, err
	}
	// A server that opened the file between leaving WAL and the VACUUM put it back in WAL mode,
	// where VACUUM keeps the old page size.
	if after.PageSize != PageSize {
		return before, after, fmt.Errorf("compact: the page size stayed %d: %w", after.PageSize, ErrInUse)
	}
	return before, after, nil
}

func fileStats(ctx context.Context, conn *sql.Conn) (FileStats, error) {
	var s FileStats
	err := conn.QueryRowContext(ctx, `SELECT page_size, page_count, freelist_count
		FROM pragma_page_size, pragma_page_count, pragma_freelist_count`).Scan(&s.PageSize, &s.Pages, &s.FreePages)
	if err != nil {
		return s, fmt.Errorf("read page counts: %w", err)
	}
	return s, nil
}

// isBusy says whether err is SQLite's SQLITE_BUSY, extended codes included.
func isBusy(err error) bool {
	var se *sqlite.Error
	return errors.As(err, &se) && se.Code()&0xff == sqlite3.SQLITE_BUSY
}
