package reviews

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/switchboard/switchboard/internal/authz"
	"github.com/switchboard/switchboard/internal/db"
	"github.com/switchboard/switchboard/internal/members"
	"github.com/switchboard/switchboard/internal/settings"
)

// Overview lists every member with their access and flags, and the open invitations. The
// activity log is read with two statements whatever the number of members: the latest event of
// each member (an index lookup per member inside one query) and the actions each member took
// within UsageWindow (one grouped scan of that window).
func (s *Service) Overview(ctx context.Context) (Overview, error) {
	now := s.clock.Now()
	st, err := s.Settings(ctx)
	if err != nil {
		return Overview{}, err
	}
	policy, err := s.settings.Security(ctx)
	if err != nil {
		return Overview{}, err
	}
	list, err := s.members.Store().List(ctx)
	if err != nil {
		return Overview{}, err
	}
	perms, err := s.rolePermissions(ctx)
	if err != nil {
		return Overview{}, err
	}
	last, err := lastActivity(ctx, s.db.R)
	if err != nil {
		return Overview{}, err
	}
	since := now.Add(-UsageWindow)
	used, err := usedSince(ctx, s.db.R, since)
	if err != nil {
		return Overview{}, err
	}
	invs, err := s.members.PendingInvitations(ctx)
	if err != nil {
		return Overview{}, err
	}
	out := Overview{Invitations: invs, Settings: st, Since: since}
	for _, m := range list {
		out.Members = append(out.Members, assess(m, perms[m.RoleID], last[m.ID], used[m.ID], st, policy, now))
	}
	return out, nil
}

// assess computes a member's flags. It is pure so the flag rules are tested without a database.
func assess(m members.Member, perms authz.Set, last time.Time, used authz.Set, st Settings, policy settings.Security, now time.Time) MemberAccess {
	a := MemberAccess{Member: m, Permissions: perms, LastActivity: last}
	for _, p := range perms.Permissions() {
		switch {
		case !Traceable(p):
			a.Untraceable++
		case !used.Has(p):
			a.Unused = append(a.Unused, p)
		}
	}
	if !m.Active() {
		return a // a deactivated member has no access left to review
	}
	seen := m.LastSignInAt
	if last.After(seen) {
		seen = last
	}
	if seen.IsZero() {
		seen = m.CreatedAt
	}
	if now.Sub(seen) >= time.Duration(st.InactiveDays)*24*time.Hour {
		a.Flags = append(a.Flags, FlagInactive)
	}
	if !m.TwoFactorEnabled && (m.RoleRequiresTwoFactor || policy.TwoFactor == settings.TwoFactorEveryone) {
		a.Flags = append(a.Flags, FlagNoTwoFactor)
	}
	if m.RoleKey == authz.RoleAdministrator {
		a.Flags = append(a.Flags, FlagAdministrator)
	}
	// A member who joined within the window has not had the chance to use everything yet.
	if len(a.Unused) > 0 && now.Sub(m.CreatedAt) >= UsageWindow {
		a.Flags = append(a.Flags, FlagUnusedPermissions)
	}
	if m.LastSignInAt.IsZero() {
		a.Flags = append(a.Flags, FlagNeverSignedIn)
	}
	return a
}

func (s *Service) rolePermissions(ctx context.Context) (map[int64]authz.Set, error) {
	roles, err := s.members.Store().Roles(ctx)
	if err != nil {
		return nil, err
	}
	out := make(map[int64]authz.Set, len(roles))
	for _, r := range roles {
		out[r.ID] = r.Permissions
	}
	return out, nil
}

// lastActivity is the time of each member's newest event, one index lookup per member on
// audit_events_actor_idx (actor_type, actor_id, id) inside a single statement.
func lastActivity(ctx context.Context, q db.Querier) (map[int64]time.Time, error) {
	rows, err := q.QueryContext(ctx, `SELECT m.id, (SELECT e.occurred_at FROM audit_events e
		WHERE e.actor_type = 'member' AND e.actor_id = CAST(m.id AS TEXT) ORDER BY e.id DESC LIMIT 1)
		FROM members m`)
	if err != nil {
		return nil, fmt.Errorf("last activity: %w", err)
	}
	defer rows.Close()
	out := map[int64]time.Time{}
	for rows.Next() {
		var id int64
		var at *int64
		if err := rows.Scan(&id, &at); err != nil {
			return nil, fmt.Errorf("scan last activity: %w", err)
		}
		if at != nil {
			out[id] = fromMillis(*at)
		}
	}
	return out, rows.Err()
}

// usedSince is the permissions each member used since t, from one grouped query over the
// successful events of that window (the window is turned into an id range first, as the
// activity pages do, since time grows with id).
func usedSince(ctx context.Context, q db.Querier, t time.Time) (map[int64]authz.Set, error) {
	var firstID int64
	if err := q.QueryRowContext(ctx, `SELECT coalesce((SELECT id FROM audit_events WHERE occurred_at >= ?
		ORDER BY occurred_at LIMIT 1), 0)`, millis(t)).Scan(&firstID); err != nil {
		return nil, fmt.Errorf("usage window: %w", err)
	}
	out := map[int64]authz.Set{}
	if firstID == 0 {
		return out, nil
	}
	rows, err := q.QueryContext(ctx, `SELECT actor_id, action, `+sendKindSQL+` AS kind FROM audit_events
		WHERE id >= ? AND actor_type = 'member' AND outcome = 'success'
		GROUP BY actor_id, action, kind`, firstID)
	if err != nil {
		return nil, fmt.Errorf("permission use: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var actor, action, kind string
		if err := rows.Scan(&actor, &action, &kind); err != nil {
			return nil, fmt.Errorf("scan permission use: %w", err)
		}
		id, err := strconv.ParseInt(actor, 10, 64)
		if err != nil {
			continue
		}
		if p, ok := permissionUsedBy(action, kind); ok {
			out[id] = out[id].With(p)
		}
	}
	return out, rows.Err()
}

// inScope reports whether member m falls in a campaign's scope: everyone, or a chosen role, or
// working in one of the chosen numbers (a member of all numbers works in each of them).
func inScope(m members.Member, in CampaignInput) bool {
	if in.AllMembers {
		return true
	}
	if slices.Contains(in.RoleIDs, m.RoleID) {
		return true
	}
	for _, n := range in.NumberIDs {
		if m.AllNumbers || slices.Contains(m.NumberIDs, n) {
			return true
		}
	}
	return false
}
