package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	_ "modernc.org/sqlite"

	"github.com/switchboard/switchboard/internal/app"
	"github.com/switchboard/switchboard/internal/authz"
	"github.com/switchboard/switchboard/internal/db"
	"github.com/switchboard/switchboard/internal/members"
)

const cliPassword = "correct horse battery staple"

type cliResult struct {
	code           int
	stdout, stderr string
}

// runWith runs one command line as the binary would, with the given standard input and
// environment (nil: an empty environment).
func runWith(t *testing.T, stdin string, env map[string]string, args ...string) cliResult {
	t.Helper()
	var out, errOut bytes.Buffer
	getenv := func(name string) string { return env[name] }
	code := run(context.Background(), args, strings.NewReader(stdin), &out, &errOut, getenv)
	return cliResult{code: code, stdout: out.String(), stderr: errOut.String()}
}

func cliOpenCore(t *testing.T, dir string) *app.Core {
	t.Helper()
	core, err := app.OpenCore(context.Background(), app.CoreOptions{DataDir: dir, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { core.Close() })
	return core
}

// cliRawDB opens the database file the way an operator with file access would, outside the app.
func cliRawDB(t *testing.T, dir string) *sql.DB {
	t.Helper()
	d, err := sql.Open("sqlite", "file:"+filepath.Join(dir, db.FileName)+"?_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

func cliMemberCount(t *testing.T, dir string) int {
	t.Helper()
	if _, err := os.Stat(filepath.Join(dir, db.FileName)); errors.Is(err, os.ErrNotExist) {
		return 0
	}
	var n int
	if err := cliRawDB(t, dir).QueryRow(`SELECT count(*) FROM members`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func cliCreateUser(t *testing.T, dir, email, name string) {
	t.Helper()
	r := runWith(t, cliPassword+"\n", nil, "user", "create", "--data", dir, "--email", email, "--name", name,
		"--role", "administrator", "--password-stdin")
	if r.code != 0 {
		t.Fatalf("user create %s: exit %d: %s", email, r.code, r.stderr)
	}
}

func TestUserCreateMakesAMemberWhoCanSignIn(t *testing.T) {
	dir := t.TempDir()
	r := runWith(t, cliPassword+"\n", nil, "user", "create", "--data", dir, "--email", "ada@example.com",
		"--name", "Ada Lovelace", "--role", "administrator", "--password-stdin")
	if r.code != 0 {
		t.Fatalf("exit %d, stderr: %s", r.code, r.stderr)
	}
	if !strings.Contains(r.stdout, "ada@example.com") || !strings.Contains(r.stdout, "Administrator") {
		t.Errorf("stdout does not confirm the member: %q", r.stdout)
	}
	if strings.Contains(r.stdout+r.stderr, cliPassword) {
		t.Error("the password was echoed")
	}

	core := cliOpenCore(t, dir)
	m, err := core.Members.SignIn(context.Background(), "ada@example.com", cliPassword)
	if err != nil {
		t.Fatalf("sign in as the created member: %v", err)
	}
	if m.Name != "Ada Lovelace" || m.RoleKey != authz.RoleAdministrator {
		t.Errorf("member %+v", m)
	}
	var actorType, actorName string
	err = core.DB.R.QueryRow(`SELECT actor_type, actor_name FROM audit_events WHERE action = 'member.created'`).Scan(&actorType, &actorName)
	if err != nil {
		t.Fatalf("no member.created event: %v", err)
	}
	if actorType != "system" || actorName == "" {
		t.Errorf("member.created attributed to %s %q, want the command line as system actor", actorType, actorName)
	}
}

func TestUserCreatePasswordWithoutTrailingNewline(t *testing.T) {
	dir := t.TempDir()
	r := runWith(t, cliPassword, nil, "user", "create", "--data", dir, "--email", "ada@example.com",
		"--name", "Ada Lovelace", "--admin", "--password-stdin")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	if _, err := cliOpenCore(t, dir).Members.SignIn(context.Background(), "ada@example.com", cliPassword); err != nil {
		t.Errorf("sign in: %v", err)
	}
}

func TestUserCreateRefusals(t *testing.T) {
	for _, tc := range []struct {
		name     string
		stdin    string
		args     []string
		wantCode int
		wantErr  []string // all must appear in stderr
	}{
		{"no --password-stdin", cliPassword + "\n",
			[]string{"--email", "ada@example.com", "--name", "Ada", "--role", "administrator"},
			1, []string{"--password-stdin"}},
		{"common password", "password1234\n",
			[]string{"--email", "ada@example.com", "--name", "Ada", "--role", "administrator", "--password-stdin"},
			1, []string{"--password-stdin", "commonly used passwords"}},
		{"empty standard input", "",
			[]string{"--email", "ada@example.com", "--name", "Ada", "--role", "administrator", "--password-stdin"},
			1, []string{"password"}},
		{"unknown role", cliPassword + "\n",
			[]string{"--email", "ada@example.com", "--name", "Ada", "--role", "overlord", "--password-stdin"},
			1, []string{"--role"}},
		{"bad e-mail", cliPassword + "\n",
			[]string{"--email", "ada", "--name", "Ada", "--role", "administrator", "--password-stdin"},
			1, []string{"--email"}},
		{"password as a flag", "",
			[]string{"--email", "ada@example.com", "--name", "Ada", "--role", "administrator", "--password", cliPassword},
			2, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			r := runWith(t, tc.stdin, nil, append([]string{"user", "create", "--data", dir}, tc.args...)...)
			if r.code != tc.wantCode {
				t.Errorf("exit %d, want %d (stderr %q)", r.code, tc.wantCode, r.stderr)
			}
			for _, s := range tc.wantErr {
				if !strings.Contains(r.stderr, s) {
					t.Errorf("stderr %q does not mention %q", r.stderr, s)
				}
			}
			if strings.Contains(r.stderr, "goroutine") || strings.Contains(r.stderr, "FieldErrors") {
				t.Errorf("stderr is not written for people: %q", r.stderr)
			}
			if n := cliMemberCount(t, dir); n != 0 {
				t.Errorf("%d members created", n)
			}
		})
	}
	// A duplicate is refused and leaves the first member as it was.
	dir := t.TempDir()
	cliCreateUser(t, dir, "ada@example.com", "Ada Lovelace")
	r := runWith(t, "another long passphrase here\n", nil, "user", "create", "--data", dir, "--email", "ADA@example.com",
		"--name", "Mallory", "--role", "agent", "--password-stdin")
	if r.code != 1 || !strings.Contains(r.stderr, "--email") {
		t.Errorf("duplicate e-mail: exit %d, stderr %q", r.code, r.stderr)
	}
	if n := cliMemberCount(t, dir); n != 1 {
		t.Errorf("%d members after a refused duplicate", n)
	}
}

func TestAuditVerifyOnAnIntactLog(t *testing.T) {
	dir := t.TempDir()
	cliCreateUser(t, dir, "ada@example.com", "Ada Lovelace")
	cliCreateUser(t, dir, "grace@example.com", "Grace Hopper")
	var events int
	if err := cliRawDB(t, dir).QueryRow(`SELECT count(*) FROM audit_events`).Scan(&events); err != nil {
		t.Fatal(err)
	}
	r := runWith(t, "", nil, "audit", "verify", "--data", dir)
	if r.code != 0 {
		t.Fatalf("exit %d: %s %s", r.code, r.stdout, r.stderr)
	}
	if !strings.Contains(r.stdout, "intact") || !strings.Contains(r.stdout, strconv.Itoa(events)+" events") {
		t.Errorf("summary %q does not name the %d events", r.stdout, events)
	}
}

var cliBrokenAt = regexp.MustCompile(`BROKEN at event (\d+)`)

func TestAuditVerifyNamesTheTamperedEvent(t *testing.T) {
	dir := t.TempDir()
	for _, email := range []string{"ada@example.com", "grace@example.com", "alan@example.com"} {
		cliCreateUser(t, dir, email, "Member "+email)
	}
	raw := cliRawDB(t, dir)
	var ids []int64
	rows, err := raw.Query(`SELECT id FROM audit_events ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	rows.Close()
	if len(ids) < 3 {
		t.Fatalf("%d events, want at least 3", len(ids))
	}
	target := ids[1]

	// The trigger refuses the edit as long as it is there.
	if _, err := raw.Exec(`UPDATE audit_events SET action = 'member.deleted' WHERE id = ?`, target); err == nil {
		t.Fatal("an UPDATE of an activity event passed the append-only trigger")
	}
	if _, err := raw.Exec(`DROP TRIGGER audit_events_no_update`); err != nil {
		t.Fatal(err)
	}
	if _, err := raw.Exec(`UPDATE audit_events SET action = 'member.deleted' WHERE id = ?`, target); err != nil {
		t.Fatal(err)
	}
	raw.Close()

	r := runWith(t, "", nil, "audit", "verify", "--data", dir)
	if r.code != 1 {
		t.Fatalf("exit %d after tampering, want 1 (stdout %q)", r.code, r.stdout)
	}
	m := cliBrokenAt.FindStringSubmatch(r.stdout)
	if m == nil {
		t.Fatalf("output does not name a broken event: %q", r.stdout)
	}
	if m[1] != strconv.FormatInt(target, 10) {
		t.Errorf("verify names event %s, want %d (the one changed): %q", m[1], target, r.stdout)
	}
}

func TestBackupWhileTheDatabaseIsInUse(t *testing.T) {
	dir := t.TempDir()
	core := cliOpenCore(t, dir) // a live writer, as a running server holds
	ctx := context.Background()
	for _, email := range []string{"ada@example.com", "grace@example.com"} {
		if _, err := core.Members.Create(ctx, members.NewMember{Email: email, Name: "Member " + email, Password: cliPassword, RoleKey: authz.RoleAgent}); err != nil {
			t.Fatal(err)
		}
	}
	dest := filepath.Join(t.TempDir(), "backup.db")
	r := runWith(t, "", nil, "backup", "--data", dir, dest)
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	if !strings.Contains(r.stdout, dest) {
		t.Errorf("stdout %q does not name the backup file", r.stdout)
	}

	var actor string
	if err := core.DB.R.QueryRow(`SELECT actor_name FROM audit_events WHERE action = 'database.backed_up' AND changes LIKE ?`,
		"%"+dest+"%").Scan(&actor); err != nil || actor != "command line: switchboard backup" {
		t.Errorf("the backup to %s is not in the activity log as the command's: %q, %v", dest, actor, err)
	}

	// The server keeps working after the backup.
	if _, err := core.Members.Create(ctx, members.NewMember{Email: "alan@example.com", Name: "Alan Turing", Password: cliPassword, RoleKey: authz.RoleAgent}); err != nil {
		t.Fatalf("write after backup: %v", err)
	}

	b, err := sql.Open("sqlite", "file:"+dest+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	var check string
	if err := b.QueryRow(`PRAGMA integrity_check`).Scan(&check); err != nil || check != "ok" {
		t.Fatalf("the backup is not a sound SQLite database: %q %v", check, err)
	}
	var emails []string
	rows, err := b.Query(`SELECT email FROM members ORDER BY email`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var e string
		if err := rows.Scan(&e); err != nil {
			t.Fatal(err)
		}
		emails = append(emails, e)
	}
	if strings.Join(emails, ",") != "ada@example.com,grace@example.com" {
		t.Errorf("backup holds members %v", emails)
	}

	// A second backup to the same file is refused and leaves it as it was.
	before := cliFileSum(t, dest)
	r = runWith(t, "", nil, "backup", "--data", dir, dest)
	if r.code != 1 || !strings.Contains(r.stderr, "exists") {
		t.Errorf("backup over an existing file: exit %d, stderr %q", r.code, r.stderr)
	}
	if cliFileSum(t, dest) != before {
		t.Error("the existing backup file was changed")
	}
}

func TestBackupRefusals(t *testing.T) {
	empty := t.TempDir()
	dest := filepath.Join(t.TempDir(), "b.db")
	if r := runWith(t, "", nil, "backup", "--data", empty, dest); r.code == 0 {
		t.Error("a backup of a data directory without a database succeeded")
	}
	if _, err := os.Stat(dest); err == nil {
		t.Error("a backup file was written from nothing")
	}
	if _, err := os.Stat(filepath.Join(empty, db.FileName)); err == nil {
		t.Error("backup created a database in the data directory")
	}
	if r := runWith(t, "", nil, "backup", "--data", empty); r.code == 0 || !strings.Contains(r.stderr, "usage") {
		t.Errorf("backup without a file: exit %d, stderr %q", r.code, r.stderr)
	}
}

func cliFileSum(t *testing.T, path string) [32]byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return sha256.Sum256(b)
}

func TestMigrateIsIdempotent(t *testing.T) {
	dir := t.TempDir()
	first := runWith(t, "", nil, "migrate", "--data", dir)
	if first.code != 0 || !strings.Contains(first.stdout, "applied") || !strings.Contains(first.stdout, "up to date") {
		t.Fatalf("first migrate: exit %d, stdout %q, stderr %q", first.code, first.stdout, first.stderr)
	}
	second := runWith(t, "", nil, "migrate", "--data", dir)
	if second.code != 0 || strings.Contains(second.stdout, "applied") || !strings.Contains(second.stdout, "up to date") {
		t.Errorf("second migrate: exit %d, stdout %q", second.code, second.stdout)
	}
}

func TestVersion(t *testing.T) {
	r := runWith(t, "", nil, "version")
	if r.code != 0 || !strings.HasPrefix(r.stdout, "switchboard ") || len(strings.TrimSpace(r.stdout)) <= len("switchboard") {
		t.Errorf("version: exit %d, stdout %q", r.code, r.stdout)
	}
}

func TestUnknownCommandExits2WithUsage(t *testing.T) {
	r := runWith(t, "", nil, "frobnicate")
	if r.code != 2 {
		t.Errorf("exit %d, want 2", r.code)
	}
	if !strings.Contains(r.stderr, `"frobnicate"`) || !strings.Contains(r.stderr, "Usage") {
		t.Errorf("stderr %q does not name the command and show usage", r.stderr)
	}
	if r := runWith(t, "", nil, "migrate", "--no-such-flag"); r.code != 2 {
		t.Errorf("unknown flag: exit %d, want 2", r.code)
	}
	if r := runWith(t, "", nil, "help"); r.code != 0 || !strings.Contains(r.stdout, "switchboard user create") {
		t.Errorf("help: exit %d, stdout %q", r.code, r.stdout)
	}
}

func TestDataDirectoryFromTheEnvironment(t *testing.T) {
	fromEnv := filepath.Join(t.TempDir(), "env")
	r := runWith(t, "", map[string]string{"SWITCHBOARD_DATA": fromEnv}, "migrate")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	if _, err := os.Stat(filepath.Join(fromEnv, db.FileName)); err != nil {
		t.Errorf("SWITCHBOARD_DATA was not used: %v", err)
	}

	fromFlag := filepath.Join(t.TempDir(), "flag")
	other := filepath.Join(t.TempDir(), "unused")
	r = runWith(t, cliPassword+"\n", map[string]string{"SWITCHBOARD_DATA": other}, "user", "create", "--data", fromFlag,
		"--email", "ada@example.com", "--name", "Ada Lovelace", "--role", "administrator", "--password-stdin")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	if n := cliMemberCount(t, fromFlag); n != 1 {
		t.Errorf("--data: %d members in the flag's directory, want 1", n)
	}
	if _, err := os.Stat(other); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the environment's directory was touched although --data was given: %v", err)
	}

	// The other flags come from the environment too.
	r = runWith(t, "", map[string]string{"SWITCHBOARD_DATA": fromEnv, "SWITCHBOARD_LOG_FORMAT": "yaml"}, "audit", "verify")
	if r.code == 0 || !strings.Contains(r.stderr, "log-format") {
		t.Errorf("SWITCHBOARD_LOG_FORMAT=yaml: exit %d, stderr %q", r.code, r.stderr)
	}
}

// A typo in --data must not verify a brand-new empty log as intact (and leave a database behind).
func TestAuditVerifyWithoutADatabaseFails(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "typo")
	r := runWith(t, "", nil, "audit", "verify", "--data", dir)
	if r.code == 0 {
		t.Errorf("exit 0 (%q) for a data directory without a database", r.stdout)
	}
	if !strings.Contains(r.stderr, dir) {
		t.Errorf("stderr %q does not name the missing database", r.stderr)
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("audit verify created %s", dir)
	}
}

// A bad value in a SWITCHBOARD_* variable is reported, naming the variable, before anything starts.
func TestBadEnvironmentValueIsReported(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // should the value be accepted after all, the server stops at once
	var out, errOut bytes.Buffer
	env := map[string]string{"SWITCHBOARD_IDLE_TIMEOUT": "soon", "SWITCHBOARD_ADDR": "127.0.0.1:0"}
	code := run(ctx, []string{"serve", "--data", t.TempDir()}, strings.NewReader(""), &out, &errOut,
		func(name string) string { return env[name] })
	if code == 0 {
		t.Errorf("exit 0 with SWITCHBOARD_IDLE_TIMEOUT=soon")
	}
	if !strings.Contains(errOut.String(), "SWITCHBOARD_IDLE_TIMEOUT") {
		t.Errorf("stderr %q does not name SWITCHBOARD_IDLE_TIMEOUT", errOut.String())
	}
}
