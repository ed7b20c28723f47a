package db

import (
	"context"
	"database/sql"
	"fmt"

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
