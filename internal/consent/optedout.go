package consent

import (
	"context"

	"github.com/switchboard/switchboard/internal/db"
)

// OptedOut reports whether the contact's newest record is an opt-out, read through q (the
// caller's transaction, so a STOP that just arrived is seen). Automation sends nothing to such a
// contact, not even service replies.
func (s *Service) OptedOut(ctx context.Context, q db.Querier, contactID int64) (bool, error) {
	r, err := current(ctx, q, contactID)
	return r.Status == StatusOptedOut, err
}
