package authz

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
}

// NumberScope is the set of phone numbers a member works in.
type NumberScope struct {
	All bool
	IDs []int64
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
