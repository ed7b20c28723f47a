package web_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/switchboard/switchboard/internal/app/apptest"
)

func issueToken(t *testing.T, in *apptest.Instance) string {
	t.Helper()
	tok, err := in.App.Members.IssueSetupToken(context.Background())
	if err != nil || tok == "" {
		t.Fatalf("issue set-up token: %q, %v", tok, err)
	}
	return tok
}

func memberCount(t *testing.T, in *apptest.Instance) int {
	t.Helper()
	n, err := in.App.Members.Store().Count(context.Background(), in.App.DB.R)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func setupForm(token, password string) url.Values {
	return url.Values{"token": {token}, "name": {"Ada Lovelace"}, "email": {"ada@example.com"}, "password": {password}}
}

func TestSetupCreatesTheOwnerOnceWithTheTokenFromTheLog(t *testing.T) {
	in := apptest.Start(t)
	token := issueToken(t, in)
	c := in.Client()

	for _, bad := range []string{"", "WRONGTOKEN", strings.ToLower(token)} {
		if r := c.Get("/setup?token=" + url.QueryEscape(bad)); r.Status != http.StatusForbidden {
			t.Errorf("GET /setup with token %q: status %d, want 403", bad, r.Status)
		}
		if r := c.PostForm("/setup", setupForm(bad, "correct horse battery staple")); r.Status != http.StatusForbidden {
			t.Errorf("POST /setup with token %q: status %d, want 403", bad, r.Status)
		}
	}
	if n := memberCount(t, in); n != 0 {
		t.Fatalf("a wrong token created %d members", n)
	}

	page := c.Get("/setup?token=" + token)
	if page.Status != http.StatusOK || !strings.Contains(page.Body, "Create owner account") {
		t.Fatalf("set-up page: %d", page.Status)
	}

	r := c.PostForm("/setup", setupForm(token, "password1234"))
	if r.Status != http.StatusUnprocessableEntity || !strings.Contains(r.Body, "commonly used passwords") {
		t.Errorf("common password: status %d, body lacks the reason", r.Status)
	}
	r = c.PostForm("/setup", setupForm(token, "short"))
	if r.Status != http.StatusUnprocessableEntity || !strings.Contains(r.Body, "at least 12 characters") {
		t.Errorf("short password: status %d, body lacks the reason", r.Status)
	}
	if n := memberCount(t, in); n != 0 {
		t.Fatalf("refused input created %d members", n)
	}

	r = c.PostForm("/setup", setupForm(token, "correct horse battery staple"))
	if r.Status != http.StatusSeeOther || r.Location() != "/" {
		t.Fatalf("set-up: status %d to %q", r.Status, r.Location())
	}
	// The owner is an Administrator, whose role requires 2FA: enrolment comes before anything else.
	if dash := c.Get("/"); dash.Status != http.StatusSeeOther || dash.Location() != "/account/2fa" {
		t.Fatalf("after set-up the owner is not taken to 2FA enrolment: %d %s", dash.Status, dash.Location())
	}
	if enrol := c.Get("/account/2fa"); enrol.Status != http.StatusOK || !strings.Contains(enrol.Body, "Set up two-factor authentication") {
		t.Fatalf("enrolment page: %d", enrol.Status)
	}

	// The token is used up, and set-up is closed for good.
	other := in.Client()
	if r := other.PostForm("/setup", url.Values{"token": {token}, "name": {"Mallory"}, "email": {"mallory@example.com"},
		"password": {"correct horse battery staple"}}); r.Status != http.StatusGone {
		t.Errorf("second set-up with the used token: %d, want 410", r.Status)
	}
	if r := other.Get("/setup?token=" + token); r.Status != http.StatusGone {
		t.Errorf("set-up page after set-up: %d, want 410", r.Status)
	}
	if tok, err := in.App.Members.IssueSetupToken(context.Background()); err != nil || tok != "" {
		t.Errorf("a new token was issued although an owner exists: %q %v", tok, err)
	}
	if n := memberCount(t, in); n != 1 {
		t.Errorf("%d members after set-up, want 1", n)
	}
}

func TestANewSetupTokenRetiresTheOldOne(t *testing.T) {
	in := apptest.Start(t)
	old := issueToken(t, in)
	fresh := issueToken(t, in)
	c := in.Client()
	if r := c.Get("/setup?token=" + old); r.Status != http.StatusForbidden {
		t.Errorf("old token: %d, want 403", r.Status)
	}
	if r := c.Get("/setup?token=" + fresh); r.Status != http.StatusOK {
		t.Errorf("fresh token: %d, want 200", r.Status)
	}
}
