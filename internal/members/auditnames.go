package members

import (
	"context"
	"database/sql"
	"errors"

	"github.com/switchboard/switchboard/internal/audit"
	"github.com/switchboard/switchboard/internal/db"
)

// AuditTargetName is what a member or role target is called now, for the activity log to keep
// in the event (audit.TargetNamer): the log then reads "Grace Hopper", not "member 6", and
// still does after a rename. It reads through q, the transaction recording the event, so a
// member created in it is named too; "" for other targets or rows not found.
func (s *Store) AuditTargetName(ctx context.Context, q db.Querier, t audit.Target) string {
	var query string
	switch t.Type {
	case "member":
		query = `SELECT name FROM members WHERE id = ?`
	case "role":
		query = `SELECT name FROM roles WHERE id = ?`
	default:
		return ""
	}
	var name string
	if err := q.QueryRowContext(ctx, query, t.ID).Scan(&name); err != nil && !errors.Is(err, sql.ErrNoRows) {
		return "" // a name is a courtesy; the event is recorded without one
	}
	return name
}
