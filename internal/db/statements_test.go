package db

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"path/filepath"
	"sync/atomic"
	"testing"
)

// countingConnector counts the statements the writer's connections parse (PrepareContext).
type countingConnector struct {
	driver.Connector
	prepared *atomic.Int64
}

func (c countingConnector) Connect(ctx context.Context) (driver.Conn, error) {
	conn, err := c.Connector.Connect(ctx)
	if err != nil {
		return nil, err
	}
	return countingConn{sqliteConn: conn.(sqliteConn), prepared: c.prepared}, nil
}

type sqliteConn interface {
	driver.Conn
	driver.ConnBeginTx
	driver.ConnPrepareContext
	driver.ExecerContext
	driver.QueryerContext
}

type countingConn struct {
	sqliteConn
	prepared *atomic.Int64
}

func (c countingConn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	c.prepared.Add(1)
	return c.sqliteConn.PrepareContext(ctx, query)
}

func TestStatementsAreParsedOncePerTransactionThenOnceForAll(t *testing.T) {
	ctx := context.Background()
	var prepared atomic.Int64
	d, _, err := OpenAndMigrateWith(ctx, filepath.Join(t.TempDir(), "data"), Options{
		Interpose: func(pool Pool, c driver.Connector) driver.Connector {
			if pool != PoolWriter {
				return c
			}
			return countingConnector{Connector: c, prepared: &prepared}
		}})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	stmts := NewStatements(d.W)
	defer stmts.Close()
	const insert = `INSERT INTO setup_tokens (token_hash, created_at) VALUES (?, 0)`
	write := func(tokens ...string) {
		t.Helper()
		stmts.PrepareMissed(ctx)
		err := d.Tx(ctx, func(tx *sql.Tx) error {
			p := stmts.In(tx)
			for _, tok := range tokens {
				if _, err := p.ExecContext(ctx, insert, tok); err != nil {
					return err
				}
			}
			var n int
			return p.QueryRowContext(ctx, `SELECT count(*) FROM setup_tokens`).Scan(&n)
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	before := prepared.Load()
	write("a", "b", "c")
	if got := prepared.Load() - before; got != 2 {
		t.Errorf("the first transaction parsed %d statements, want 2 (the insert once for three uses, the count)", got)
	}
	before = prepared.Load()
	write("d", "e")
	if got := prepared.Load() - before; got != 2 {
		t.Errorf("between transactions and in the second %d statements were parsed, want the 2 missed ones, on the pool", got)
	}
	before = prepared.Load()
	write("f")
	if got := prepared.Load() - before; got != 0 {
		t.Errorf("the third transaction parsed %d statements, want none", got)
	}
	var n int
	if err := d.R.QueryRow(`SELECT count(*) FROM setup_tokens`).Scan(&n); err != nil || n != 6 {
		t.Errorf("%d rows written, want 6 (%v)", n, err)
	}
}
