package apikeys_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/alerts"
	"github.com/switchboard/switchboard/internal/apikeys"
	"github.com/switchboard/switchboard/internal/audit"
	"github.com/switchboard/switchboard/internal/auth"
	"github.com/switchboard/switchboard/internal/authz"
	"github.com/switchboard/switchboard/internal/clock"
	"github.com/switchboard/switchboard/internal/db"
	"github.com/switchboard/switchboard/internal/members"
	"github.com/switchboard/switchboard/internal/settings"
)

type fixture struct {
	t        *testing.T
	ctx      context.Context
	db       *db.DB
	clk      *clock.Fake
	members  *members.Service
	settings *settings.Store
	keys     *apikeys.Service
}

func newFixture(t *testing.T) *fixture {
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
	v, err := auth.NewVerifier(auth.PasswordParams{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32})
	if err != nil {
		t.Fatal(err)
	}
	log := audit.New(d, clk)
	st := settings.NewStore(d, log, clk, settings.Security{TwoFactor: settings.TwoFactorByRole, IdleTimeout: 30 * time.Minute, AbsoluteTimeout: 12 * time.Hour})
	return &fixture{t: t, ctx: ctx, db: d, clk: clk, settings: st,
		members: members.NewService(d, store, log, v, clk),
		keys:    apikeys.NewService(d, store, log, alerts.New(d, log, clk), st, clk)}
}

func (f *fixture) member(email, role string) *authz.Principal {
	f.t.Helper()
	m, err := f.members.Create(f.ctx, members.NewMember{Email: email, Name: email, Password: "a long and unguessable passphrase", RoleKey: role})
	if err != nil {
		f.t.Fatal(err)
	}
	return f.principal(m.ID)
}

func (f *fixture) principal(id int64) *authz.Principal {
	f.t.Helper()
	p, _, err := f.members.Store().Principal(f.ctx, id)
	if err != nil {
		f.t.Fatal(err)
	}
	return p
}

func (f *fixture) count(q string, args ...any) int {
	f.t.Helper()
	var n int
	if err := f.db.R.QueryRow(q, args...).Scan(&n); err != nil {
		f.t.Fatal(err)
	}
	return n
}

func TestCreateShowsTheSecretOnceAndStoresOnlyItsHash(t *testing.T) {
	f := newFixture(t)
	admin := f.member("admin@example.com", authz.RoleAdministrator)
	k, secret, err := f.keys.Create(f.ctx, admin, apikeys.NewKey{Name: "n8n order sync",
		Scopes: []string{"conversations.view_all", "messages.send_text"}, AllNumbers: true})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(secret, "sb_live_") || len(secret) != len("sb_live_")+43 {
		t.Errorf("secret %q: want sb_live_ and 32 bytes base64url", secret)
	}
	if k.Last4 != secret[len(secret)-4:] {
		t.Errorf("last4 %q of %q", k.Last4, secret)
	}
	if want := f.clk.Now().Add(90 * 24 * time.Hour); !k.ExpiresAt.Equal(want) {
		t.Errorf("default expiry %v, want %v", k.ExpiresAt, want)
	}
	// Nothing in the database is the secret, or its random part.
	var stored []byte
	if err := f.db.R.QueryRow(`SELECT secret_hash FROM api_keys WHERE id = ?`, k.ID).Scan(&stored); err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(stored, []byte(secret[8:])) || len(stored) != 32 {
		t.Errorf("stored secret column is not a hash: %d bytes", len(stored))
	}
	if n := f.count(`SELECT count(*) FROM audit_events WHERE changes LIKE ?`, "%"+secret[8:]+"%"); n != 0 {
		t.Errorf("the secret is in %d activity events", n)
	}
	if n := f.count(`SELECT count(*) FROM audit_events WHERE action = 'api_key.created' AND actor_id = ?`, admin.MemberID); n != 1 {
		t.Errorf("api_key.created events: %d", n)
	}
	if n := f.count(`SELECT count(*) FROM alerts WHERE kind = ?`, string(alerts.KindAPIKeyCreated)); n != 1 {
		t.Errorf("API key created alerts: %d", n)
	}
	p, err := f.keys.Authenticate(f.ctx, secret, "203.0.113.9")
	if err != nil {
		t.Fatal(err)
	}
	if p.APIKeyID != k.ID || p.MemberID != admin.MemberID || p.Permissions != authz.NewSet(authz.ConversationsViewAll, authz.MessagesSendText) {
		t.Errorf("principal %+v", p)
	}
	if audit.PrincipalActor(p).Type != audit.ActorAPIKey {
		t.Error("the key is not the actor")
	}
	got, _ := f.keys.Store().Get(f.ctx, k.ID)
	if got.LastUsedAddr != "203.0.113.9" || got.LastUsedAt.IsZero() {
		t.Errorf("last use not recorded: %+v", got)
	}
}

func TestCreateRefusesMoreThanTheCreatorHolds(t *testing.T) {
	f := newFixture(t)
	dev := f.member("dev@example.com", authz.RoleDeveloper)
	cases := []struct {
		name  string
		in    apikeys.NewKey
		field string
	}{
		{"scope the creator lacks", apikeys.NewKey{Name: "x", Scopes: []string{"conversations.view_all"}, AllNumbers: true}, "scopes"},
		{"unknown scope", apikeys.NewKey{Name: "x", Scopes: []string{"everything"}, AllNumbers: true}, "scopes"},
		{"no scope", apikeys.NewKey{Name: "x", AllNumbers: true}, "scopes"},
		{"no name", apikeys.NewKey{Scopes: []string{"templates.view"}, AllNumbers: true}, "name"},
		{"over a year", apikeys.NewKey{Name: "x", Scopes: []string{"templates.view"}, AllNumbers: true, ExpiresIn: 366 * 24 * time.Hour}, "expiry"},
		{"never, not allowed", apikeys.NewKey{Name: "x", Scopes: []string{"templates.view"}, AllNumbers: true, NoExpiry: true}, "expiry"},
		{"no numbers", apikeys.NewKey{Name: "x", Scopes: []string{"templates.view"}}, "numbers"},
	}
	for _, c := range cases {
		_, _, err := f.keys.Create(f.ctx, dev, c.in)
		var fe apikeys.FieldErrors
		if !errors.As(err, &fe) || fe[c.field] == "" {
			t.Errorf("%s: %v, want an error on %s", c.name, err, c.field)
		}
	}
	agent := f.member("agent@example.com", authz.RoleAgent)
	if _, _, err := f.keys.Create(f.ctx, agent, apikeys.NewKey{Name: "x", Scopes: []string{"messages.send_text"}, AllNumbers: true}); !errors.Is(err, apikeys.ErrForbidden) {
		t.Errorf("agent without api_keys.manage: %v", err)
	}
	if n := f.count(`SELECT count(*) FROM api_keys`); n != 0 {
		t.Errorf("%d keys stored by refused requests", n)
	}
	if err := f.settings.SetAPIKeysAllowNoExpiry(f.ctx, true); err != nil {
		t.Fatal(err)
	}
	k, _, err := f.keys.Create(f.ctx, dev, apikeys.NewKey{Name: "x", Scopes: []string{"templates.view"}, AllNumbers: true, NoExpiry: true})
	if err != nil || !k.ExpiresAt.IsZero() {
		t.Errorf("never-expiring key where allowed: %v %v", k.ExpiresAt, err)
	}
}

func TestAKeyStopsWithItsCreatorsAccess(t *testing.T) {
	f := newFixture(t)
	admin := f.member("admin@example.com", authz.RoleAdministrator)
	role, err := f.members.CreateRole(f.ctx, admin, members.RoleInput{Name: "Integrator"},
		authz.NewSet(authz.APIKeysManage, authz.ConversationsViewAll, authz.MessagesSendText))
	if err != nil {
		t.Fatal(err)
	}
	full, err := f.members.Store().RoleByID(f.ctx, role.ID)
	if err != nil {
		t.Fatal(err)
	}
	m, err := f.members.Create(f.ctx, members.NewMember{Email: "int@example.com", Name: "Ines Integrator", Password: "correct horse battery staple 42", RoleKey: full.Key})
	if err != nil {
		t.Fatalf("%v %#v", err, err)
	}
	creator := f.principal(m.ID)
	newKey := func() string {
		_, secret, err := f.keys.Create(f.ctx, creator, apikeys.NewKey{Name: "k", Scopes: []string{"conversations.view_all", "messages.send_text"}, AllNumbers: true})
		if err != nil {
			t.Fatal(err)
		}
		return secret
	}
	secret := newKey()

	// The role loses messages.send_text: the key loses it on its next request.
	if _, err := f.members.SetRolePermission(f.ctx, admin, role.ID, authz.MessagesSendText, false); err != nil {
		t.Fatal(err)
	}
	p, err := f.keys.Authenticate(f.ctx, secret, "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	if p.Can(authz.MessagesSendText) || !p.Can(authz.ConversationsViewAll) {
		t.Errorf("after the creator lost messages.send_text the key holds %s", p.Permissions)
	}

	// Expired.
	f.clk.Advance(91 * 24 * time.Hour)
	if _, err := f.keys.Authenticate(f.ctx, secret, "127.0.0.1"); !errors.Is(err, apikeys.ErrUnauthorized) {
		t.Errorf("expired key: %v", err)
	}

	// Revoked.
	secret = newKey()
	keys, _ := f.keys.Store().List(f.ctx)
	if err := f.keys.Revoke(f.ctx, admin, keys[0].ID); err != nil {
		t.Fatal(err)
	}
	if _, err := f.keys.Authenticate(f.ctx, secret, "127.0.0.1"); !errors.Is(err, apikeys.ErrUnauthorized) {
		t.Errorf("revoked key: %v", err)
	}

	// The creator changes their password: their sessions and keys end at once (ASVS 3.3.3).
	secret = newKey()
	if err := f.members.ChangePassword(f.ctx, m.ID, "correct horse battery staple 42", "a new and longer passphrase 43"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.keys.Authenticate(f.ctx, secret, "127.0.0.1"); !errors.Is(err, apikeys.ErrUnauthorized) {
		t.Errorf("key after the creator's password change: %v", err)
	}

	// The creator deactivated.
	secret = newKey()
	if err := f.members.Deactivate(f.ctx, admin, m.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := f.keys.Authenticate(f.ctx, secret, "127.0.0.1"); !errors.Is(err, apikeys.ErrUnauthorized) {
		t.Errorf("key of a deactivated creator: %v", err)
	}
	for _, bad := range []string{"", "sb_live_", "Bearer x", strings.Repeat("a", 51), "sb_live_" + strings.Repeat("A", 43)} {
		if _, err := f.keys.Authenticate(f.ctx, bad, "127.0.0.1"); !errors.Is(err, apikeys.ErrUnauthorized) {
			t.Errorf("%q: %v", bad, err)
		}
	}
}

func TestKeyNumberScopeIsWithinTheCreators(t *testing.T) {
	a := authz.NumberScope{IDs: []int64{1, 2}}
	if !a.Covers(authz.NumberScope{IDs: []int64{2}}) || a.Covers(authz.NumberScope{All: true}) || a.Covers(authz.NumberScope{IDs: []int64{3}}) {
		t.Error("Within")
	}
	if got := (authz.NumberScope{All: true}).Intersect(a); got.All || len(got.IDs) != 2 {
		t.Errorf("all ∩ {1,2} = %+v", got)
	}
	if got := (authz.NumberScope{IDs: []int64{2, 3}}).Intersect(a); got.All || len(got.IDs) != 1 || got.IDs[0] != 2 {
		t.Errorf("{2,3} ∩ {1,2} = %+v", got)
	}
}
