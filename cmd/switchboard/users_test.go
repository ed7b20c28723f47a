package main

import (
	"context"
	"strings"
	"testing"

	"github.com/switchboard/switchboard/internal/alerts"
	"github.com/switchboard/switchboard/internal/mail/mailtest"
)

// The owner who is locked out resets their password on the server: sessions end, 2FA stays, the
// activity log names the command.
func TestUserResetPassword(t *testing.T) {
	dir := t.TempDir()
	cliCreateUser(t, dir, "ada@example.com", "Ada Lovelace")
	core := cliOpenCore(t, dir)
	ctx := context.Background()
	m, err := core.Members.Store().ByEmail(ctx, "ada@example.com")
	if err != nil {
		t.Fatal(err)
	}
	sid, err := core.Members.Store().StartSession(ctx, m.ID, "test", "127.0.0.1", core.Clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	const next = "a completely new passphrase"
	r := runWith(t, next+"\n", nil, "user", "reset-password", "--data", dir, "--email", "ada@example.com", "--password-stdin")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	if strings.Contains(r.stdout+r.stderr, next) {
		t.Error("the password was echoed")
	}
	if _, err := core.Members.SignIn(ctx, "ada@example.com", next); err != nil {
		t.Errorf("sign in with the new password: %v", err)
	}
	if _, err := core.Members.SignIn(ctx, "ada@example.com", cliPassword); err == nil {
		t.Error("the old password still works")
	}
	if ok, _ := core.Members.Store().SessionExists(ctx, sid); ok {
		t.Error("the member's session survived the reset")
	}
	var actorType, actorName string
	if err := core.DB.R.QueryRow(`SELECT actor_type, actor_name FROM audit_events WHERE action = 'member.password_reset'`).Scan(&actorType, &actorName); err != nil {
		t.Fatalf("no member.password_reset event: %v", err)
	}
	if actorType != "system" || actorName != "command line: switchboard user reset-password" {
		t.Errorf("event attributed to %s %q", actorType, actorName)
	}

	// Refusals: weak password, unknown address, password not on standard input. Nothing changes.
	for _, tc := range []struct {
		stdin string
		args  []string
		want  string
	}{
		{"password\n", []string{"--email", "ada@example.com", "--password-stdin"}, "--password-stdin"},
		{next + "x\n", []string{"--email", "nobody@example.com", "--password-stdin"}, "no member has the address"},
		{"", []string{"--email", "ada@example.com"}, "--password-stdin"},
	} {
		r := runWith(t, tc.stdin, nil, append([]string{"user", "reset-password", "--data", dir}, tc.args...)...)
		if r.code == 0 || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("%v: exit %d, %q", tc.args, r.code, r.stderr)
		}
	}
	if _, err := core.Members.SignIn(ctx, "ada@example.com", next); err != nil {
		t.Errorf("a refused reset changed the password: %v", err)
	}
}

func TestUserList(t *testing.T) {
	dir := t.TempDir()
	cliCreateUser(t, dir, "ada@example.com", "Ada Lovelace")
	cliCreateUser(t, dir, "grace@example.com", "Grace\x1b[31m Hopper")
	r := runWith(t, "", nil, "user", "list", "--data", dir)
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	for _, want := range []string{"E-MAIL", "ada@example.com", "Ada Lovelace", "Administrator", "active", "never"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("list lacks %q:\n%s", want, r.stdout)
		}
	}
	if strings.Contains(r.stdout, "\x1b") {
		t.Error("a control character reached the terminal")
	}
	var n int
	cliRawDB(t, dir).QueryRow(`SELECT count(*) FROM audit_events WHERE action = 'member.listed' AND actor_name = 'command line: switchboard user list'`).Scan(&n)
	if n != 1 {
		t.Error("the listing is not in the activity log")
	}
}

// A new Administrator made on the command line raises the "Role raised to Administrator" alert,
// and with a mail server set it is e-mailed to those who see alerts; other roles raise nothing.
func TestUserCreateAdministratorRaisesTheAlert(t *testing.T) {
	srv := mailtest.Start(t, mailtest.Options{})
	dir := t.TempDir()
	cliCreateUser(t, dir, "ada@example.com", "Ada Lovelace")
	env := map[string]string{"SWITCHBOARD_SMTP_URL": srv.URL(), "SWITCHBOARD_SMTP_FROM": testMailFrom}
	r := runWith(t, cliPassword+"\n", env, "user", "create", "--data", dir, "--email", "eve@example.com", "--name", "Eve",
		"--role", "administrator", "--password-stdin")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	r = runWith(t, cliPassword+"\n", env, "user", "create", "--data", dir, "--email", "al@example.com", "--name", "Al",
		"--role", "agent", "--password-stdin")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	core := cliOpenCore(t, dir)
	page, err := core.Alerts.List(context.Background(), alerts.ListQuery{Open: true})
	if err != nil {
		t.Fatal(err)
	}
	var raised []string
	for _, a := range page.Alerts {
		if a.Kind == alerts.KindRoleRaisedToAdministrator {
			raised = append(raised, a.Title)
		}
	}
	// Ada was created first, with no mail server: her alert is there too.
	if len(raised) != 2 || !strings.Contains(raised[0], "Eve was added as an Administrator from command line: switchboard user create") {
		t.Fatalf("alerts: %q", raised)
	}
	var queued int
	cliRawDB(t, dir).QueryRow(`SELECT count(*) FROM mail_outbox WHERE kind = 'alert'`).Scan(&queued)
	if queued != 2 { // to Ada and to Eve, both Administrators when it was raised
		t.Errorf("%d alert e-mails queued, want 2", queued)
	}
}
