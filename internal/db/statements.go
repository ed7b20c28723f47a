package db

import (
	"context"
	"database/sql"
	"sync"
)

// Statements keeps one worker's statements prepared on the writer pool from one transaction to
// the next. modernc.org/sqlite parses every statement it is given, and a worker that runs the
// same few dozen statements for every webhook event or message spends a tenth of its time
// parsing them otherwise (the Ingester at 3,300 events/s; automation's planning under load). A
// transaction reuses a statement prepared on its connection (sql.Tx.StmtContext), and the
// writer pool has one connection. Inside a transaction that connection is taken, so a
// statement missing from the cache is prepared in the transaction, and on the pool only
// afterwards, by PrepareMissed.
type Statements struct {
	pool   *sql.DB
	mu     sync.Mutex
	stmts  map[string]*sql.Stmt
	missed map[string]bool
}

// maxStatements bounds a cache: workers' queries are a few dozen literals.
const maxStatements = 128

// NewStatements returns an empty cache for the writer pool w.
func NewStatements(w *sql.DB) *Statements {
	return &Statements{pool: w, stmts: map[string]*sql.Stmt{}, missed: map[string]bool{}}
}

func (c *Statements) get(query string) *sql.Stmt {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.stmts[query]
	if s == nil && len(c.stmts)+len(c.missed) < maxStatements {
		c.missed[query] = true
	}
	return s
}

// PrepareMissed prepares on the pool, outside any transaction, what transactions asked for in
// vain. A Statements belongs to one worker: PrepareMissed waits for the writer while holding
// the cache.
func (c *Statements) PrepareMissed(ctx context.Context) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for q := range c.missed {
		delete(c.missed, q)
		if s, err := c.pool.PrepareContext(ctx, q); err == nil {
			c.stmts[q] = s
		}
	}
}

// Close closes the prepared statements.
func (c *Statements) Close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for q, s := range c.stmts {
		s.Close()
		delete(c.stmts, q)
	}
}

// In returns tx running its statements through c. The statements it prepares itself die with
// the transaction.
func (c *Statements) In(tx *sql.Tx) *PreparedTx {
	return &PreparedTx{Tx: tx, cache: c, stmts: map[string]*sql.Stmt{}}
}

// PreparedTx is a write transaction whose statements are each parsed once: it is a Querier
// for code that takes one, and Tx is the transaction itself for code that needs it.
type PreparedTx struct {
	Tx    *sql.Tx
	cache *Statements
	stmts map[string]*sql.Stmt
}

// Stmt returns the transaction's prepared statement for query, or nil when it cannot be
// prepared (the plain call then reports why).
func (p *PreparedTx) Stmt(ctx context.Context, query string) *sql.Stmt {
	if s, ok := p.stmts[query]; ok {
		return s
	}
	var s *sql.Stmt
	if cached := p.cache.get(query); cached != nil {
		s = p.Tx.StmtContext(ctx, cached)
	} else {
		var err error
		if s, err = p.Tx.PrepareContext(ctx, query); err != nil {
			return nil
		}
	}
	p.stmts[query] = s
	return s
}

func (p *PreparedTx) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if s := p.Stmt(ctx, query); s != nil {
		return s.ExecContext(ctx, args...)
	}
	return p.Tx.ExecContext(ctx, query, args...)
}

// QueryContext is not prepared: a prepared statement runs once at a time, and code that reads
// rows may run the same query again (for each row) before it closes them. Row-by-row queries
// are the rarer ones in the workers' transactions.
func (p *PreparedTx) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	return p.Tx.QueryContext(ctx, query, args...)
}

func (p *PreparedTx) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	if s := p.Stmt(ctx, query); s != nil {
		return s.QueryRowContext(ctx, args...)
	}
	return p.Tx.QueryRowContext(ctx, query, args...)
}
