package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/switchboard/switchboard/internal/app/apptest"
	"github.com/switchboard/switchboard/internal/audit"
)

// anchoredServer runs a real server, records a few events and anchors them with a signed
// checkpoint as the server's minute loop does; it returns the id of the anchored event.
func anchoredServer(t *testing.T) (*apptest.Instance, int64) {
	t.Helper()
	in := apptest.Start(t)
	for i, email := range []string{"ada@example.com", "grace@example.com", "alan@example.com", "barbara@example.com", "ken@example.com", "dennis@example.com"} {
		in.CreateMemberWithout2FA(email, "Member "+strconv.Itoa(i), "agent", cliPassword)
	}
	cp, created, err := in.App.AuditCheckpoints.Checkpoint(t.Context())
	if err != nil || !created {
		t.Fatalf("checkpoint: %v (created %v)", err, created)
	}
	return in, cp.EventID
}

func TestAuditVerifyReportsUnanchoredEvents(t *testing.T) {
	in, anchored := anchoredServer(t)
	in.CreateMemberWithout2FA("edsger@example.com", "Edsger", "agent", cliPassword)
	var head int64
	if err := cliRawDB(t, in.DataDir).QueryRow(`SELECT max(id) FROM audit_events`).Scan(&head); err != nil {
		t.Fatal(err)
	}
	r := runWith(t, "", nil, "audit", "verify", "--data", in.DataDir)
	if r.code != 0 {
		t.Fatalf("exit %d: %s %s", r.code, r.stdout, r.stderr)
	}
	want := "signs event " + strconv.FormatInt(anchored, 10)
	unanchored := plural(head-anchored, "event") + " after it not anchored yet"
	if !strings.Contains(r.stdout, want) || !strings.Contains(r.stdout, unanchored) {
		t.Errorf("output %q, want %q and %q", r.stdout, want, unanchored)
	}
}

// Item 2: the newest events deleted with the triggers dropped leave a chain that holds together;
// the signed checkpoint shows the cut, and verify names what is missing.
func TestAuditVerifyFindsTheNewestEventsCutOff(t *testing.T) {
	in, anchored := anchoredServer(t)
	raw := cliRawDB(t, in.DataDir)
	if _, err := raw.Exec(`DROP TRIGGER audit_events_no_delete`); err != nil {
		t.Fatal(err)
	}
	cutFrom := anchored - 2
	if _, err := raw.Exec(`DELETE FROM audit_events WHERE id >= ?`, cutFrom); err != nil {
		t.Fatal(err)
	}
	r := runWith(t, "", nil, "audit", "verify", "--data", in.DataDir)
	if r.code != 1 {
		t.Fatalf("exit %d after the cut, want 1: %s %s", r.code, r.stdout, r.stderr)
	}
	if !strings.Contains(r.stdout, "intact: ") {
		t.Errorf("the chain itself still holds together, and verify should say so: %q", r.stdout)
	}
	want := "the last 3 events (" + strconv.FormatInt(cutFrom, 10) + " to " + strconv.FormatInt(anchored, 10) + ") were removed"
	if !strings.Contains(r.stdout, want) {
		t.Errorf("output %q does not say %q", r.stdout, want)
	}
}

func TestAuditVerifyRefusesATamperedCheckpointSignature(t *testing.T) {
	in, _ := anchoredServer(t)
	raw := cliRawDB(t, in.DataDir)
	forged := strings.Repeat("A", 86) + "=="
	if _, err := raw.Exec(`DROP TRIGGER audit_signed_checkpoints_no_update`); err != nil {
		t.Fatal(err)
	}
	if _, err := raw.Exec(`UPDATE audit_signed_checkpoints SET signature = ?`, forged); err != nil {
		t.Fatal(err)
	}
	// The file copy is edited the same way, so the two copies agree and only the signature tells.
	path := filepath.Join(in.DataDir, audit.CheckpointFileName)
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for l := range strings.Lines(string(b)) {
		var cp audit.SignedCheckpoint
		if err := json.Unmarshal([]byte(l), &cp); err != nil {
			t.Fatal(err)
		}
		cp.Signature = forged
		out, _ := json.Marshal(cp)
		lines = append(lines, string(out)+"\n")
	}
	if err := os.WriteFile(path, []byte(strings.Join(lines, "")), 0o600); err != nil {
		t.Fatal(err)
	}
	r := runWith(t, "", nil, "audit", "verify", "--data", in.DataDir)
	if r.code != 1 || !strings.Contains(r.stdout, "signature does not verify") {
		t.Fatalf("exit %d, output %q: want exit 1 naming the signature", r.code, r.stdout)
	}
	if strings.Contains(r.stdout, "differs between the database and the file") {
		t.Errorf("the copies were edited alike; the report should blame the signature only: %q", r.stdout)
	}
}

func serverExport(t *testing.T, in *apptest.Instance, format audit.ExportFormat) []byte {
	t.Helper()
	var buf bytes.Buffer
	if _, err := in.App.Audit.Export(context.Background(), audit.Filter{}, format, func() io.Writer { return &buf }); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestAuditVerifyExportRefusesACutExport(t *testing.T) {
	in, _ := anchoredServer(t)
	pub := filepath.Join(in.DataDir, audit.PublicKeyFileName)
	dir := t.TempDir()
	for _, format := range []audit.ExportFormat{audit.ExportJSONL, audit.ExportCSV} {
		file := serverExport(t, in, format)
		good := filepath.Join(dir, "good."+string(format))
		if err := os.WriteFile(good, file, 0o600); err != nil {
			t.Fatal(err)
		}
		r := runWith(t, "", nil, "audit", "verify-export", "--public-key", pub, good)
		if r.code != 0 || !strings.Contains(r.stdout, "anchored: ends at event") {
			t.Fatalf("%s: a good export: exit %d %q %q", format, r.code, r.stdout, r.stderr)
		}
		// The last two rows removed, the checkpoint trailer kept.
		lines := slices.Collect(bytes.Lines(file))
		cut := bytes.Join(append(slices.Clone(lines[:len(lines)-3]), lines[len(lines)-1]), nil)
		cutPath := filepath.Join(dir, "cut."+string(format))
		if err := os.WriteFile(cutPath, cut, 0o600); err != nil {
			t.Fatal(err)
		}
		r = runWith(t, "", nil, "audit", "verify-export", "--public-key", pub, cutPath)
		if r.code != 1 || !strings.Contains(r.stdout, "rows were cut off its end") {
			t.Errorf("%s: a cut export: exit %d %q", format, r.code, r.stdout)
		}
		// With the trailer gone too, the missing checkpoint is the complaint.
		noTrailer := filepath.Join(dir, "notrailer."+string(format))
		if err := os.WriteFile(noTrailer, bytes.Join(lines[:len(lines)-3], nil), 0o600); err != nil {
			t.Fatal(err)
		}
		r = runWith(t, "", nil, "audit", "verify-export", noTrailer)
		if r.code != 1 || !strings.Contains(r.stdout, "carries no signed checkpoint") {
			t.Errorf("%s: an export without its trailer: exit %d %q", format, r.code, r.stdout)
		}
	}
}

// Item 15: verify-export said how many events the file holds, not how many it checked before
// the broken one.
func TestAuditVerifyExportCountsTheEventsBeforeTheBrokenOne(t *testing.T) {
	in, _ := anchoredServer(t)
	file := serverExport(t, in, audit.ExportJSONL)
	lines := slices.Collect(bytes.Lines(file))
	// Change the third row's actor name.
	lines[2] = bytes.Replace(lines[2], []byte(`"actor_type":"`), []byte(`"actor_type":"x`), 1)
	path := filepath.Join(t.TempDir(), "tampered.jsonl")
	if err := os.WriteFile(path, bytes.Join(lines, nil), 0o600); err != nil {
		t.Fatal(err)
	}
	r := runWith(t, "", nil, "audit", "verify-export", path)
	if r.code != 1 || !strings.Contains(r.stdout, "BROKEN at event 3:") {
		t.Fatalf("exit %d %q", r.code, r.stdout)
	}
	if !strings.Contains(r.stdout, "(2 events checked before it)") {
		t.Errorf("output %q: want 2 events checked before event 3", r.stdout)
	}
}
