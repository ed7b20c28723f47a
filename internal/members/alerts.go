package members

import (
	"context"

	"github.com/switchboard/switchboard/internal/db"
)

// SecurityAlert is a suspicious event administrators should look at.
type SecurityAlert struct {
	Kind     string // e.g. "two_factor_reset", "totp_replay", "role_raised_to_administrator"
	Title    string // a sentence for people; never a secret
	MemberID int64  // who it is about
}

// Alerter raises security alerts inside the caller's transaction. The alerts package implements
// it; members only needs to say what happened.
type Alerter interface {
	SecurityAlert(ctx context.Context, q db.Querier, a SecurityAlert) error
}

func raise(ctx context.Context, a Alerter, q db.Querier, alert SecurityAlert) error {
	if a == nil {
		return nil
	}
	return a.SecurityAlert(ctx, q, alert)
}
