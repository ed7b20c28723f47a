package db

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"fmt"
	"io/fs"

	"github.com/pressly/goose/v3"

	"github.com/switchboard/switchboard/migrations"
)

// Migrate applies every pending migration embedded in the binary and names the files applied.
func Migrate(ctx context.Context, w *sql.DB) ([]string, error) {
	// Out of order: migration numbers are handed out to work merged in any order (0018 may land
	// after 0022), and a database that already has 0022 must still get 0018.
	p, err := goose.NewProvider(goose.DialectSQLite3, w, migrations.FS,
		goose.WithDisableGlobalRegistry(true), goose.WithAllowOutofOrder(true))
	if err != nil {
		return nil, fmt.Errorf("migrations: %w", err)
	}
	results, err := p.Up(ctx)
	if err != nil {
		return nil, fmt.Errorf("apply migrations: %w", err)
	}
	applied := make([]string, 0, len(results))
	for _, r := range results {
		applied = append(applied, r.Source.Path)
	}
	return applied, nil
}

// Layout names what a database built by this binary looks like on disk: a hash of every
// migration and of PageSize. Generated benchmark databases are kept under it, so that a schema or
// page size change builds them afresh instead of measuring the old one.
func Layout() (string, error) {
	h := sha256.New()
	fmt.Fprintf(h, "page size %d\n", PageSize)
	err := fs.WalkDir(migrations.FS, ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(migrations.FS, name)
		h.Write([]byte(name))
		h.Write(b)
		return err
	})
	if err != nil {
		return "", fmt.Errorf("hash migrations: %w", err)
	}
	return hex.EncodeToString(h.Sum(nil))[:12], nil
}
