package members_test

import (
	"testing"

	"github.com/switchboard/switchboard/internal/audit"
	"github.com/switchboard/switchboard/internal/authz"
	"github.com/switchboard/switchboard/internal/members"
)

// twoNumbers adds a WABA with phone numbers 1 and 2.
func (f *accessFixture) twoNumbers() {
	f.t.Helper()
	now := f.clock.Now().UnixMilli()
	if _, err := f.db.W.ExecContext(f.ctx, `INSERT INTO wabas (id, waba_id, created_at, updated_at) VALUES (1, '100', ?, ?)`, now, now); err != nil {
		f.t.Fatal(err)
	}
	for _, id := range []int{1, 2} {
		if _, err := f.db.W.ExecContext(f.ctx, `INSERT INTO phone_numbers (id, waba_ref, phone_number_id, created_at, updated_at) VALUES (?, 1, ?, ?, ?)`,
			id, 1000+id, now, now); err != nil {
			f.t.Fatal(err)
		}
	}
}

func (f *accessFixture) eventCount() int {
	f.t.Helper()
	var n int
	if err := f.db.R.QueryRowContext(f.ctx, `SELECT count(*) FROM audit_events`).Scan(&n); err != nil {
		f.t.Fatal(err)
	}
	return n
}

// A manager who works in number 1 only must not act on a member who works in every number, even
// one whose permissions are within the manager's: otherwise they could hand that member a role
// with conversations.view_all and so open every number's conversations to them.
func TestAManagerOfSomeNumbersCannotActOnAMemberOfMoreNumbers(t *testing.T) {
	f := newAccessFixture(t)
	f.twoNumbers()
	sup := f.supervisor() // holds members.manage, conversations.view_all, … over all numbers
	admin, err := f.svc.Store().ByEmail(f.ctx, "root@example.com")
	if err != nil {
		t.Fatal(err)
	}
	pa := f.principal(admin)
	if err := f.svc.SetNumberScope(f.ctx, pa, sup.ID, false, []int64{1}); err != nil {
		t.Fatal(err)
	}
	ps := f.principal(sup)
	supRole := f.reload(sup).RoleID

	wide := f.member("wide@example.com", authz.RoleAgent) // all numbers
	narrow := f.member("narrow@example.com", authz.RoleAgent)
	if err := f.svc.SetNumberScope(f.ctx, pa, narrow.ID, false, []int64{1}); err != nil {
		t.Fatal(err)
	}
	session, err := f.svc.Store().StartSession(f.ctx, wide.ID, "test", "127.0.0.1", f.clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	inv, _, err := f.svc.Invite(f.ctx, pa, members.InviteInput{Email: "invitee@example.com", RoleID: f.role(authz.RoleAgent).ID, AllNumbers: true})
	if err != nil {
		t.Fatal(err)
	}
	tf := members.NewTwoFactor(f.db, f.svc.Store(), audit.New(f.db, f.clock), nil, f.clock, nil, nil)

	before := f.eventCount()
	refusals := map[string]error{
		"raise role to one with view_all":  f.svc.ChangeRole(f.ctx, ps, wide.ID, supRole),
		"change role to Support":           f.svc.ChangeRole(f.ctx, ps, wide.ID, f.role(authz.RoleSupport).ID),
		"narrow the number scope":          f.svc.SetNumberScope(f.ctx, ps, wide.ID, false, []int64{1}),
		"deactivate":                       f.svc.Deactivate(f.ctx, ps, wide.ID),
		"sign out everywhere":              f.svc.EndSessions(f.ctx, ps, wide.ID),
		"end one session":                  f.svc.EndSession(f.ctx, ps, session),
		"reset 2FA":                        tf.Reset(f.ctx, ps, wide.ID),
		"delete":                           f.svc.Delete(f.ctx, ps, wide.ID),
		"revoke an all-numbers invitation": f.svc.RevokeInvitation(f.ctx, ps, inv.ID),
		"check before showing controls":    f.svc.CheckManageable(f.ctx, ps, wide.ID),
	}
	_, _, replaceErr := f.svc.Invite(f.ctx, ps, members.InviteInput{Email: "invitee@example.com", RoleID: f.role(authz.RoleAgent).ID, NumberIDs: []int64{1}})
	refusals["replace the open invitation by a new one"] = replaceErr
	for what, err := range refusals {
		wantKind(t, err, members.ErrForbidden, what)
	}
	got := f.reload(wide)
	if got.RoleKey != authz.RoleAgent || !got.AllNumbers || !got.Active() {
		t.Fatalf("the refused changes changed the member: %+v", got)
	}
	if ok, _ := f.svc.Store().SessionExists(f.ctx, session); !ok {
		t.Fatal("a refused sign-out ended the session")
	}
	if pending, _ := f.svc.PendingInvitations(f.ctx); len(pending) != 1 || pending[0].ID != inv.ID {
		t.Fatalf("the invitation changed: %+v", pending)
	}
	if n := f.eventCount(); n != before {
		t.Fatalf("refusals wrote %d success events", n-before)
	}

	// Within the manager's numbers and permissions, the same actions are allowed.
	if err := f.svc.CheckManageable(f.ctx, ps, narrow.ID); err != nil {
		t.Fatalf("member within scope: %v", err)
	}
	if err := f.svc.ChangeRole(f.ctx, ps, narrow.ID, f.role(authz.RoleSupport).ID); err != nil {
		t.Fatalf("change role within scope: %v", err)
	}
	if err := f.svc.Deactivate(f.ctx, ps, narrow.ID); err != nil {
		t.Fatalf("deactivate within scope: %v", err)
	}
	// An administrator of all numbers still manages everyone.
	if err := f.svc.ChangeRole(f.ctx, pa, wide.ID, f.role(authz.RoleSupport).ID); err != nil {
		t.Fatalf("administrator: %v", err)
	}
}
