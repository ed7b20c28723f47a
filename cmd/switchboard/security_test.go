package main

import (
	"context"
	"strings"
	"testing"
)

// When the allow-list shuts everyone out, the command line clears it and the activity log names
// the command as the (system) actor.
func TestSecurityClearAllowlist(t *testing.T) {
	dir := t.TempDir()
	core := cliOpenCore(t, dir)
	if _, err := core.AllowList.Add(context.Background(), "203.0.113.0/24", "office", "Ada", "203.0.113.1"); err != nil {
		t.Fatal(err)
	}
	core.Close()
	r := runWith(t, "", nil, "security", "clear-allowlist", "--data", dir)
	if r.code != 0 || !strings.Contains(r.stdout, "cleared the IP allow-list (1 networks)") {
		t.Fatalf("exit %d: %s %s", r.code, r.stdout, r.stderr)
	}
	var n int
	var actorType, actorName string
	db := cliRawDB(t, dir)
	if err := db.QueryRow(`SELECT count(*) FROM ip_allowlist`).Scan(&n); err != nil || n != 0 {
		t.Errorf("%d networks left (%v)", n, err)
	}
	if err := db.QueryRow(`SELECT actor_type, actor_name FROM audit_events WHERE action = 'security.allowlist_cleared'`).Scan(&actorType, &actorName); err != nil {
		t.Fatal(err)
	}
	if actorType != "system" || actorName != "switchboard security clear-allowlist" {
		t.Errorf("actor %s %q", actorType, actorName)
	}
	if r := runWith(t, "", nil, "security", "clear-allowlist", "--data", dir); r.code != 0 || !strings.Contains(r.stdout, "was empty") {
		t.Errorf("second run: %d %s", r.code, r.stdout)
	}
	if r := runWith(t, "", nil, "security", "--data", dir); r.code == 0 {
		t.Error("security without a subcommand succeeded")
	}
}
