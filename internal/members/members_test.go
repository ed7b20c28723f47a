package members_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/app/apptest"
	"github.com/switchboard/switchboard/internal/audit"
	"github.com/switchboard/switchboard/internal/auth"
	"github.com/switchboard/switchboard/internal/authz"
	"github.com/switchboard/switchboard/internal/clock"
	"github.com/switchboard/switchboard/internal/db"
	"github.com/switchboard/switchboard/internal/members"
)

const memberPassword = "correct horse battery staple"

type serviceFixture struct {
	svc *members.Service
	db  *db.DB
	clk *clock.Fake
}

func newServiceFixture(t *testing.T) serviceFixture {
	t.Helper()
	ctx := context.Background()
	d, err := db.Open(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	clk := clock.NewFake(time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC))
	verifier, err := auth.NewVerifier(auth.DefaultPasswordParams)
	if err != nil {
		t.Fatal(err)
	}
	store := members.NewStore(d)
	if err := store.SyncBuiltinRoles(ctx, clk.Now()); err != nil {
		t.Fatal(err)
	}
	return serviceFixture{svc: members.NewService(d, store, audit.New(d, clk), verifier, clk), db: d, clk: clk}
}

func (f serviceFixture) create(t *testing.T, email, name, role string) members.Member {
	t.Helper()
	m, err := f.svc.Create(context.Background(), members.NewMember{Email: email, Name: name, Password: memberPassword, RoleKey: role})
	if err != nil {
		t.Fatalf("create %s: %v", email, err)
	}
	return m
}

func (f serviceFixture) count(t *testing.T, query string, args ...any) int {
	t.Helper()
	var n int
	if err := f.db.R.QueryRow(query, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}

// eventRow is one row of audit_events as stored.
type eventRow struct {
	ID                                    int64
	ActorType, ActorID, Action, Outcome   string
	TargetType, TargetID, Changes, Values string // Values: every column, joined
}

func (f serviceFixture) events(t *testing.T) []eventRow {
	t.Helper()
	return readEventRows(t, f.db.R)
}

func readEventRows(t *testing.T, q *sql.DB) []eventRow {
	t.Helper()
	rows, err := q.Query(`SELECT * FROM audit_events ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		t.Fatal(err)
	}
	var out []eventRow
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		col := map[string]string{}
		var all []string
		for i, c := range cols {
			s := fmt.Sprint(vals[i])
			if b, ok := vals[i].([]byte); ok {
				s = string(b)
			}
			col[c] = s
			all = append(all, c+"="+s)
		}
		var ev eventRow
		fmt.Sscan(col["id"], &ev.ID)
		ev.ActorType, ev.ActorID, ev.Action, ev.Outcome = col["actor_type"], col["actor_id"], col["action"], col["outcome"]
		ev.TargetType, ev.TargetID, ev.Changes, ev.Values = col["target_type"], col["target_id"], col["changes"], strings.Join(all, " ")
		out = append(out, ev)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestCreateStoresAMemberWithAnArgon2idHash(t *testing.T) {
	f := newServiceFixture(t)
	ctx := context.Background()
	m, err := f.svc.Create(ctx, members.NewMember{Email: "  ada@example.com ", Name: " Ada Lovelace ", Password: memberPassword, RoleKey: authz.RoleAgent})
	if err != nil {
		t.Fatal(err)
	}
	if m.Email != "ada@example.com" || m.Name != "Ada Lovelace" || m.RoleKey != authz.RoleAgent || m.RoleName != "Agent" || !m.Active() {
		t.Errorf("created %+v", m)
	}
	stored, err := f.svc.Store().ByEmail(ctx, "ADA@example.com")
	if err != nil {
		t.Fatalf("look-up by e-mail in other case: %v", err)
	}
	if stored.ID != m.ID || stored.CreatedAt.Location() != time.UTC || !stored.CreatedAt.Equal(f.clk.Now()) {
		t.Errorf("stored %+v", stored)
	}
	if !strings.HasPrefix(stored.PasswordHash, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Errorf("password hash %q is not argon2id with m=19456,t=2,p=1", stored.PasswordHash)
	}
	other := f.create(t, "grace@example.com", "Grace Hopper", authz.RoleAgent)
	if other.PasswordHash == stored.PasswordHash {
		t.Error("the same password hashed twice gives the same hash: no per-hash salt")
	}
	var created []eventRow
	for _, e := range f.events(t) {
		if e.Action == "member.created" {
			created = append(created, e)
		}
	}
	if len(created) != 2 || created[0].TargetType != "member" || created[0].TargetID != fmt.Sprint(m.ID) ||
		!strings.Contains(created[0].Changes, "ada@example.com") {
		t.Errorf("member.created events: %+v", created)
	}
}

func TestCreateRefusesBadInputAndChangesNothing(t *testing.T) {
	f := newServiceFixture(t)
	f.create(t, "ada@example.com", "Ada Lovelace", authz.RoleAdministrator)
	valid := members.NewMember{Email: "grace@example.com", Name: "Grace Hopper", Password: memberPassword, RoleKey: authz.RoleAgent}
	for _, tc := range []struct {
		name   string
		change func(*members.NewMember)
		fields []string
	}{
		{"empty name", func(in *members.NewMember) { in.Name = "" }, []string{"name"}},
		{"blank name", func(in *members.NewMember) { in.Name = " \t " }, []string{"name"}},
		{"name too long", func(in *members.NewMember) { in.Name = strings.Repeat("n", 101) }, []string{"name"}},
		{"name with a line break and markup", func(in *members.NewMember) { in.Name = "Eve\n<script>alert(1)</script>" }, []string{"name"}},
		{"name with a carriage return", func(in *members.NewMember) { in.Name = "Eve\rAdministrator" }, []string{"name"}},
		{"name with a NUL", func(in *members.NewMember) { in.Name = "Eve\x00" }, []string{"name"}},
		{"no e-mail", func(in *members.NewMember) { in.Email = "" }, []string{"email"}},
		{"e-mail without @", func(in *members.NewMember) { in.Email = "grace.example.com" }, []string{"email"}},
		{"e-mail with a display name", func(in *members.NewMember) { in.Email = "Grace <grace@example.com>" }, []string{"email"}},
		{"e-mail without a dot in the domain", func(in *members.NewMember) { in.Email = "grace@localhost" }, []string{"email"}},
		{"duplicate e-mail in other case", func(in *members.NewMember) { in.Email = "ADA@Example.COM" }, []string{"email"}},
		{"unknown role", func(in *members.NewMember) { in.RoleKey = "overlord" }, []string{"role"}},
		{"no role", func(in *members.NewMember) { in.RoleKey = "" }, []string{"role"}},
		{"common password", func(in *members.NewMember) { in.Password = "password1234" }, []string{"password"}},
		{"short password", func(in *members.NewMember) { in.Password = "short" }, []string{"password"}},
		{"everything wrong", func(in *members.NewMember) {
			*in = members.NewMember{Email: "nope", Password: "qwertyuiopasdfgh", RoleKey: "overlord"}
		}, []string{"email", "name", "password", "role"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			membersBefore, eventsBefore := f.count(t, `SELECT count(*) FROM members`), f.count(t, `SELECT count(*) FROM audit_events`)
			in := valid
			tc.change(&in)
			_, err := f.svc.Create(context.Background(), in)
			var fe members.FieldErrors
			if !errors.As(err, &fe) {
				t.Fatalf("error %v, want FieldErrors", err)
			}
			var keys []string
			for k, msg := range fe {
				keys = append(keys, k)
				if msg == "" {
					t.Errorf("field %s has no message", k)
				}
			}
			slices.Sort(keys)
			if !slices.Equal(keys, tc.fields) {
				t.Errorf("errors on %v (%v), want on %v", keys, fe, tc.fields)
			}
			if n := f.count(t, `SELECT count(*) FROM members`); n != membersBefore {
				t.Errorf("members %d → %d", membersBefore, n)
			}
			if n := f.count(t, `SELECT count(*) FROM audit_events`); n != eventsBefore {
				t.Errorf("activity events %d → %d", eventsBefore, n)
			}
		})
	}
}

func TestCreateExplainsRefusedPasswords(t *testing.T) {
	f := newServiceFixture(t)
	_, err := f.svc.Create(context.Background(), members.NewMember{Email: "grace@example.com", Name: "Grace Hopper", Password: "password1234", RoleKey: authz.RoleAgent})
	var fe members.FieldErrors
	if !errors.As(err, &fe) || !strings.Contains(fe["password"], "commonly used passwords") {
		t.Errorf("common password: %v", fe)
	}
	_, err = f.svc.Create(context.Background(), members.NewMember{Email: "eve@example.com", Name: "Eve\n<script>", Password: memberPassword, RoleKey: authz.RoleAgent})
	if !errors.As(err, &fe) || !strings.Contains(fe["name"], "line breaks") {
		t.Errorf("a name with a line break: %v, want a message about line breaks", err)
	}
}

func failedSignInRows(events []eventRow, afterID int64) []eventRow {
	var out []eventRow
	for _, e := range events {
		if e.ID > afterID && e.Action == "member.sign_in_failed" {
			out = append(out, e)
		}
	}
	return out
}

func lastEventID(events []eventRow) int64 {
	if len(events) == 0 {
		return 0
	}
	return events[len(events)-1].ID
}

func TestSignInRefusalsLookTheSameAndAreRecorded(t *testing.T) {
	f := newServiceFixture(t)
	ctx := context.Background()
	ada := f.create(t, "ada@example.com", "Ada Lovelace", authz.RoleAgent)
	eve := f.create(t, "eve@example.com", "Eve Example", authz.RoleAgent)
	if _, err := f.db.W.Exec(`UPDATE members SET status = 'deactivated' WHERE id = ?`, eve.ID); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, email, password string
		actorID               string // "" for an unknown account
		reason                string
	}{
		{"wrong password", "ada@example.com", "not the right password", fmt.Sprint(ada.ID), "wrong password"},
		{"empty password", "ada@example.com", "", fmt.Sprint(ada.ID), "wrong password"},
		{"unknown e-mail", "nobody@example.com", memberPassword, "", "unknown account"},
		{"empty e-mail", "", memberPassword, "", "unknown account"},
		{"deactivated member, right password", "eve@example.com", memberPassword, fmt.Sprint(eve.ID), "account deactivated"},
		{"deactivated member, wrong password", "eve@example.com", "not the right password", fmt.Sprint(eve.ID), "wrong password"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := lastEventID(f.events(t))
			m, err := f.svc.SignIn(ctx, tc.email, tc.password)
			if !errors.Is(err, members.ErrInvalidCredentials) {
				t.Fatalf("error %v, want ErrInvalidCredentials", err)
			}
			if m.ID != 0 {
				t.Errorf("a refused sign-in returned member %d", m.ID)
			}
			got := failedSignInRows(f.events(t), before)
			if len(got) != 1 {
				t.Fatalf("%d member.sign_in_failed events, want 1", len(got))
			}
			e := got[0]
			if e.Outcome != string(audit.OutcomeFailed) || !strings.Contains(e.Changes, tc.reason) {
				t.Errorf("event outcome %q changes %s, want failed with reason %q", e.Outcome, e.Changes, tc.reason)
			}
			if tc.actorID == "" && (e.ActorType != string(audit.ActorAnonymous) || e.ActorID != "" || e.TargetID != "") {
				t.Errorf("unknown account attributed to %s %q (target %q)", e.ActorType, e.ActorID, e.TargetID)
			}
			if tc.actorID != "" && (e.ActorType != string(audit.ActorMember) || e.ActorID != tc.actorID) {
				t.Errorf("event actor %s %q, want member %s", e.ActorType, e.ActorID, tc.actorID)
			}
		})
	}
	if m, _ := f.svc.Store().ByID(ctx, ada.ID); !m.LastSignInAt.IsZero() {
		t.Error("a refused sign-in was recorded as the last sign-in")
	}
	m, err := f.svc.SignIn(ctx, "ADA@example.com ", memberPassword)
	if err != nil || m.ID != ada.ID {
		t.Fatalf("right password: %v", err)
	}
	if stored, _ := f.svc.Store().ByID(ctx, ada.ID); !stored.LastSignInAt.Equal(f.clk.Now()) {
		t.Errorf("last sign-in %v, want %v", stored.LastSignInAt, f.clk.Now())
	}
}

// What someone typed into the e-mail field of a failed sign-in is often their password: it is
// not kept anywhere in the activity log.
func TestUnknownEmailIsNotStored(t *testing.T) {
	f := newServiceFixture(t)
	f.create(t, "ada@example.com", "Ada Lovelace", authz.RoleAgent)
	typed := []string{"typed-address-7f3a@example.net", "Hunter2-Tr0ub4dor&3-typed-in-the-wrong-field"}
	for _, email := range typed {
		if _, err := f.svc.SignIn(context.Background(), email, "some guess at a password"); !errors.Is(err, members.ErrInvalidCredentials) {
			t.Fatalf("unknown account: %v", err)
		}
	}
	for _, e := range f.events(t) {
		for _, s := range append(typed, "some guess at a password", "typed-address-7f3a") {
			if strings.Contains(e.Values, s) {
				t.Errorf("event %d (%s) contains %q: %s", e.ID, e.Action, s, e.Values)
			}
		}
	}
}

// An unknown e-mail must cost the same argon2id derivation as a known one, or the response time
// tells which addresses have accounts.
func TestUnknownEmailCostsAboutOnePasswordHash(t *testing.T) {
	f := newServiceFixture(t)
	f.create(t, "ada@example.com", "Ada Lovelace", authz.RoleAgent)
	ctx := context.Background()
	// In the process's CPU time, so other processes busy on the machine do not decide it.
	signIn := func(email string) time.Duration {
		start := processCPUTime(t)
		if _, err := f.svc.SignIn(ctx, email, "not the right password"); !errors.Is(err, members.ErrInvalidCredentials) {
			t.Fatalf("%s: %v", email, err)
		}
		return processCPUTime(t) - start
	}
	signIn("warm-up@example.com")
	// Interleaved, and the cheapest of five each, so our own GC skews neither side.
	known, unknown := time.Duration(1<<63-1), time.Duration(1<<63-1)
	for range 5 {
		known = min(known, signIn("ada@example.com"))
		unknown = min(unknown, signIn("nobody@example.com"))
	}
	ratio := float64(unknown) / float64(known)
	t.Logf("known %v, unknown %v, ratio %.2f", known, unknown, ratio)
	if ratio < 0.5 || ratio > 2.0 {
		t.Errorf("unknown e-mail took %v, known %v (ratio %.2f): the timing tells them apart", unknown, known, ratio)
	}
}

func setupRefusalCount(events []eventRow) int {
	n := 0
	for _, e := range events {
		if e.Action == "setup.refused" && e.Outcome == string(audit.OutcomeDenied) {
			n++
		}
	}
	return n
}

func TestCompleteSetupWithAWrongTokenIsRefusedAndRecorded(t *testing.T) {
	f := newServiceFixture(t)
	ctx := context.Background()
	token, err := f.svc.IssueSetupToken(ctx)
	if err != nil || token == "" {
		t.Fatalf("issue: %q %v", token, err)
	}
	owner := members.NewMember{Email: "ada@example.com", Name: "Ada Lovelace", Password: memberPassword}
	for i, bad := range []string{"", "WRONG", strings.ToLower(token), token + "x"} {
		if _, err := f.svc.CompleteSetup(ctx, bad, owner); !errors.Is(err, members.ErrSetupToken) {
			t.Errorf("token %q: %v, want ErrSetupToken", bad, err)
		}
		if n := setupRefusalCount(f.events(t)); n != i+1 {
			t.Errorf("after %d wrong tokens, %d setup.refused events", i+1, n)
		}
	}
	if n := f.count(t, `SELECT count(*) FROM members`); n != 0 {
		t.Fatalf("wrong tokens created %d members", n)
	}
	if err := f.svc.CheckSetupToken(ctx, token); err != nil {
		t.Errorf("wrong attempts used up the real token: %v", err)
	}
}

func TestSetupTokenIsSingleUse(t *testing.T) {
	f := newServiceFixture(t)
	ctx := context.Background()
	token, err := f.svc.IssueSetupToken(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// A refused form (common password) leaves the token usable: a typo must not lock the owner out.
	_, err = f.svc.CompleteSetup(ctx, token, members.NewMember{Email: "ada@example.com", Name: "Ada Lovelace", Password: "password1234"})
	var fe members.FieldErrors
	if !errors.As(err, &fe) {
		t.Fatalf("common password: %v", err)
	}
	// The role asked for is ignored: the first member is always an Administrator.
	owner, err := f.svc.CompleteSetup(ctx, token, members.NewMember{Email: "ada@example.com", Name: "Ada Lovelace", Password: memberPassword, RoleKey: authz.RoleAgent})
	if err != nil {
		t.Fatalf("set-up with the token: %v", err)
	}
	if owner.RoleKey != authz.RoleAdministrator {
		t.Errorf("owner role %q, want administrator", owner.RoleKey)
	}
	if n := f.count(t, `SELECT count(*) FROM setup_tokens`); n != 0 {
		t.Errorf("%d set-up tokens left after set-up", n)
	}
	refusedBefore := setupRefusalCount(f.events(t))
	_, err = f.svc.CompleteSetup(ctx, token, members.NewMember{Email: "mallory@example.com", Name: "Mallory", Password: memberPassword})
	if !errors.Is(err, members.ErrSetupClosed) {
		t.Errorf("second use of the token: %v, want ErrSetupClosed", err)
	}
	if n := setupRefusalCount(f.events(t)); n != refusedBefore+1 {
		t.Errorf("the second use was not recorded as setup.refused")
	}
	if n := f.count(t, `SELECT count(*) FROM members`); n != 1 {
		t.Errorf("%d members, want only the owner", n)
	}
	if tok, err := f.svc.IssueSetupToken(ctx); err != nil || tok != "" {
		t.Errorf("a set-up token was issued although an owner exists: %q %v", tok, err)
	}
	actions := map[string]int{}
	for _, e := range f.events(t) {
		actions[e.Action]++
	}
	if actions["setup.completed"] != 1 || actions["member.created"] != 1 {
		t.Errorf("events %v", actions)
	}
}

// No password or set-up token may reach the activity log or the server log, whatever path it
// takes: set-up, a sign-in that fails, one that works, a password typed into the e-mail field.
func TestNoSecretsInTheActivityLogOrTheServerLog(t *testing.T) {
	in := apptest.Start(t)
	ctx := context.Background()
	const (
		ownerPassword  = "owner secret passphrase 4417"
		wrongPassword  = "wrong secret passphrase 9921"
		agentPassword  = "agent secret passphrase 6630"
		typedInEmail   = "emailfield secret passphrase 5512"
		commonPassword = "password1234"
	)
	token, err := in.App.Members.IssueSetupToken(ctx)
	if err != nil || token == "" {
		t.Fatalf("issue: %q %v", token, err)
	}
	staleToken := token
	if token, err = in.App.Members.IssueSetupToken(ctx); err != nil {
		t.Fatal(err)
	}
	c := in.Client()
	form := func(tok, password string) url.Values {
		return url.Values{"token": {tok}, "name": {"Ada Lovelace"}, "email": {"ada@example.com"}, "password": {password}}
	}
	if r := c.PostForm("/setup", form(staleToken, ownerPassword)); r.Status != http.StatusForbidden {
		t.Errorf("stale token: %d", r.Status)
	}
	if r := c.Get("/setup?token=" + url.QueryEscape(token)); r.Status != http.StatusOK {
		t.Errorf("set-up page: %d", r.Status)
	}
	if r := c.PostForm("/setup", form(token, commonPassword)); r.Status != http.StatusUnprocessableEntity {
		t.Errorf("common password: %d", r.Status)
	}
	if r := c.PostForm("/setup", form(token, ownerPassword)); r.Status != http.StatusSeeOther {
		t.Fatalf("set-up: %d", r.Status)
	}
	if r := c.PostForm("/setup", form(token, ownerPassword)); r.Status != http.StatusGone {
		t.Errorf("reused token: %d", r.Status)
	}
	in.CreateMember("grace@example.com", "Grace Hopper", authz.RoleAgent, agentPassword)
	other := in.Client()
	for _, attempt := range []url.Values{
		{"email": {"grace@example.com"}, "password": {wrongPassword}},
		{"email": {typedInEmail}, "password": {wrongPassword}},
		{"email": {"grace@example.com"}, "password": {agentPassword}},
	} {
		other.PostForm("/login", attempt)
	}
	if r := other.Get("/"); r.Status != http.StatusOK {
		t.Fatalf("the agent is not signed in: %d", r.Status)
	}

	secrets := []string{ownerPassword, wrongPassword, agentPassword, typedInEmail, commonPassword, token, staleToken}
	var escaped []string
	for _, s := range secrets {
		escaped = append(escaped, s, url.QueryEscape(s), strings.ReplaceAll(s, " ", `\ `))
	}
	events := readEventRows(t, in.App.DB.R)
	if len(events) < 6 {
		t.Fatalf("only %d events recorded", len(events))
	}
	for _, e := range events {
		for _, s := range escaped {
			if strings.Contains(e.Values, s) {
				t.Errorf("event %d (%s) contains the secret %q", e.ID, e.Action, s)
			}
		}
	}
	logs := in.Logs.String()
	if !strings.Contains(logs, "/setup") || !strings.Contains(logs, "/login") {
		t.Fatalf("the server log does not show the requests; is it captured? %q", logs)
	}
	for _, s := range escaped {
		if strings.Contains(logs, s) {
			t.Errorf("the server log contains the secret %q", s)
		}
	}
}

// processCPUTime is the user and system CPU time this process has used so far.
func processCPUTime(t *testing.T) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		t.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
