package db

import (
	"context"
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func openTemp(t *testing.T) *DB {
	t.Helper()
	d, err := Open(context.Background(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

// pragma reads one PRAGMA on a single connection of the pool, as text.
func pragma(t *testing.T, conn interface {
	QueryRowContext(context.Context, string, ...any) *sql.Row
}, name string) string {
	t.Helper()
	var v string
	if err := conn.QueryRowContext(context.Background(), "PRAGMA "+name).Scan(&v); err != nil {
		t.Fatalf("PRAGMA %s: %v", name, err)
	}
	return v
}

// The writer must survive a power cut once it has acknowledged a write (synchronous FULL), let
// readers run beside it (WAL), enforce references and wait rather than fail on a busy file.
func TestWriterPragmas(t *testing.T) {
	d := openTemp(t)
	for name, want := range map[string]string{
		"journal_mode": "wal",
		"synchronous":  "2", // FULL
		"foreign_keys": "1",
		"query_only":   "0",
	} {
		if got := pragma(t, d.W, name); got != want {
			t.Errorf("writer PRAGMA %s = %s, want %s", name, got, want)
		}
	}
	if got := pragma(t, d.W, "busy_timeout"); got == "0" {
		t.Error("writer busy_timeout is 0: a concurrent backup or reader would fail with SQLITE_BUSY at once")
	}
	if n := d.W.Stats().MaxOpenConnections; n != 1 {
		t.Errorf("writer pool allows %d connections, want exactly 1", n)
	}
}

// Every reader connection, not only the first, must be query-only with the same pragmas.
func TestReaderConnectionsAreQueryOnly(t *testing.T) {
	d := openTemp(t)
	ctx := context.Background()
	// Every connection of both read pools, held at once so that each is a different one.
	var conns []*sql.Conn
	for _, pool := range []*sql.DB{d.R, d.Reports} {
		for range pool.Stats().MaxOpenConnections {
			c, err := pool.Conn(ctx)
			if err != nil {
				t.Fatal(err)
			}
			conns = append(conns, c)
		}
	}
	for i, c := range conns {
		for name, want := range map[string]string{"journal_mode": "wal", "foreign_keys": "1", "query_only": "1"} {
			if got := pragma(t, c, name); got != want {
				t.Errorf("reader %d PRAGMA %s = %s, want %s", i, name, got, want)
			}
		}
		if got := pragma(t, c, "busy_timeout"); got == "0" {
			t.Errorf("reader %d busy_timeout is 0", i)
		}
	}
	for _, c := range conns {
		c.Close()
	}

	for _, pool := range []*sql.DB{d.R, d.Reports} {
		if _, err := pool.ExecContext(ctx, `INSERT INTO setup_tokens (token_hash, created_at) VALUES (?, 0)`, strings.Repeat("a", 64)); err == nil {
			t.Fatal("an INSERT through a reader pool succeeded")
		}
	}
	var n int
	if err := d.W.QueryRowContext(ctx, `SELECT count(*) FROM setup_tokens`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Errorf("the refused INSERT left %d rows", n)
	}
}

func TestForeignKeysAreEnforced(t *testing.T) {
	d := openTemp(t)
	_, err := d.W.ExecContext(context.Background(),
		`INSERT INTO members (email, name, password_hash, role_id, created_at, updated_at) VALUES ('a@example.com', 'A', 'x', 999, 0, 0)`)
	if err == nil {
		t.Fatal("a member with a role that does not exist was stored")
	}
}

// _txlock=immediate: a write transaction takes the write lock when it begins, so two writers
// queue at BEGIN instead of failing on upgrade from a read lock (SQLITE_BUSY without retry).
func TestWriteTransactionsTakeTheLockAtBegin(t *testing.T) {
	d := openTemp(t)
	ctx := context.Background()
	tx, err := d.W.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()

	other, err := sql.Open("sqlite", "file:"+d.Path+"?_pragma=busy_timeout(0)")
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	conn, err := other.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "BEGIN IMMEDIATE"); err == nil {
		conn.ExecContext(ctx, "ROLLBACK")
		t.Fatal("another connection took the write lock while a writer transaction was open: BEGIN is not IMMEDIATE")
	}
}

func TestTxCommitsOrRollsBack(t *testing.T) {
	d := openTemp(t)
	ctx := context.Background()
	insert := func(tx *sql.Tx, hash string) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO setup_tokens (token_hash, created_at) VALUES (?, 0)`, hash)
		return err
	}
	if err := d.Tx(ctx, func(tx *sql.Tx) error { return insert(tx, "kept") }); err != nil {
		t.Fatal(err)
	}
	boom := errors.New("boom")
	err := d.Tx(ctx, func(tx *sql.Tx) error {
		if err := insert(tx, "dropped"); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("Tx returned %v, want the function's error", err)
	}
	var hashes []string
	rows, err := d.R.QueryContext(ctx, `SELECT token_hash FROM setup_tokens`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var h string
		if err := rows.Scan(&h); err != nil {
			t.Fatal(err)
		}
		hashes = append(hashes, h)
	}
	if !slices.Equal(hashes, []string{"kept"}) {
		t.Errorf("rows after commit and rollback: %v, want [kept]", hashes)
	}
}

func schema(t *testing.T, d *DB) string {
	t.Helper()
	rows, err := d.R.Query(`SELECT type, name, coalesce(sql, '') FROM sqlite_master ORDER BY type, name`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var b strings.Builder
	for rows.Next() {
		var typ, name, text string
		if err := rows.Scan(&typ, &name, &text); err != nil {
			t.Fatal(err)
		}
		b.WriteString(typ + " " + name + ": " + text + "\n")
	}
	return b.String()
}

func TestMigrationsAreIdempotent(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	d, applied, err := OpenAndMigrate(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(applied) == 0 || !strings.HasSuffix(applied[0], "0001_init.sql") {
		t.Fatalf("first open applied %v, want the migrations from 0001_init.sql on", applied)
	}
	for _, table := range []string{"sessions", "roles", "role_permissions", "members", "setup_tokens", "audit_events"} {
		var n int
		if err := d.R.QueryRow(`SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?`, table).Scan(&n); err != nil || n != 1 {
			t.Errorf("table %s missing after migration (%v)", table, err)
		}
	}
	before := schema(t, d)
	if again, err := Migrate(ctx, d.W); err != nil || len(again) != 0 {
		t.Errorf("migrating a migrated database: applied %v, err %v", again, err)
	}
	d.Close()

	d, applied, err = OpenAndMigrate(ctx, dir)
	if err != nil {
		t.Fatalf("second open: %v", err)
	}
	defer d.Close()
	if len(applied) != 0 {
		t.Errorf("second open applied %v again", applied)
	}
	if after := schema(t, d); after != before {
		t.Errorf("schema changed on the second open:\nbefore:\n%s\nafter:\n%s", before, after)
	}
}

func TestOpenCreatesAPrivateDataDirectory(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "nested", "data")
	d, err := Open(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	fi, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 {
		t.Errorf("data directory mode %v: readable by others", perm)
	}
	if d.Path != filepath.Join(dir, FileName) {
		t.Errorf("Path = %q", d.Path)
	}
}

func countTokens(t *testing.T, path string) int {
	t.Helper()
	b, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	var ok string
	if err := b.QueryRow(`PRAGMA integrity_check`).Scan(&ok); err != nil || ok != "ok" {
		t.Fatalf("backup integrity_check: %q %v", ok, err)
	}
	var n int
	if err := b.QueryRow(`SELECT count(*) FROM setup_tokens`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// holdWriteTx opens a write transaction with one uncommitted row on a goroutine of its own and
// keeps it open until release is closed.
func holdWriteTx(t *testing.T, d *DB) (release func()) {
	t.Helper()
	started := make(chan error, 1)
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		err := d.Tx(context.Background(), func(tx *sql.Tx) error {
			_, err := tx.Exec(`INSERT INTO setup_tokens (token_hash, created_at) VALUES ('uncommitted', 0)`)
			started <- err
			<-done
			return err
		})
		if err != nil {
			t.Errorf("held transaction: %v", err)
		}
	}()
	if err := <-started; err != nil {
		t.Fatal(err)
	}
	return func() { close(done); <-finished }
}

// This is how `switchboard backup` runs beside a live server: a second handle on the same file.
func TestBackupFromASecondHandleWhileTheServerWrites(t *testing.T) {
	d := openTemp(t)
	if _, err := d.W.Exec(`INSERT INTO setup_tokens (token_hash, created_at) VALUES ('committed', 0)`); err != nil {
		t.Fatal(err)
	}
	release := holdWriteTx(t, d)
	defer release()

	other, err := OpenFile(context.Background(), d.Path)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	dest := filepath.Join(t.TempDir(), "backup.db")
	if err := other.Backup(ctx, dest); err != nil {
		t.Fatalf("backup while a write transaction is open: %v", err)
	}
	if n := countTokens(t, dest); n != 1 {
		t.Errorf("backup holds %d rows, want 1 (the committed one, not the open transaction's)", n)
	}
}

// Backup through the app's own handle must not wait for the writer: an export started from the
// running server (or a long write) would otherwise stall one behind the other.
func TestBackupWhileAWriteTransactionIsOpen(t *testing.T) {
	d := openTemp(t)
	if _, err := d.W.Exec(`INSERT INTO setup_tokens (token_hash, created_at) VALUES ('committed', 0)`); err != nil {
		t.Fatal(err)
	}
	release := holdWriteTx(t, d)
	defer release()

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	dest := filepath.Join(t.TempDir(), "backup.db")
	if err := d.Backup(ctx, dest); err != nil {
		t.Fatalf("backup while a write transaction is open on another goroutine: %v", err)
	}
	if n := countTokens(t, dest); n != 1 {
		t.Errorf("backup holds %d rows, want 1", n)
	}
}

func TestBackupRefusesToOverwrite(t *testing.T) {
	d := openTemp(t)
	dest := filepath.Join(t.TempDir(), "existing.db")
	if err := os.WriteFile(dest, []byte("keep me"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := d.Backup(context.Background(), dest); err == nil {
		t.Fatal("backup overwrote an existing file")
	}
	if b, _ := os.ReadFile(dest); string(b) != "keep me" {
		t.Errorf("the existing file was changed: %q", b)
	}
}
