package authz

// Requirement is what a route demands of the one calling it. Every route declares one; the zero
// value is "undeclared" and is refused when routes are registered, which is how deny-by-default
// is kept: a route cannot exist without someone having decided who may call it.
type Requirement struct {
	kind  requirementKind
	perm  Permission
	any   Set
	fresh bool
}

type requirementKind uint8

const (
	undeclared requirementKind = iota
	public
	signedIn
	enrolling
	permission
	anyPermission
)

// Public is for the few routes anyone may call: sign-in, set-up, health, static files, webhooks
// (which authenticate by signature instead).
func Public() Requirement { return Requirement{kind: public} }

// SignedIn is for routes every member may use whatever their role: their dashboard, their own
// account, signing out.
func SignedIn() Requirement { return Requirement{kind: signedIn} }

// Enrolling is for the few routes a member who must still set up two-factor authentication may
// use: the enrolment pages and signing out. Every other route sends them to enrolment.
func Enrolling() Requirement { return Requirement{kind: enrolling} }

// Require is for routes guarded by one permission of the catalogue.
func Require(p Permission) Requirement {
	if !p.Valid() {
		return Requirement{} // undeclared: refused at registration
	}
	return Requirement{kind: permission, perm: p}
}

// Fresh returns the requirement with recent re-authentication added: the member must have
// entered their password or a 2FA code within the last few minutes (API keys, exports, role
// changes, 2FA policy, recovery codes).
func (r Requirement) Fresh() Requirement {
	r.fresh = true
	return r
}

// NeedsFreshAuth reports whether the route asks for recent re-authentication.
func (r Requirement) NeedsFreshAuth() bool { return r.fresh }

// AllowsDuringEnrolment reports whether a member who must still enrol in 2FA may use the route.
func (r Requirement) AllowsDuringEnrolment() bool { return r.kind == enrolling || r.kind == public }

// RequireAny is for the few pages that several permissions of one family open with different
// reach, such as the inbox (conversations.view_assigned shows one's own conversations,
// conversations.view_all all of them): the route admits any of them and the domain's
// visibility predicate decides what each sees.
func RequireAny(perms ...Permission) Requirement {
	set := NewSet(perms...)
	if set.Len() == 0 {
		return Requirement{}
	}
	return Requirement{kind: anyPermission, any: set}
}

// Declared reports whether the requirement was set on purpose.
func (r Requirement) Declared() bool { return r.kind != undeclared }

// IsPublic reports whether no sign-in is needed.
func (r Requirement) IsPublic() bool { return r.kind == public }

// Permission returns the guarding permission, if any.
func (r Requirement) Permission() (Permission, bool) { return r.perm, r.kind == permission }

// Allows decides whether p may pass. Anything unexpected denies.
func (r Requirement) Allows(p *Principal) bool {
	switch r.kind {
	case public:
		return true
	case signedIn, enrolling:
		return p != nil
	case permission:
		return p.Can(r.perm)
	case anyPermission:
		return p != nil && p.Permissions[0]&r.any[0] != 0 || p != nil && p.Permissions[1]&r.any[1] != 0
	default:
		return false
	}
}

// Permissions lists what the requirement admits: one permission, or several for RequireAny.
func (r Requirement) Permissions() []Permission {
	switch r.kind {
	case permission:
		return []Permission{r.perm}
	case anyPermission:
		return r.any.Permissions()
	}
	return nil
}

// String describes the requirement for route listings and logs.
func (r Requirement) String() string {
	switch r.kind {
	case public:
		return "public"
	case signedIn:
		return "signed-in"
	case enrolling:
		return "signed-in (during 2FA enrolment)"
	case permission, anyPermission:
		var ids string
		if r.kind == permission {
			ids = r.perm.ID()
		} else {
			ids = "any of " + r.any.String()
		}
		if r.fresh {
			return ids + " (re-authenticated)"
		}
		return ids
	default:
		return "undeclared"
	}
}
