package audit

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/switchboard/switchboard/internal/db"
)

func (f *fixture) export(t *testing.T, filter Filter, format ExportFormat) (ExportResult, []byte) {
	t.Helper()
	var buf bytes.Buffer
	res, err := f.log.Export(t.Context(), filter, format, func() io.Writer { return &buf })
	if err != nil {
		t.Fatalf("export: %v", err)
	}
	return res, buf.Bytes()
}

// hostile records events whose texts test every escape of both formats.
func (f *fixture) hostile(t *testing.T) {
	t.Helper()
	for _, ev := range []Event{
		{Actor: MemberActor(1, "=HYPERLINK(\"http://evil\")"), Action: "member.updated", RequestID: "-2+3"},
		{Actor: MemberActor(2, "line\r\nbreak, \"quoted\""), Action: "member.updated", UserAgent: "@SUM(A1)"},
		{Actor: MemberActor(3, "'apostrophe"), Action: "member.updated", Target: Target{Type: "member", ID: "\tx"}},
		{Actor: MemberActor(4, "bad \xff utf-8 \x00 nul"), Action: "member.updated", RequestID: "\xc3"},
		{Actor: MemberActor(5, "<script>alert(1)</script>\u2028"), Action: "member.updated",
			Changes: []Change{{Field: "name", Before: "a\nb", After: map[string]any{"x": []any{1.5, nil, "é"}}}}},
	} {
		if _, err := f.log.Record(t.Context(), ev); err != nil {
			t.Fatal(err)
		}
	}
}

func TestExportVerifiesInBothFormats(t *testing.T) {
	f := newFixture(t)
	f.record(t, 20)
	f.hostile(t)
	for _, format := range []ExportFormat{ExportCSV, ExportJSONL} {
		t.Run(string(format), func(t *testing.T) {
			res, file := f.export(t, Filter{}, format)
			rep, err := VerifyExport(bytes.NewReader(file))
			if err != nil {
				t.Fatal(err)
			}
			if !rep.Intact || rep.Events != res.Rows || rep.LastID != res.Event.ID || rep.Gaps != 0 || rep.FirstID != 1 {
				t.Errorf("report %+v for %d rows up to event %d\n%s", rep, res.Rows, res.Event.ID, file)
			}
		})
	}
}

// The formula guard is applied, yet undone exactly by the verifier.
func TestExportCSVNeutralisesFormulas(t *testing.T) {
	f := newFixture(t)
	f.hostile(t)
	_, file := f.export(t, Filter{}, ExportCSV)
	records, err := csv.NewReader(bytes.NewReader(file)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range records[1:] {
		for _, field := range r {
			if field != "" && strings.ContainsRune("=+-@\t\r", rune(field[0])) {
				t.Errorf("field %q starts like a formula", field)
			}
		}
	}
	if records[3][4] != "''apostrophe" {
		t.Errorf("apostrophe field written as %q", records[3][4])
	}
}

// Whatever the filter, the export holds exactly the events the list shows (oldest first), and
// each export is on record before its first row.
func TestExportEqualsTheFilteredView(t *testing.T) {
	f := newFixture(t)
	f.mixed(t, 150)
	for _, filter := range []Filter{
		{}, {ActorType: ActorMember, ActorID: "1"}, {Group: "signin"}, {Outcome: OutcomeDenied, TargetType: "template"},
		{ActorType: ActorAPIKey}, {Action: "no.such_action"},
	} {
		t.Run(filter.Encode(), func(t *testing.T) {
			res, file := f.export(t, filter, ExportJSONL)
			var exported []int64
			for line := range bytes.Lines(file) {
				var row struct{ ID int64 }
				if err := json.Unmarshal(line, &row); err != nil {
					t.Fatal(err)
				}
				exported = append(exported, row.ID)
			}
			listed, _ := pageAll(t, f, filter, 50)
			// The export stops at its own event; the list, read after it, may show it too.
			listed = slices.DeleteFunc(listed, func(id int64) bool { return id > res.Event.ID })
			slices.Reverse(listed)
			if !slices.Equal(exported, listed) {
				t.Errorf("exported %v\nlisted   %v", exported, listed)
			}
			ev, err := f.log.Get(t.Context(), res.Event.ID)
			if err != nil || ev.Action != ActionExported || ev.Changes[0].After != filter.Encode() {
				t.Errorf("export event %+v %v", ev, err)
			}
			if len(exported) > 0 && filter.IsZero() && exported[len(exported)-1] != res.Event.ID {
				t.Error("an unfiltered export does not end with its own event")
			}
			if rep, err := VerifyExport(bytes.NewReader(file)); len(exported) > 0 && (err != nil || !rep.Intact) {
				t.Errorf("filtered export does not verify: %+v %v", rep, err)
			}
		})
	}
}

// The event goes in before the file is opened: a failing writer still leaves the export on record.
func TestExportIsRecordedBeforeStreaming(t *testing.T) {
	f := newFixture(t)
	f.record(t, 3)
	var seen int
	_, err := f.log.Export(t.Context(), Filter{}, ExportCSV, func() io.Writer {
		seen = f.count(t)
		return failingWriter{}
	})
	if err == nil {
		t.Fatal("a failing writer did not fail the export")
	}
	if seen != 4 {
		t.Errorf("%d events when the file was opened, want the 3 and the export's own", seen)
	}
}

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("client went away") }

// Each kind of edit to an exported file is found at the row it touches.
func TestVerifyExportFindsTampering(t *testing.T) {
	f := newFixture(t)
	f.record(t, 6)
	_, jsonl := f.export(t, Filter{}, ExportJSONL)
	_, csvFile := f.export(t, Filter{}, ExportCSV)
	lines := slices.Collect(bytes.Lines(jsonl))
	join := func(ls [][]byte) []byte { return bytes.Join(ls, nil) }
	tests := []struct {
		name       string
		file       []byte
		wantBroken int64
		wantReason string
	}{
		{"field edited", bytes.Replace(jsonl, []byte(`"actor_name":"Ada"`), []byte(`"actor_name":"Eve"`), 1), 1, ReasonHashMismatch},
		{"time edited", regexp.MustCompile(`"occurred_at":(\d+)`).ReplaceAllFunc(jsonl, func(b []byte) []byte {
			if !bytes.Contains(b, []byte(strconv.FormatInt(start().Add(3e9).UnixMilli(), 10))) {
				return b
			}
			return []byte(`"occurred_at":1`)
		}), 3, ReasonHashMismatch},
		{"readable time edited", bytes.Replace(jsonl, []byte(`"time_utc":"2026-03-01T09:30:02`), []byte(`"time_utc":"2026-03-01T09:31:02`), 1), 2, ReasonExportTime},
		{"row deleted", join(slices.Delete(slices.Clone(lines), 2, 3)), 4, ""}, // a gap: can't tell from a filter
		{"rows swapped", join([][]byte{lines[0], lines[2], lines[1], lines[3]}), 2, ReasonExportOrder},
		{"first row deleted, ids start later", join(lines[1:]), 0, ""},
		{"csv field edited", bytes.Replace(csvFile, []byte(",Ada,"), []byte(",Eve,"), 1), 1, ReasonHashMismatch},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rep, err := VerifyExport(bytes.NewReader(tt.file))
			if err != nil {
				t.Fatal(err)
			}
			if tt.wantReason == "" {
				if !rep.Intact {
					t.Errorf("report %+v", rep)
				}
				return
			}
			if rep.Intact || rep.BrokenID != tt.wantBroken || rep.Reason != tt.wantReason {
				t.Errorf("report %+v\nwant broken at %d: %s", rep, tt.wantBroken, tt.wantReason)
			}
		})
	}
	if rep, _ := VerifyExport(bytes.NewReader(join(slices.Delete(slices.Clone(lines), 2, 3)))); rep.Gaps != 1 {
		t.Errorf("a deleted row shows as %d gaps, want 1", rep.Gaps)
	}
	for _, junk := range []string{"", "id,name\n1,2\n", "{not json", "{\"id\":1}\n"} {
		if _, err := VerifyExport(strings.NewReader(junk)); err == nil {
			t.Errorf("%q verified", junk)
		}
	}
}

// docs/audit-verification.md promises that its program checks an export on its own; run it.
func TestVerificationDocProgram(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a Go program")
	}
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command")
	}
	doc, err := os.ReadFile("../../docs/audit-verification.md")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile("(?s)```go\n(.*?)```").FindSubmatch(doc)
	if m == nil {
		t.Fatal("no Go program in the doc")
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "verify.go"), m[1], 0o600); err != nil {
		t.Fatal(err)
	}
	f := newFixture(t)
	f.record(t, 10)
	f.hostile(t)
	_, file := f.export(t, Filter{}, ExportJSONL)
	runDoc := func(input []byte) (string, error) {
		cmd := exec.Command(goTool, "run", "verify.go")
		cmd.Dir, cmd.Stdin = dir, bytes.NewReader(input)
		cmd.Env = append(os.Environ(), "GO111MODULE=off", "GOFLAGS=")
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	out, err := runDoc(file)
	if err != nil || !strings.HasPrefix(out, "intact: 16 events") {
		t.Fatalf("the doc's program on a good export: %v\n%s", err, out)
	}
	out, err = runDoc(bytes.Replace(file, []byte(`"actor_name":"Ada"`), []byte(`"actor_name":"Eve"`), 1))
	if err == nil || !strings.Contains(out, "BROKEN: event 1: content does not match") {
		t.Errorf("the doc's program on a tampered export: %v\n%s", err, out)
	}

	// An export that ends with a signed checkpoint, checked with the public key file.
	s := newSigning(t)
	s.record(t, 5)
	s.log.SetTargetNamer(func(context.Context, db.Querier, Target) string { return "Zoë" })
	s.record(t, 2)
	_, signed := s.export(t, Filter{}, ExportJSONL)
	pubFile := filepath.Join(dir, "audit-signing.pub")
	if err := os.WriteFile(pubFile, []byte(PublicKeyFile(s.pub)), 0o600); err != nil {
		t.Fatal(err)
	}
	runDocKey := func(input []byte) (string, error) {
		cmd := exec.Command(goTool, "run", "verify.go", pubFile)
		cmd.Dir, cmd.Stdin = dir, bytes.NewReader(input)
		cmd.Env = append(os.Environ(), "GO111MODULE=off", "GOFLAGS=")
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	if out, err := runDocKey(signed); err != nil || !strings.Contains(out, "anchored: checkpoint 1 signs event 8") {
		t.Errorf("the doc's program on a signed export: %v\n%s", err, out)
	}
	lines := slices.Collect(bytes.Lines(signed))
	cut := bytes.Join(append(slices.Clone(lines[:len(lines)-3]), lines[len(lines)-1]), nil)
	if out, err := runDocKey(cut); err == nil || !strings.Contains(out, "rows were cut off") {
		t.Errorf("the doc's program on a cut export: %v\n%s", err, out)
	}
	forged := bytes.Replace(signed, []byte(`"signature":"`), []byte(`"signature":"AAAA`), 1)
	if out, err := runDocKey(forged); err == nil || !strings.Contains(out, "signature does not verify") {
		t.Errorf("the doc's program on a forged checkpoint: %v\n%s", err, out)
	}
}
