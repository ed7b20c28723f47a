package reviews

import (
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/authz"
	"github.com/switchboard/switchboard/internal/members"
	"github.com/switchboard/switchboard/internal/settings"
)

func TestUsageTableNamesRealPermissionsAndActions(t *testing.T) {
	for action, p := range usageByAction {
		if !p.Valid() {
			t.Errorf("%s maps to an invalid permission", action)
		}
	}
	for _, tc := range []struct {
		action, kind string
		want         authz.Permission
		ok           bool
	}{
		{"member.role_changed", "", authz.MembersManage, true},
		{"role.permission_granted", "", authz.RolesManage, true},
		{"message.sent", "template", authz.MessagesSendTemplate, true},
		{"message.sent", "canned", authz.MessagesSendCanned, true},
		{"member.signed_in", "", 0, false},
	} {
		got, ok := permissionUsedBy(tc.action, tc.kind)
		if got != tc.want || ok != tc.ok {
			t.Errorf("%s/%s: %v %v, want %v %v", tc.action, tc.kind, got, ok, tc.want, tc.ok)
		}
	}
	// Looking at pages leaves no event: such permissions are never called unused.
	for _, p := range []authz.Permission{authz.MembersView, authz.ConversationsViewAll, authz.AnalyticsView} {
		if Traceable(p) {
			t.Errorf("%s is marked traceable", p.ID())
		}
	}
}

func TestAssessFlags(t *testing.T) {
	now := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	st := Settings{InactiveDays: 30}
	byRole := settings.Security{TwoFactor: settings.TwoFactorByRole}
	old := now.AddDate(-1, 0, 0)
	admin := members.Member{Name: "A", RoleKey: authz.RoleAdministrator, Status: members.StatusActive, CreatedAt: old,
		LastSignInAt: now.AddDate(0, 0, -1), RoleRequiresTwoFactor: true}
	a := assess(admin, authz.FullSet(), time.Time{}, authz.NewSet(authz.MembersManage), st, byRole, now)
	want := []Flag{FlagNoTwoFactor, FlagAdministrator, FlagUnusedPermissions}
	if len(a.Flags) != len(want) {
		t.Fatalf("admin flags %v, want %v", a.Flags, want)
	}
	for i := range want {
		if a.Flags[i] != want[i] {
			t.Errorf("admin flags %v, want %v", a.Flags, want)
		}
	}
	// New this month, never signed in: not inactive yet, nothing unused yet.
	fresh := members.Member{Name: "F", RoleKey: authz.RoleAgent, Status: members.StatusActive, CreatedAt: now.AddDate(0, 0, -3)}
	f := assess(fresh, authz.NewSet(authz.MessagesSendText), time.Time{}, authz.Set{}, st, byRole, now)
	if len(f.Flags) != 1 || f.Flags[0] != FlagNeverSignedIn {
		t.Errorf("new member flags %v", f.Flags)
	}
	// Activity counts as being active, even without a recent sign-in.
	busy := members.Member{Name: "B", RoleKey: authz.RoleAgent, Status: members.StatusActive, CreatedAt: old, LastSignInAt: now.AddDate(0, 0, -60)}
	b := assess(busy, authz.Set{}, now.AddDate(0, 0, -2), authz.Set{}, st, settings.Security{TwoFactor: settings.TwoFactorEveryone}, now)
	if len(b.Flags) != 1 || b.Flags[0] != FlagNoTwoFactor {
		t.Errorf("busy member flags %v (2FA required of everyone)", b.Flags)
	}
}
