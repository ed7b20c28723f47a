package authz

import "slices"

// Principal is who is making a request, as loaded fresh from the database on every request so
// that a changed role or a deactivation takes effect at once.
type Principal struct {
	MemberID    int64
	Name        string
	Email       string
	RoleID      int64
	RoleName    string
	Permissions Set
	Numbers     NumberScope

	// TwoFactorEnabled: the member has an authenticator. MustEnrolTwoFactor: their role or the
	// workspace policy requires 2FA and they have none yet, so they may do nothing but enrol.
	TwoFactorEnabled   bool
	MustEnrolTwoFactor bool

	// APIKeyID is set when the request is made with an API key (internal/apikeys): the key acts
	// for its creator (MemberID), with the intersection of its scopes and the creator's current
	// permissions and number scope, and is the actor in the activity log.
	APIKeyID   int64
	APIKeyName string

	// TimeZone is the member's own IANA zone ("" when not chosen): pages show and read times in
	// it. It grants nothing.
	TimeZone string
}

// NumberScope is the set of phone numbers a member works in.
type NumberScope struct {
	All bool
	IDs []int64
}

// Intersect returns the numbers in both n and other.
func (n NumberScope) Intersect(other NumberScope) NumberScope {
	switch {
	case n.All && other.All:
		return NumberScope{All: true}
	case n.All:
		return NumberScope{IDs: slices.Clone(other.IDs)}
	case other.All:
		return NumberScope{IDs: slices.Clone(n.IDs)}
	}
	var ids []int64
	for _, id := range n.IDs {
		if slices.Contains(other.IDs, id) {
			ids = append(ids, id)
		}
	}
	return NumberScope{IDs: ids}
}

// Can reports whether the principal holds perm. A nil principal holds nothing.
func (p *Principal) Can(perm Permission) bool {
	return p != nil && p.Permissions.Has(perm)
}

// CanAny reports whether the principal holds at least one of perms.
func (p *Principal) CanAny(perms ...Permission) bool {
	for _, perm := range perms {
		if p.Can(perm) {
			return true
		}
	}
	return false
}
