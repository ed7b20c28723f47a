package audit

import (
	"strings"
	"testing"
)

func TestIsSecretField(t *testing.T) {
	tests := []struct {
		field  string
		secret bool
	}{
		{"password", true},
		{"password_hash", true},
		{"newPassword", true},
		{"PASSWD", true},
		{"access_token", true},
		{"accessToken", true},
		{"AppSecret", true},
		{"webhook_secret", true},
		{"totp_seed", true},
		{"totpSeed", true},
		{"recovery_codes", true},
		{"code", true},
		{"api_key", true},
		{"APIKey", true},
		{"apikey", true},
		{"private_key", true},
		{"pin", true},
		{"seed_encrypted", true},
		{"session cookie", true},
		{"credentials", true},
		{"role", false},
		{"name", false},
		{"email", false},
		{"status", false},
		{"key_prefix", false},
		{"api_key_id", false},
		{"monkey", false},
		{"encoding", false},
		{"phone_number_ids", false},
		{"last_sign_in_at", false},
		{"", false},
	}
	for _, tt := range tests {
		if got := isSecretField(tt.field); got != tt.secret {
			t.Errorf("isSecretField(%q) = %v, want %v", tt.field, got, tt.secret)
		}
	}
}

func TestSplitWords(t *testing.T) {
	tests := map[string]string{
		"totpSeed":         "totp seed",
		"APIKey":           "api key",
		"access_token":     "access token",
		"HTTPServerSecret": "http server secret",
		"key2Value":        "key2 value",
		"  --x--  ":        "x",
	}
	for in, want := range tests {
		if got := strings.Join(splitWords(in), " "); got != want {
			t.Errorf("splitWords(%q) = %q, want %q", in, got, want)
		}
	}
}

// The security requirement's own test: the fixtures' secrets must not be anywhere in the
// events table, while the fact that the secret fields changed must be.
func TestRecordRedactsSecrets(t *testing.T) {
	const (
		password = "correct-horse-battery-staple"
		seed     = "JBSWY3DPEHPK3PXP"
		token    = "EAAGm0PX4ZCpsBAfixturetoken"
	)
	f := newFixture(t)
	in := []Change{
		{Field: "password", Before: nil, After: password},
		{Field: "totp_seed", Before: seed, After: nil},
		{Field: "role", Before: "Agent", After: "Administrator"},
		{Field: "settings", Before: nil, After: map[string]any{
			"access_token": token, "phone_number": "+4930123",
			"nested": []any{map[string]string{"app_secret": token}},
		}},
	}
	ev, err := f.log.Record(t.Context(), Event{Actor: MemberActor(1, "Ada"), Action: "member.updated", Changes: in})
	if err != nil {
		t.Fatal(err)
	}
	if in[0].After != password {
		t.Error("the caller's changes were modified")
	}

	var changes string
	if err := f.db.R.QueryRowContext(t.Context(), `SELECT changes FROM audit_events`).Scan(&changes); err != nil {
		t.Fatal(err)
	}
	want := `[{"field":"password","before":null,"after":"[redacted]"},` +
		`{"field":"totp_seed","before":"[redacted]","after":null},` +
		`{"field":"role","before":"Agent","after":"Administrator"},` +
		`{"field":"settings","before":null,"after":{"access_token":"[redacted]",` +
		`"nested":[{"app_secret":"[redacted]"}],"phone_number":"+4930123"}}]`
	if changes != want {
		t.Errorf("stored changes\n%s\nwant\n%s", changes, want)
	}

	var dump string
	if err := f.db.R.QueryRowContext(t.Context(), `SELECT group_concat(
		id || occurred_at || actor_type || actor_id || actor_name || action || target_type ||
		target_id || changes || client_addr || user_agent || request_id || outcome, '|')
		FROM audit_events`).Scan(&dump); err != nil {
		t.Fatal(err)
	}
	for _, secret := range []string{password, seed, token} {
		if strings.Contains(dump, secret) {
			t.Errorf("events table holds secret %q", secret)
		}
	}
	if ev.Changes[0].After != Redacted || ev.Changes[2].After != "Administrator" {
		t.Errorf("returned changes %+v do not match what is stored", ev.Changes)
	}
	if !f.verify(t).Intact {
		t.Error("chain broken")
	}
}
