package main

import (
	"database/sql"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/switchboard/switchboard/internal/db"
)

// cliOldDatabase is a data directory as releases before db.PageSize left it: SQLite's
// 4096-byte pages, migrated, with a member.
func cliOldDatabase(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	old, err := sql.Open("sqlite", "file:"+filepath.Join(dir, db.FileName)+"?_pragma=page_size(4096)")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := old.Exec(`PRAGMA journal_mode = wal`); err != nil {
		t.Fatal(err)
	}
	old.Close()
	cliCreateUser(t, dir, "ada@example.com", "Ada Lovelace")
	if got := cliPageSize(t, dir); got != 4096 {
		t.Fatalf("the old database has %d-byte pages after the server opened it, want 4096 kept", got)
	}
	return dir
}

func cliPageSize(t *testing.T, dir string) int {
	t.Helper()
	var n int
	if err := cliRawDB(t, dir).QueryRow(`PRAGMA page_size`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestCompactRewritesAnOldDatabaseAndRecordsIt(t *testing.T) {
	dir := cliOldDatabase(t)
	r := runWith(t, "", nil, "compact", "--data", dir)
	if r.code != 0 {
		t.Fatalf("compact: exit %d: %s", r.code, r.stderr)
	}
	if !strings.Contains(r.stdout, "4096-byte pages") ||
		!strings.Contains(r.stdout, fmt.Sprintf("→ %d-byte pages", db.PageSize)) {
		t.Errorf("stdout %q does not say the page size before and after", r.stdout)
	}
	if got := cliPageSize(t, dir); got != db.PageSize {
		t.Errorf("page size %d after compact, want %d", got, db.PageSize)
	}
	if n := cliMemberCount(t, dir); n != 1 {
		t.Errorf("%d members after compact, want the 1 from before", n)
	}
	var actor, changes string
	err := cliRawDB(t, dir).QueryRow(`SELECT actor_name, changes FROM audit_events WHERE action = 'database.compacted'`).Scan(&actor, &changes)
	if err != nil {
		t.Fatalf("no database.compacted event: %v", err)
	}
	if actor != "command line: switchboard compact" {
		t.Errorf("compacted by %q", actor)
	}
	var recorded []struct {
		Field         string
		Before, After any
	}
	if err := json.Unmarshal([]byte(changes), &recorded); err != nil {
		t.Fatal(err)
	}
	if len(recorded) == 0 || recorded[0].Field != "page_size" || recorded[0].Before != float64(4096) || recorded[0].After != float64(db.PageSize) {
		t.Errorf("recorded changes %s, want page_size 4096 → %d first", changes, db.PageSize)
	}
	// The server starts on the compacted file and the activity log still verifies.
	if r := runWith(t, "", nil, "audit", "verify", "--data", dir); r.code != 0 {
		t.Errorf("audit verify after compact: exit %d: %s%s", r.code, r.stdout, r.stderr)
	}
}

func TestCompactRefusesWhileTheServerRuns(t *testing.T) {
	dir := cliOldDatabase(t)
	core := cliOpenCore(t, dir) // the server's pools, open
	if err := core.DB.R.Ping(); err != nil {
		t.Fatal(err)
	}
	r := runWith(t, "", nil, "compact", "--data", dir)
	if r.code != 1 || !strings.Contains(r.stderr, "stop the server first") {
		t.Errorf("compact beside a running server: exit %d, stderr %q", r.code, r.stderr)
	}
	if got := cliPageSize(t, dir); got != 4096 {
		t.Errorf("page size %d after a refused compact, want 4096", got)
	}
	var n int
	if err := core.DB.R.QueryRow(`SELECT count(*) FROM audit_events WHERE action = 'database.compacted'`).Scan(&n); err != nil || n != 0 {
		t.Errorf("%d database.compacted events after a refused compact (%v)", n, err)
	}
}

func TestCompactNeedsADatabase(t *testing.T) {
	empty := t.TempDir()
	if r := runWith(t, "", nil, "compact", "--data", empty); r.code == 0 || !strings.Contains(r.stderr, "no database") {
		t.Errorf("compact of an empty data directory: exit %d, stderr %q", r.code, r.stderr)
	}
	if r := runWith(t, "", nil, "compact", "--data", empty, "extra"); r.code == 0 || !strings.Contains(r.stderr, "usage") {
		t.Errorf("compact with an argument: exit %d, stderr %q", r.code, r.stderr)
	}
}

// A backup taken before an upgrade, of a database whose activity log cannot take the event yet,
// is still a backup: the command says it was not recorded and succeeds.
func TestBackupOfAnOlderSchemaSucceedsUnrecorded(t *testing.T) {
	dir := t.TempDir()
	old, err := sql.Open("sqlite", "file:"+filepath.Join(dir, db.FileName))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := old.Exec(`CREATE TABLE members (id INTEGER PRIMARY KEY, email TEXT)`); err != nil {
		t.Fatal(err)
	}
	old.Close()
	dest := filepath.Join(t.TempDir(), "before-upgrade.db")
	r := runWith(t, "", nil, "backup", "--data", dir, dest)
	if r.code != 0 || !strings.Contains(r.stderr, "not recorded in the activity log") {
		t.Fatalf("backup of an older schema: exit %d, stderr %q", r.code, r.stderr)
	}
	if n := cliFileSum(t, dest); n == ([32]byte{}) {
		t.Error("no backup file")
	}
}
