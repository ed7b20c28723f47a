// Package dbcheck watches, in tests, for the one way Switchboard's two pools can hang each
// other: a goroutine that holds the writer (a write transaction) and waits for a reader, or
// holds a reader (open rows, a read transaction) and waits for the writer. With every reader
// taken by goroutines waiting for the writer, the writer's holder then waits for ever. Such a
// read is also wrong on its own: it does not see the transaction's own uncommitted changes.
// Inside a write transaction, read through it; finish a read before writing.
//
// A Checker interposes on the pools' connectors (db.Options.Interpose) and records each
// statement that breaks the rule, with the goroutine's stack; apptest fails the test that
// caused one.
package dbcheck

import (
	"bytes"
	"context"
	"database/sql/driver"
	"fmt"
	"runtime"
	"strconv"
	"sync"

	"github.com/switchboard/switchboard/internal/db"
)

// Violation is one statement that broke the rule.
type Violation struct {
	What  string
	Stack string
}

func (v Violation) String() string { return v.What + "\n" + v.Stack }

// maxViolations bounds what a Checker keeps: the first few say where to look.
const maxViolations = 20

// Checker tracks, per goroutine, the writer transactions and the reads it holds.
type Checker struct {
	mu         sync.Mutex
	writing    map[int64]int // goroutine → open write transactions
	reading    map[int64]int // goroutine → open reader rows and read transactions
	violations []Violation
	dropped    int
}

// New returns a Checker with nothing recorded.
func New() *Checker {
	return &Checker{writing: map[int64]int{}, reading: map[int64]int{}}
}

// Options are db.Options that route every pool through c.
func (c *Checker) Options() db.Options { return db.Options{Interpose: c.Interpose} }

// Interpose wraps one pool's connector.
func (c *Checker) Interpose(pool db.Pool, base driver.Connector) driver.Connector {
	return connector{Connector: base, c: c, writer: pool == db.PoolWriter}
}

// Violations returns what was recorded, and how many more were left out.
func (c *Checker) Violations() ([]Violation, int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]Violation(nil), c.violations...), c.dropped
}

func (c *Checker) record(what string) {
	buf := make([]byte, 16<<10)
	buf = buf[:runtime.Stack(buf, false)]
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.violations) >= maxViolations {
		c.dropped++
		return
	}
	c.violations = append(c.violations, Violation{What: what, Stack: string(buf)})
}

// enterWrite notes goroutine g taking the writer (a transaction, or one statement outside
// any) and checks that it holds no read. inTx: g already holds a write transaction, so this
// is a statement inside it.
func (c *Checker) enterWrite(g int64, what string) (inTx bool) {
	c.mu.Lock()
	inTx = c.writing[g] > 0
	holdsRead := c.reading[g] > 0
	c.mu.Unlock()
	if !inTx && holdsRead {
		c.record("waited for the writer (" + what + ") while holding a reader")
	}
	return inTx
}

func (c *Checker) read(g int64, what string) {
	c.mu.Lock()
	writing := c.writing[g] > 0
	c.mu.Unlock()
	if writing {
		c.record("read through a reader pool (" + what + ") inside a write transaction")
	}
}

func (c *Checker) add(m map[int64]int, g int64, n int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if m[g] += n; m[g] <= 0 {
		delete(m, g)
	}
}

// goroutineID reads the current goroutine's id from its stack header ("goroutine 42 [").
func goroutineID() int64 {
	var buf [64]byte
	b := buf[:runtime.Stack(buf[:], false)]
	b = bytes.TrimPrefix(b, []byte("goroutine "))
	if i := bytes.IndexByte(b, ' '); i > 0 {
		b = b[:i]
	}
	id, err := strconv.ParseInt(string(b), 10, 64)
	if err != nil {
		panic(fmt.Sprintf("dbcheck: goroutine id from %q: %v", b, err))
	}
	return id
}

type connector struct {
	driver.Connector
	c      *Checker
	writer bool
}

func (k connector) Connect(ctx context.Context) (driver.Conn, error) {
	base, err := k.Connector.Connect(ctx)
	if err != nil {
		return nil, err
	}
	return &conn{base: base, c: k.c, writer: k.writer}, nil
}

// The connection interfaces modernc.org/sqlite implements, which a wrapper must forward
// (sqlite.NewConnector's documentation lists them).
type sqliteConn interface {
	driver.Conn
	driver.ConnBeginTx
	driver.ConnPrepareContext
	driver.ExecerContext
	driver.QueryerContext
	driver.Pinger
	driver.SessionResetter
	driver.Validator
}

type conn struct {
	base   driver.Conn
	c      *Checker
	writer bool
}

func (w *conn) full() sqliteConn { return w.base.(sqliteConn) }

// Unwrap is for sqlite.Limit and others that look through wrappers.
func (w *conn) Unwrap() driver.Conn { return w.base }

func (w *conn) Prepare(query string) (driver.Stmt, error) {
	return w.PrepareContext(context.Background(), query)
}

func (w *conn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	s, err := w.full().PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	return &stmt{Stmt: s, w: w, query: query}, nil
}

func (w *conn) Close() error { return w.base.Close() }

func (w *conn) Begin() (driver.Tx, error) {
	return w.BeginTx(context.Background(), driver.TxOptions{})
}

func (w *conn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	g := goroutineID()
	if w.writer {
		w.c.enterWrite(g, "a write transaction")
	} else {
		w.c.read(g, "a read transaction")
	}
	tx, err := w.full().BeginTx(ctx, opts)
	if err != nil {
		return nil, err
	}
	held := w.c.reading
	if w.writer {
		held = w.c.writing
	}
	w.c.add(held, g, 1)
	return &txn{Tx: tx, release: func() { w.c.add(held, g, -1) }}, nil
}

func (w *conn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	w.check(query)
	return w.full().ExecContext(ctx, query, args)
}

func (w *conn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	g := w.check(query)
	rows, err := w.full().QueryContext(ctx, query, args)
	if err != nil || w.writer {
		return rows, err
	}
	return w.hold(g, rows), nil
}

// check checks one statement on this connection, on the current goroutine, which it returns.
func (w *conn) check(query string) int64 {
	g := goroutineID()
	if w.writer {
		w.c.enterWrite(g, query)
	} else {
		w.c.read(g, query)
	}
	return g
}

// hold counts a reader's open rows as a read held by g until they are closed.
func (w *conn) hold(g int64, rows driver.Rows) driver.Rows {
	w.c.add(w.c.reading, g, 1)
	return &heldRows{Rows: rows, release: sync.OnceFunc(func() { w.c.add(w.c.reading, g, -1) })}
}

func (w *conn) Ping(ctx context.Context) error { return w.full().Ping(ctx) }

func (w *conn) ResetSession(ctx context.Context) error { return w.full().ResetSession(ctx) }

func (w *conn) IsValid() bool { return w.full().IsValid() }

func (w *conn) CheckNamedValue(nv *driver.NamedValue) error {
	if c, ok := w.base.(driver.NamedValueChecker); ok {
		return c.CheckNamedValue(nv)
	}
	return driver.ErrSkip
}

type txn struct {
	driver.Tx
	release func()
}

func (t *txn) Commit() error {
	defer t.release()
	return t.Tx.Commit()
}

func (t *txn) Rollback() error {
	defer t.release()
	return t.Tx.Rollback()
}

type stmt struct {
	driver.Stmt
	w     *conn
	query string
}

func (s *stmt) ExecContext(ctx context.Context, args []driver.NamedValue) (driver.Result, error) {
	s.w.check(s.query)
	return s.Stmt.(driver.StmtExecContext).ExecContext(ctx, args)
}

func (s *stmt) QueryContext(ctx context.Context, args []driver.NamedValue) (driver.Rows, error) {
	g := s.w.check(s.query)
	rows, err := s.Stmt.(driver.StmtQueryContext).QueryContext(ctx, args)
	if err != nil || s.w.writer {
		return rows, err
	}
	return s.w.hold(g, rows), nil
}

type heldRows struct {
	driver.Rows
	release func()
}

func (r *heldRows) Close() error {
	defer r.release()
	return r.Rows.Close()
}
