package authz

import (
	"math/bits"
	"strings"
)

// Set is a set of permissions as a bitset: a check is one shift and one AND, with no allocation,
// so it can run on every request without a cache (and without a cache's staleness).
type Set [2]uint64

// NewSet returns the set of the given permissions.
func NewSet(perms ...Permission) Set {
	var s Set
	for _, p := range perms {
		s = s.With(p)
	}
	return s
}

// FullSet holds every permission of the catalogue.
func FullSet() Set {
	var s Set
	for p := Permission(1); p < permissionCount; p++ {
		s = s.With(p)
	}
	return s
}

// Has reports whether p is in the set. Invalid permissions are never held.
func (s Set) Has(p Permission) bool {
	if !p.Valid() {
		return false
	}
	return s[p>>6]&(1<<(p&63)) != 0
}

// With returns the set with p added.
func (s Set) With(p Permission) Set {
	if p.Valid() {
		s[p>>6] |= 1 << (p & 63)
	}
	return s
}

// Without returns the set with p removed.
func (s Set) Without(p Permission) Set {
	if p.Valid() {
		s[p>>6] &^= 1 << (p & 63)
	}
	return s
}

// SubsetOf reports whether every permission in s is also in other: the no-escalation rule.
func (s Set) SubsetOf(other Set) bool {
	return s[0]&^other[0] == 0 && s[1]&^other[1] == 0
}

// Minus returns the permissions of s that other lacks.
func (s Set) Minus(other Set) Set {
	return Set{s[0] &^ other[0], s[1] &^ other[1]}
}

// Intersect returns the permissions in both s and other: an API key's effective permissions
// are its scopes intersected with its creator's current ones.
func (s Set) Intersect(other Set) Set {
	return Set{s[0] & other[0], s[1] & other[1]}
}

// Len counts the permissions in the set.
func (s Set) Len() int { return bits.OnesCount64(s[0]) + bits.OnesCount64(s[1]) }

// Permissions lists the set in catalogue order.
func (s Set) Permissions() []Permission {
	out := make([]Permission, 0, s.Len())
	for p := Permission(1); p < permissionCount; p++ {
		if s.Has(p) {
			out = append(out, p)
		}
	}
	return out
}

// IDs lists the ids of the set in catalogue order.
func (s Set) IDs() []string {
	perms := s.Permissions()
	out := make([]string, len(perms))
	for i, p := range perms {
		out[i] = p.ID()
	}
	return out
}

// Labels lists the human labels of the set in catalogue order, for messages to people.
func (s Set) Labels() []string {
	perms := s.Permissions()
	out := make([]string, len(perms))
	for i, p := range perms {
		out[i] = p.Label()
	}
	return out
}

// String is the space-separated ids, for logs and activity events.
func (s Set) String() string { return strings.Join(s.IDs(), " ") }

// ParseSet builds a set from ids; an unknown id is an error so that a typo never silently
// grants or drops a permission.
func ParseSet(ids []string) (Set, error) {
	var s Set
	for _, id := range ids {
		p, err := Parse(id)
		if err != nil {
			return Set{}, err
		}
		s = s.With(p)
	}
	return s, nil
}
