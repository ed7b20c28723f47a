// Package migrations holds the SQL schema changes, applied in order by internal/db.
// Files are named NNNN_what.sql and use goose's "-- +goose Up" annotations.
package migrations

import "embed"

// FS is every migration, embedded so that the binary carries its own schema.
//
//go:embed *.sql
var FS embed.FS
