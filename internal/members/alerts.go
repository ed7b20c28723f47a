package members

import (
	"context"

	"github.com/switchboard/switchboard/internal/alerts"
	"github.com/switchboard/switchboard/internal/db"
)

// raise records a security alert inside the caller's transaction; without an alerts service
// (some tests) nothing is raised.
func raise(ctx context.Context, a *alerts.Service, q db.Querier, alert alerts.Alert) error {
	if a == nil {
		return nil
	}
	_, err := a.Raise(ctx, q, alert)
	return err
}
