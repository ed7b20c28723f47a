package members_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/audit"
	"github.com/switchboard/switchboard/internal/auth"
	"github.com/switchboard/switchboard/internal/authz"
	"github.com/switchboard/switchboard/internal/clock"
	"github.com/switchboard/switchboard/internal/db"
	"github.com/switchboard/switchboard/internal/members"
)

const accessPassword = "a long and unguessable passphrase"

type accessFixture struct {
	t     *testing.T
	ctx   context.Context
	db    *db.DB
	svc   *members.Service
	clock *clock.Fake
}

func newAccessFixture(t *testing.T) *accessFixture {
	t.Helper()
	ctx := context.Background()
	d, err := db.Open(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	clk := clock.NewFake(time.Date(2026, 5, 1, 9, 0, 0, 0, time.UTC))
	store := members.NewStore(d)
	if err := store.SyncBuiltinRoles(ctx, clk.Now()); err != nil {
		t.Fatal(err)
	}
	// Cheap hashing keeps these access-rule tests fast; the password tests use the real cost.
	v, err := auth.NewVerifier(auth.PasswordParams{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32})
	if err != nil {
		t.Fatal(err)
	}
	return &accessFixture{t: t, ctx: ctx, db: d, svc: members.NewService(d, store, audit.New(d, clk), v, clk), clock: clk}
}

func (f *accessFixture) member(email, roleKey string) members.Member {
	f.t.Helper()
	m, err := f.svc.Create(f.ctx, members.NewMember{Email: email, Name: email, Password: accessPassword, RoleKey: roleKey})
	if err != nil {
		f.t.Fatalf("create %s: %v", email, err)
	}
	return m
}

func (f *accessFixture) principal(m members.Member) *authz.Principal {
	f.t.Helper()
	p, _, err := f.svc.Store().Principal(f.ctx, m.ID)
	if err != nil {
		f.t.Fatal(err)
	}
	return p
}

func (f *accessFixture) role(key string) members.Role {
	f.t.Helper()
	r, err := f.svc.Store().RoleByKey(f.ctx, f.db.R, key)
	if err != nil {
		f.t.Fatal(err)
	}
	return r
}

func (f *accessFixture) reload(m members.Member) members.Member {
	f.t.Helper()
	got, err := f.svc.Store().ByID(f.ctx, m.ID)
	if err != nil {
		f.t.Fatal(err)
	}
	return got
}

// supervisor is a custom role that manages members but holds few other permissions.
func (f *accessFixture) supervisor() members.Member {
	f.t.Helper()
	admin := f.member("root@example.com", authz.RoleAdministrator)
	r, err := f.svc.CreateRole(f.ctx, f.principal(admin), members.RoleInput{Name: "Supervisor"},
		f.role(authz.RoleAgent).Permissions.With(authz.MembersView).With(authz.MembersInvite).With(authz.MembersManage).
			With(authz.RolesManage).With(authz.ConversationsViewAll).With(authz.ConversationsAssign))
	if err != nil {
		f.t.Fatal(err)
	}
	m := f.member("sup@example.com", authz.RoleAgent)
	if err := f.svc.ChangeRole(f.ctx, f.principal(admin), m.ID, r.ID); err != nil {
		f.t.Fatal(err)
	}
	return f.reload(m)
}

func wantKind(t *testing.T, err, kind error, what string) {
	t.Helper()
	if !errors.Is(err, kind) {
		t.Fatalf("%s: got %v, want %v", what, err, kind)
	}
	var re *members.RuleError
	if !errors.As(err, &re) || re.Message == "" {
		t.Fatalf("%s: refusal has no message for the person refused: %v", what, err)
	}
}

func TestNoEscalationThroughRolesInvitationsOrCustomRoles(t *testing.T) {
	f := newAccessFixture(t)
	sup := f.supervisor()
	p := f.principal(sup)
	agent := f.member("agent@example.com", authz.RoleAgent)

	err := f.svc.ChangeRole(f.ctx, p, agent.ID, f.role(authz.RoleAdministrator).ID)
	wantKind(t, err, members.ErrForbidden, "supervisor grants Administrator")
	if got := f.reload(agent); got.RoleKey != authz.RoleAgent {
		t.Errorf("role changed to %s despite the refusal", got.RoleKey)
	}

	_, _, err = f.svc.Invite(f.ctx, p, members.InviteInput{Email: "new@example.com", RoleID: f.role(authz.RoleAdministrator).ID, AllNumbers: true})
	wantKind(t, err, members.ErrForbidden, "supervisor invites an Administrator")

	_, err = f.svc.CreateRole(f.ctx, p, members.RoleInput{Name: "Biller"}, authz.NewSet(authz.BillingManage))
	wantKind(t, err, members.ErrForbidden, "supervisor builds a role with billing.manage")

	own, err := f.svc.CreateRole(f.ctx, p, members.RoleInput{Name: "Helper"}, authz.NewSet(authz.TemplatesView))
	if err != nil {
		t.Fatalf("a role from held permissions: %v", err)
	}
	_, err = f.svc.SetRolePermission(f.ctx, p, own.ID, authz.AuditExport, true)
	wantKind(t, err, members.ErrForbidden, "supervisor ticks audit.export")
	if r, _ := f.svc.Store().RoleByID(f.ctx, own.ID); r.Permissions.Has(authz.AuditExport) {
		t.Error("audit.export was granted despite the refusal")
	}
	if _, err := f.svc.SetRolePermission(f.ctx, p, own.ID, authz.NumbersView, true); err != nil {
		t.Errorf("granting a held permission: %v", err)
	}

	// A role the supervisor holds fully may be granted.
	if err := f.svc.ChangeRole(f.ctx, p, agent.ID, own.ID); err == nil {
		t.Log("agent moved to Helper")
	} else {
		t.Errorf("granting a role within one's own permissions: %v", err)
	}
}

func TestNobodyChangesTheirOwnAccessOrSomeoneMorePowerful(t *testing.T) {
	f := newAccessFixture(t)
	sup := f.supervisor()
	p := f.principal(sup)
	admin, _ := f.svc.Store().ByEmail(f.ctx, "root@example.com")

	wantKind(t, f.svc.ChangeRole(f.ctx, p, sup.ID, f.role(authz.RoleAgent).ID), members.ErrConflict, "change own role")
	wantKind(t, f.svc.Deactivate(f.ctx, p, admin.ID), members.ErrForbidden, "supervisor deactivates the administrator")
	wantKind(t, f.svc.Delete(f.ctx, p, admin.ID), members.ErrForbidden, "supervisor deletes the administrator")
	wantKind(t, f.svc.EndSessions(f.ctx, p, admin.ID), members.ErrForbidden, "supervisor signs the administrator out")
	if got := f.reload(admin); !got.Active() || got.SessionEpoch != admin.SessionEpoch {
		t.Error("the administrator was changed despite the refusals")
	}
}

func TestTheLastAdministratorStays(t *testing.T) {
	f := newAccessFixture(t)
	first := f.member("first@example.com", authz.RoleAdministrator)
	second := f.member("second@example.com", authz.RoleAdministrator)
	// With two administrators, one may demote the other.
	if err := f.svc.ChangeRole(f.ctx, f.principal(first), second.ID, f.role(authz.RoleAuditor).ID); err != nil {
		t.Fatalf("demote one of two administrators: %v", err)
	}
	// first is now the last one. A copy of the Administrator role holds every permission, so its
	// holder passes every other rule: only the last-administrator rule stands in the way.
	copyRole, err := f.svc.DuplicateRole(f.ctx, f.principal(first), f.role(authz.RoleAdministrator).ID)
	if err != nil {
		t.Fatal(err)
	}
	deputy := f.member("deputy@example.com", authz.RoleAgent)
	if err := f.svc.ChangeRole(f.ctx, f.principal(first), deputy.ID, copyRole.ID); err != nil {
		t.Fatal(err)
	}
	p := f.principal(deputy)
	wantKind(t, f.svc.ChangeRole(f.ctx, p, first.ID, f.role(authz.RoleAgent).ID), members.ErrConflict, "demote the last administrator")
	wantKind(t, f.svc.Deactivate(f.ctx, p, first.ID), members.ErrConflict, "deactivate the last administrator")
	wantKind(t, f.svc.Delete(f.ctx, p, first.ID), members.ErrConflict, "delete the last administrator")
	if got := f.reload(first); !got.Active() || got.RoleKey != authz.RoleAdministrator {
		t.Error("the last administrator was changed")
	}
	// Once there is another administrator, the first may go.
	if err := f.svc.ChangeRole(f.ctx, f.principal(first), second.ID, f.role(authz.RoleAdministrator).ID); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.Deactivate(f.ctx, p, first.ID); err != nil {
		t.Errorf("deactivate one of two administrators: %v", err)
	}
}

func TestBuiltinRolesAreReadOnlyAndRolesInUseStay(t *testing.T) {
	f := newAccessFixture(t)
	admin := f.member("admin@example.com", authz.RoleAdministrator)
	p := f.principal(admin)
	agent := f.role(authz.RoleAgent)
	_, err := f.svc.SetRolePermission(f.ctx, p, agent.ID, authz.BillingView, true)
	wantKind(t, err, members.ErrConflict, "edit a built-in role")
	wantKind(t, f.svc.DeleteRole(f.ctx, p, agent.ID), members.ErrConflict, "delete a built-in role")
	wantKind(t, f.svc.UpdateRole(f.ctx, p, agent.ID, members.RoleInput{Name: "Renamed"}), members.ErrConflict, "rename a built-in role")

	copyRole, err := f.svc.DuplicateRole(f.ctx, p, agent.ID)
	if err != nil {
		t.Fatal(err)
	}
	if copyRole.Name != "Copy of Agent" || copyRole.Permissions != agent.Permissions {
		t.Errorf("duplicate: %q with %v", copyRole.Name, copyRole.Permissions)
	}
	m := f.member("m@example.com", authz.RoleAgent)
	if err := f.svc.ChangeRole(f.ctx, p, m.ID, copyRole.ID); err != nil {
		t.Fatal(err)
	}
	wantKind(t, f.svc.DeleteRole(f.ctx, p, copyRole.ID), members.ErrConflict, "delete a role a member holds")
	if err := f.svc.ChangeRole(f.ctx, p, m.ID, agent.ID); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.DeleteRole(f.ctx, p, copyRole.ID); err != nil {
		t.Errorf("delete an unused custom role: %v", err)
	}
	if _, err := f.svc.Store().RoleByID(f.ctx, copyRole.ID); !errors.Is(err, members.ErrNotFound) {
		t.Errorf("deleted role still there: %v", err)
	}
}

func TestPermissionChangesReachTheMemberAtOnce(t *testing.T) {
	f := newAccessFixture(t)
	admin := f.member("admin@example.com", authz.RoleAdministrator)
	p := f.principal(admin)
	r, err := f.svc.CreateRole(f.ctx, p, members.RoleInput{Name: "Readers"}, authz.NewSet(authz.AuditView))
	if err != nil {
		t.Fatal(err)
	}
	m := f.member("reader@example.com", authz.RoleAgent)
	if err := f.svc.ChangeRole(f.ctx, p, m.ID, r.ID); err != nil {
		t.Fatal(err)
	}
	if !f.principal(m).Can(authz.AuditView) {
		t.Fatal("role change not applied")
	}
	if _, err := f.svc.SetRolePermission(f.ctx, p, r.ID, authz.AuditView, false); err != nil {
		t.Fatal(err)
	}
	if f.principal(m).Can(authz.AuditView) {
		t.Error("a revoked permission is still held")
	}
	before := f.reload(m).SessionEpoch
	if err := f.svc.ChangeRole(f.ctx, p, m.ID, f.role(authz.RoleAgent).ID); err != nil {
		t.Fatal(err)
	}
	if f.reload(m).SessionEpoch == before {
		t.Error("a role change did not renew the member's sessions")
	}
}

func TestInvitationsAreSingleUseAndExpire(t *testing.T) {
	f := newAccessFixture(t)
	admin := f.member("admin@example.com", authz.RoleAdministrator)
	p := f.principal(admin)
	analyst := f.role(authz.RoleAnalyst)

	inv, token, err := f.svc.Invite(f.ctx, p, members.InviteInput{Email: "ana@example.com", RoleID: analyst.ID, AllNumbers: true})
	if err != nil {
		t.Fatal(err)
	}
	if inv.ExpiresAt.Sub(f.clock.Now()) != 72*time.Hour {
		t.Errorf("invitation lasts %v", inv.ExpiresAt.Sub(f.clock.Now()))
	}
	if _, err := f.svc.AcceptInvitation(f.ctx, "WRONG"+token, "Ana", accessPassword); !errors.Is(err, members.ErrInvitationInvalid) {
		t.Errorf("wrong token: %v", err)
	}
	m, err := f.svc.AcceptInvitation(f.ctx, token, "Ana Analyst", accessPassword)
	if err != nil {
		t.Fatal(err)
	}
	if m.RoleKey != authz.RoleAnalyst || m.Email != "ana@example.com" {
		t.Errorf("accepted member: %+v", m)
	}
	if _, err := f.svc.AcceptInvitation(f.ctx, token, "Mallory", accessPassword); !errors.Is(err, members.ErrInvitationInvalid) {
		t.Errorf("reused token: %v", err)
	}

	_, late, err := f.svc.Invite(f.ctx, p, members.InviteInput{Email: "late@example.com", RoleID: analyst.ID, AllNumbers: true})
	if err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(72*time.Hour + time.Second)
	if _, err := f.svc.AcceptInvitation(f.ctx, late, "Late", accessPassword); !errors.Is(err, members.ErrInvitationInvalid) {
		t.Errorf("expired token: %v", err)
	}

	inv3, revoked, err := f.svc.Invite(f.ctx, p, members.InviteInput{Email: "rev@example.com", RoleID: analyst.ID, AllNumbers: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := f.svc.RevokeInvitation(f.ctx, p, inv3.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.AcceptInvitation(f.ctx, revoked, "Rev", accessPassword); !errors.Is(err, members.ErrInvitationInvalid) {
		t.Errorf("revoked token: %v", err)
	}

	_, _, err = f.svc.Invite(f.ctx, p, members.InviteInput{Email: "ANA@example.com", RoleID: analyst.ID, AllNumbers: true})
	if fe, ok := err.(members.FieldErrors); !ok || fe["email"] == "" {
		t.Errorf("inviting an existing member's address: %v", err)
	}
}

func TestNumberScopeCannotGrowThroughAScopedManager(t *testing.T) {
	f := newAccessFixture(t)
	admin := f.member("admin@example.com", authz.RoleAdministrator)
	now := f.clock.Now().UnixMilli()
	if _, err := f.db.W.ExecContext(f.ctx, `INSERT INTO wabas (id, waba_id, created_at, updated_at) VALUES (1, '100', ?, ?)`, now, now); err != nil {
		t.Fatal(err)
	}
	for _, id := range []int{1, 2} {
		if _, err := f.db.W.ExecContext(f.ctx, `INSERT INTO phone_numbers (id, waba_ref, phone_number_id, created_at, updated_at) VALUES (?, 1, ?, ?, ?)`,
			id, 1000+id, now, now); err != nil {
			t.Fatal(err)
		}
	}
	pa := f.principal(admin)
	boss := f.member("boss@example.com", authz.RoleAdministrator)
	if err := f.svc.SetNumberScope(f.ctx, pa, boss.ID, false, []int64{1}); err != nil {
		t.Fatal(err)
	}
	pb := f.principal(boss)
	if pb.Numbers.All || len(pb.Numbers.IDs) != 1 || pb.Numbers.IDs[0] != 1 {
		t.Fatalf("scope not stored: %+v", pb.Numbers)
	}
	m := f.member("m@example.com", authz.RoleAgent)
	if err := f.svc.SetNumberScope(f.ctx, pa, m.ID, false, []int64{1}); err != nil {
		t.Fatal(err)
	}
	wantKind(t, f.svc.SetNumberScope(f.ctx, pb, m.ID, true, nil), members.ErrForbidden, "scoped manager grants all numbers")
	wantKind(t, f.svc.SetNumberScope(f.ctx, pb, m.ID, false, []int64{2}), members.ErrForbidden, "scoped manager grants another number")
	if err := f.svc.SetNumberScope(f.ctx, pb, m.ID, false, []int64{1}); err != nil {
		t.Errorf("granting one's own number: %v", err)
	}
	if err := f.svc.SetNumberScope(f.ctx, pa, m.ID, false, []int64{99}); err == nil {
		t.Error("a nonexistent number was accepted")
	}
}

func TestAccessChangesAreAuditedWithBeforeAndAfter(t *testing.T) {
	f := newAccessFixture(t)
	admin := f.member("admin@example.com", authz.RoleAdministrator)
	p := f.principal(admin)
	ctx := audit.WithActor(f.ctx, audit.MemberActor(admin.ID, admin.Name))
	m := f.member("m@example.com", authz.RoleAgent)
	if err := f.svc.ChangeRole(ctx, p, m.ID, f.role(authz.RoleAnalyst).ID); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.Deactivate(ctx, p, m.ID); err != nil {
		t.Fatal(err)
	}
	events, _, err := audit.New(f.db, f.clock).List(f.ctx, audit.ListQuery{Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]audit.Event{}
	for _, e := range events {
		got[e.Action] = e
	}
	rc, ok := got["member.role_changed"]
	if !ok || rc.Actor.ID != "1" || len(rc.Changes) != 1 || rc.Changes[0].Before != "Agent" || rc.Changes[0].After != "Analyst" {
		t.Errorf("role change event: %+v", rc)
	}
	if d, ok := got["member.deactivated"]; !ok || d.Changes[0].After != "deactivated" {
		t.Errorf("deactivation event: %+v", d)
	}
}

func TestOnlySecurityManagersDecideWhichRolesNeed2FA(t *testing.T) {
	f := newAccessFixture(t)
	admin := f.member("admin@example.com", authz.RoleAdministrator)
	r, err := f.svc.CreateRole(f.ctx, f.principal(admin), members.RoleInput{Name: "Role editors", RequiresTwoFactor: true},
		authz.NewSet(authz.RolesManage, authz.MembersView))
	if err != nil {
		t.Fatal(err)
	}
	m := f.member("editor@example.com", authz.RoleAgent)
	if err := f.svc.ChangeRole(f.ctx, f.principal(admin), m.ID, r.ID); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.UpdateRole(f.ctx, f.principal(m), r.ID, members.RoleInput{Name: "Role editors", RequiresTwoFactor: false}); err != nil {
		t.Fatal(err)
	}
	if got, _ := f.svc.Store().RoleByID(f.ctx, r.ID); !got.RequiresTwoFactor {
		t.Error("a member without security.manage switched off their own role's 2FA requirement")
	}
}
