package templates

import (
	"context"
	"slices"

	"github.com/switchboard/switchboard/internal/authz"
)

// Scope is the set of WhatsApp Business Accounts whose templates a principal may see and act on.
// Outside it a template answers ErrNotFound, never ErrForbidden, so its existence does not leak.
type Scope struct {
	All     bool
	WABAIDs []string // Meta's WABA ids
}

// Allows reports whether the scope covers the account.
func (s Scope) Allows(wabaID string) bool {
	return s.All || slices.Contains(s.WABAIDs, wabaID)
}

// ScopeFunc turns a principal into the accounts it works in. Templates belong to a WABA while a
// member's number scope lists phone numbers; only the workspace area knows which numbers belong
// to which account, so the web layer provides this mapping: a member works in an account when
// they work in at least one of its numbers.
type ScopeFunc func(ctx context.Context, p *authz.Principal) (Scope, error)

// AllNumbersOnly is the fail-closed ScopeFunc to use until numbers are mapped to accounts: a
// member who works in every number sees every account, a member limited to some numbers sees
// none.
func AllNumbersOnly(_ context.Context, p *authz.Principal) (Scope, error) {
	if p != nil && p.Numbers.All {
		return Scope{All: true}, nil
	}
	return Scope{}, nil
}
