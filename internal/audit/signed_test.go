package audit

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/db"
)

// signing is a fixture with a Checkpointer writing to a file in a temporary directory.
type signing struct {
	*fixture
	cp   *Checkpointer
	pub  ed25519.PublicKey
	path string
}

func newSigning(tb testing.TB) *signing {
	tb.Helper()
	f := newFixture(tb)
	key, err := SigningKey(bytes.Repeat([]byte{7}, 32))
	if err != nil {
		tb.Fatal(err)
	}
	path := filepath.Join(tb.TempDir(), CheckpointFileName)
	cp := NewCheckpointer(f.log, key, slog.New(slog.NewTextHandler(io.Discard, nil)), NewFileSink(path))
	f.log.SetCheckpointer(cp)
	return &signing{fixture: f, cp: cp, pub: key.Public().(ed25519.PublicKey), path: path}
}

func (s *signing) checkpoint(tb testing.TB) SignedCheckpoint {
	tb.Helper()
	s.clk.Advance(time.Minute)
	cp, _, err := s.cp.Checkpoint(tb.Context())
	if err != nil {
		tb.Fatalf("checkpoint: %v", err)
	}
	return cp
}

func (s *signing) verifyCheckpoints(tb testing.TB) CheckpointReport {
	tb.Helper()
	f, err := os.Open(s.path)
	var file io.Reader
	if err == nil {
		defer f.Close()
		file = f
	}
	rep, err := s.log.VerifyCheckpoints(tb.Context(), s.pub, file)
	if err != nil {
		tb.Fatalf("verify checkpoints: %v", err)
	}
	return rep
}

func TestCheckpointAnchorsTheHeadAndCountsWhatFollows(t *testing.T) {
	s := newSigning(t)
	if _, ok, err := s.cp.Checkpoint(t.Context()); err != nil || ok {
		t.Fatalf("an empty log made a checkpoint (%v)", err)
	}
	evs := s.record(t, 5)
	cp := s.checkpoint(t)
	if cp.Seq != 1 || cp.EventID != evs[4].ID || cp.EventHash != evs[4].Hash || cp.PrevDigest != GenesisHash {
		t.Fatalf("first checkpoint %+v, want seq 1 on event %d", cp, evs[4].ID)
	}
	if err := cp.VerifySignature(s.pub); err != nil {
		t.Fatal(err)
	}
	// Nothing new: no new checkpoint.
	if again, created, err := s.cp.Checkpoint(t.Context()); err != nil || created || again != cp {
		t.Fatalf("a second checkpoint without new events: %+v created=%v %v", again, created, err)
	}
	rep := s.verifyCheckpoints(t)
	if !rep.OK() || rep.Unanchored != 0 || rep.Stored != 1 || rep.InFile != 1 || rep.Latest != cp {
		t.Fatalf("report %+v", rep)
	}

	s.record(t, 3)
	if rep := s.verifyCheckpoints(t); !rep.OK() || rep.Unanchored != 3 {
		t.Fatalf("3 events after the checkpoint: report %+v", rep)
	}
	cp2 := s.checkpoint(t)
	if cp2.Seq != 2 || cp2.EventID != 8 || cp2.PrevDigest != cp.Digest() {
		t.Fatalf("second checkpoint %+v", cp2)
	}
	if rep := s.verifyCheckpoints(t); !rep.OK() || rep.Unanchored != 0 || rep.Stored != 2 || rep.InFile != 2 {
		t.Fatalf("report %+v", rep)
	}
}

func TestCuttingTheNewestEventsIsFound(t *testing.T) {
	s := newSigning(t)
	s.record(t, 10)
	s.checkpoint(t)
	s.exec(t, `DROP TRIGGER audit_events_no_delete`)
	s.exec(t, `DELETE FROM audit_events WHERE id > 7`)

	if rep := s.verify(t); !rep.Intact {
		t.Fatalf("the chain alone should not see a cut at its end: %+v", rep)
	}
	rep := s.verifyCheckpoints(t)
	if rep.OK() || rep.Missing != 3 {
		t.Fatalf("a cut of 3 events: report %+v", rep)
	}
	if !strings.Contains(rep.Problems[0], "the log ends at event 7") || !strings.Contains(rep.Problems[0], "(8 to 10) were removed") {
		t.Errorf("problem %q does not name the cut", rep.Problems[0])
	}
	// And the server refuses to sign over the cut.
	s.record(t, 1)
	if _, _, err := s.cp.Checkpoint(t.Context()); !errors.Is(err, ErrAnchorBroken) {
		t.Errorf("checkpoint after a cut: %v, want ErrAnchorBroken", err)
	}
	if got := len(s.fileLines(t)); got != 1 {
		t.Errorf("%d checkpoints in the file after the refusal, want 1", got)
	}
}

func TestChangedAnchoredEventIsFound(t *testing.T) {
	s := newSigning(t)
	s.record(t, 4)
	s.checkpoint(t)
	// Rebuild the last event with other content and a recomputed, self-consistent hash.
	s.exec(t, `DROP TRIGGER audit_events_no_update`)
	s.exec(t, `UPDATE audit_events SET actor_name = 'Eve' WHERE id = 4`)
	var canonical string
	if err := s.db.R.QueryRowContext(t.Context(), `SELECT `+canonicalSQL+` FROM audit_events WHERE id = 4`).Scan(&canonical); err != nil {
		t.Fatal(err)
	}
	s.exec(t, `UPDATE audit_events SET hash = ? WHERE id = 4`, string(newHasher().hash([]byte(canonical))))
	if rep := s.verify(t); !rep.Intact {
		t.Skipf("the chain saw it already (%s)", rep.Reason)
	}
	rep := s.verifyCheckpoints(t)
	if rep.OK() || !strings.Contains(strings.Join(rep.Problems, "\n"), "event 4 does not have the hash checkpoint 1 signed") {
		t.Fatalf("report %+v", rep)
	}
}

func (s *signing) fileLines(tb testing.TB) []string {
	tb.Helper()
	b, err := os.ReadFile(s.path)
	if err != nil {
		tb.Fatal(err)
	}
	return strings.Split(strings.TrimSpace(string(b)), "\n")
}

func (s *signing) writeFile(tb testing.TB, lines []string) {
	tb.Helper()
	if err := os.WriteFile(s.path, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		tb.Fatal(err)
	}
}

func TestTamperedCheckpointsAreRefused(t *testing.T) {
	forge := func(line string, edit func(*SignedCheckpoint)) string {
		var cp SignedCheckpoint
		if err := json.Unmarshal([]byte(line), &cp); err != nil {
			t.Fatal(err)
		}
		edit(&cp)
		b, _ := json.Marshal(cp)
		return string(b)
	}
	otherKey, _ := SigningKey(bytes.Repeat([]byte{9}, 32))
	tests := []struct {
		name   string
		tamper func(t *testing.T, s *signing)
		want   string
	}{
		{"signature altered in both copies", func(t *testing.T, s *signing) {
			lines := s.fileLines(t)
			bad := forge(lines[1], func(cp *SignedCheckpoint) { cp.Signature = strings.Repeat("A", 86) + "==" })
			s.writeFile(t, []string{lines[0], bad})
			s.exec(t, `DROP TRIGGER audit_signed_checkpoints_no_update`)
			s.exec(t, `UPDATE audit_signed_checkpoints SET signature = ? WHERE seq = 2`, strings.Repeat("A", 86)+"==")
		}, "checkpoint 2: the checkpoint's signature does not verify"},
		{"re-signed with another key in both copies", func(t *testing.T, s *signing) {
			lines := s.fileLines(t)
			var cp SignedCheckpoint
			_ = json.Unmarshal([]byte(lines[1]), &cp)
			cp.KeyID = KeyID(otherKey.Public().(ed25519.PublicKey))
			cp.Signature = signWith(otherKey, cp)
			b, _ := json.Marshal(cp)
			s.writeFile(t, []string{lines[0], string(b)})
			s.exec(t, `DROP TRIGGER audit_signed_checkpoints_no_update`)
			s.exec(t, `UPDATE audit_signed_checkpoints SET key_id = ?, signature = ? WHERE seq = 2`, cp.KeyID, cp.Signature)
		}, "signed with key " + KeyID(otherKey.Public().(ed25519.PublicKey))},
		{"database row edited", func(t *testing.T, s *signing) {
			s.exec(t, `DROP TRIGGER audit_signed_checkpoints_no_update`)
			s.exec(t, `UPDATE audit_signed_checkpoints SET event_id = 3 WHERE seq = 2`)
		}, "checkpoint 2 differs between the database and the file"},
		{"file line edited", func(t *testing.T, s *signing) {
			lines := s.fileLines(t)
			s.writeFile(t, []string{forge(lines[0], func(cp *SignedCheckpoint) { cp.CreatedAt++ }), lines[1]})
		}, "checkpoint 1 differs between the database and the file"},
		{"newest checkpoint removed from the database", func(t *testing.T, s *signing) {
			s.exec(t, `DROP TRIGGER audit_signed_checkpoints_no_delete`)
			s.exec(t, `DELETE FROM audit_signed_checkpoints WHERE seq = 2`)
		}, "are in the file but not in the database"},
		{"newest checkpoint removed from the file", func(t *testing.T, s *signing) {
			s.writeFile(t, s.fileLines(t)[:1])
		}, "are in the database but not in the file"},
		{"file deleted", func(t *testing.T, s *signing) {
			if err := os.Remove(s.path); err != nil {
				t.Fatal(err)
			}
		}, "the checkpoint file is missing"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newSigning(t)
			s.record(t, 3)
			s.checkpoint(t)
			s.record(t, 2)
			s.checkpoint(t)
			tt.tamper(t, s)
			rep := s.verifyCheckpoints(t)
			if rep.OK() || !strings.Contains(strings.Join(rep.Problems, "\n"), tt.want) {
				t.Errorf("problems %q, want one saying %q", rep.Problems, tt.want)
			}
		})
	}
}

func signWith(key ed25519.PrivateKey, cp SignedCheckpoint) string {
	return base64.StdEncoding.EncodeToString(ed25519.Sign(key, cp.signedMessage()))
}

func TestPruningAnchoredEventsIsNotACut(t *testing.T) {
	s := newSigning(t)
	s.record(t, 5)
	s.checkpoint(t)
	if err := s.log.SetRetention(t.Context(), MinRetentionDays); err != nil {
		t.Fatal(err)
	}
	s.clk.Advance(40 * 24 * time.Hour)
	s.record(t, 2)
	if res, err := s.log.Prune(t.Context()); err != nil || res.Deleted == 0 {
		t.Fatalf("prune: %+v %v", res, err)
	}
	if rep := s.verifyCheckpoints(t); !rep.OK() || !rep.AnchorPruned {
		t.Fatalf("after pruning the anchored event: %+v", rep)
	}
	// The checkpointer goes on from the pruned chain.
	cp := s.checkpoint(t)
	if rep := s.verifyCheckpoints(t); !rep.OK() || rep.AnchorPruned || rep.Latest != cp || rep.Unanchored != 0 {
		t.Fatalf("after a new checkpoint: %+v", rep)
	}
}

func TestFileSinkCatchesUp(t *testing.T) {
	s := newSigning(t)
	s.record(t, 2)
	s.checkpoint(t)
	// The file is lost (a failed write, a restore); the next checkpoint refills it.
	if err := os.Remove(s.path); err != nil {
		t.Fatal(err)
	}
	fresh := NewCheckpointer(s.log, s.cp.key, s.cp.logger, NewFileSink(s.path))
	s.record(t, 1)
	s.clk.Advance(time.Minute)
	if _, _, err := fresh.Checkpoint(t.Context()); err != nil {
		t.Fatal(err)
	}
	if got := len(s.fileLines(t)); got != 2 {
		t.Fatalf("%d lines after catching up, want 2", got)
	}
	if rep := s.verifyCheckpoints(t); !rep.OK() {
		t.Fatalf("report %+v", rep)
	}
}

func TestExportCarriesTheCheckpointAndVerifyExportChecksIt(t *testing.T) {
	for _, format := range []ExportFormat{ExportJSONL, ExportCSV} {
		t.Run(string(format), func(t *testing.T) {
			s := newSigning(t)
			s.record(t, 6)
			res, file := s.export(t, Filter{}, format)
			rep, err := VerifyExportWith(bytes.NewReader(file), s.pub)
			if err != nil {
				t.Fatal(err)
			}
			if !rep.Intact || rep.Export == nil || !rep.Export.Complete || rep.Export.Checkpoint.EventID != res.Event.ID || rep.Export.KeyFromFile {
				t.Fatalf("report %+v, anchor %+v", rep, rep.Export)
			}
			// Without a key, the export's own key is used and said so.
			if rep, _ := VerifyExport(bytes.NewReader(file)); !rep.Intact || !rep.Export.KeyFromFile {
				t.Errorf("without a key: %+v", rep)
			}

			lines := slices.Collect(bytes.Lines(file))
			trailer := lines[len(lines)-1]
			join := func(ls ...[]byte) []byte { return bytes.Join(ls, nil) }
			cut := join(append(slices.Clone(lines[:len(lines)-3]), trailer)...) // the last two rows gone
			rep, err = VerifyExportWith(bytes.NewReader(cut), s.pub)
			if err != nil {
				t.Fatal(err)
			}
			if rep.Intact || rep.Reason != ReasonExportCut || rep.BrokenID != res.Event.ID-1 || rep.Checked != rep.Events {
				t.Errorf("cut export: %+v", rep)
			}

			forged := bytes.Replace(file, []byte(rep.Export.Checkpoint.Signature[:20]), []byte("AAAAAAAAAAAAAAAAAAAA"), 1)
			if rep, _ := VerifyExportWith(bytes.NewReader(forged), s.pub); rep.Intact || rep.Reason != ReasonExportSignature {
				t.Errorf("forged signature: %+v", rep)
			}
			other, _ := SigningKey(bytes.Repeat([]byte{1}, 32))
			if rep, _ := VerifyExportWith(bytes.NewReader(file), other.Public().(ed25519.PublicKey)); rep.Intact || rep.Reason != ReasonExportSignature {
				t.Errorf("the workspace's key differs from the export's: %+v", rep)
			}
			middle := join(append(slices.Clone(lines[:3]), lines[4:]...)...)
			if rep, _ := VerifyExportWith(bytes.NewReader(middle), s.pub); rep.Intact || rep.Reason != ReasonExportHoles {
				t.Errorf("a row removed from a complete export: %+v", rep)
			}
		})
	}
}

// Item 15: the count of events checked before a broken one is the events before it, not all.
func TestVerifyExportCountsTheEventsCheckedBeforeTheBreak(t *testing.T) {
	f := newFixture(t)
	evs := f.record(t, 6)
	_, file := f.export(t, Filter{}, ExportJSONL)
	tampered := bytes.Replace(file, []byte(`"last_sign_in_at\",\"before\":2`), []byte(`"last_sign_in_at\",\"before\":9`), 1)
	rep, err := VerifyExport(bytes.NewReader(tampered))
	if err != nil {
		t.Fatal(err)
	}
	if rep.Intact || rep.BrokenID != evs[2].ID || rep.Checked != 2 {
		t.Fatalf("report %+v: want broken at %d with 2 events checked before it", rep, evs[2].ID)
	}
	if rep.Events != 7 {
		t.Errorf("events %d, want all 7 rows counted", rep.Events)
	}
	// The live log says the same.
	f.exec(t, `DROP TRIGGER audit_events_no_update`)
	f.exec(t, `UPDATE audit_events SET actor_name = 'Eve' WHERE id = 3`)
	if rep := f.verify(t); rep.Intact || rep.BrokenID != 3 || rep.Checked != 2 {
		t.Fatalf("verify: %+v, want broken at 3 with 2 checked", rep)
	}
}

// BenchmarkCheckpoint measures one checkpoint of a moved head: the check of the previous
// anchor, signing, the insert, and the file append with its fsync ("db only" leaves the file
// out). Recording the event that moves the head is not timed.
func BenchmarkCheckpoint(b *testing.B) {
	for _, withFile := range []bool{true, false} {
		name := "db+file"
		if !withFile {
			name = "db only"
		}
		b.Run(name, func(b *testing.B) {
			s := newSigning(b)
			if !withFile {
				s.cp.sinks = nil
			}
			s.record(b, 1000)
			b.ResetTimer()
			for range b.N {
				b.StopTimer()
				s.record(b, 1)
				b.StartTimer()
				if _, created, err := s.cp.Checkpoint(b.Context()); err != nil || !created {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkVerifyCheckpoints(b *testing.B) {
	s := newSigning(b)
	for range 1000 {
		s.record(b, 1)
		s.checkpoint(b)
	}
	b.ResetTimer()
	for b.Loop() {
		if rep := s.verifyCheckpoints(b); !rep.OK() {
			b.Fatal(rep.Problems)
		}
	}
}

// Item 14: a target's name is kept in the event and hashed, so it cannot be edited unseen; an
// event without one hashes as every event did before names existed.
func TestTargetNameIsKeptAndHashed(t *testing.T) {
	f := newFixture(t)
	f.log.SetTargetNamer(func(_ context.Context, _ db.Querier, t Target) string {
		if t.Type == "member" {
			return "Grace Hopper"
		}
		return ""
	})
	named, err := f.log.Record(t.Context(), Event{Action: "member.updated", Target: NewTarget("member", 6)})
	if err != nil {
		t.Fatal(err)
	}
	plain, err := f.log.Record(t.Context(), Event{Action: "role.updated", Target: NewTarget("role", 2)})
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := f.log.Get(t.Context(), named.ID); got.Target.Name != "Grace Hopper" {
		t.Fatalf("stored target %+v", got.Target)
	}
	text := plain.texts("[]")
	if want := string(newHasher().hash(appendCanonical(nil, plain.PrevHash, plain.ID, plain.At.UnixMilli(), &text))); plain.Hash != want {
		t.Errorf("an event without a target name must hash as before names existed")
	}
	if rep := f.verify(t); !rep.Intact {
		t.Fatalf("%+v", rep)
	}
	_, file := f.export(t, Filter{}, ExportJSONL)
	if !bytes.Contains(file, []byte(`"target_name":"Grace Hopper"`)) {
		t.Errorf("the export lacks the target name")
	}
	if rep, err := VerifyExport(bytes.NewReader(file)); err != nil || !rep.Intact {
		t.Fatalf("export: %+v %v", rep, err)
	}
	if rep, _ := VerifyExport(bytes.NewReader(bytes.Replace(file, []byte(`"Grace Hopper"`), []byte(`"Eve"`), 1))); rep.Intact || rep.BrokenID != named.ID {
		t.Errorf("an edited target name in an export: %+v", rep)
	}
	f.exec(t, `DROP TRIGGER audit_events_no_update`)
	f.exec(t, `UPDATE audit_events SET target_name = 'Eve' WHERE id = ?`, named.ID)
	if rep := f.verify(t); rep.Intact || rep.BrokenID != named.ID || rep.Reason != ReasonHashMismatch {
		t.Errorf("an edited target name: %+v", rep)
	}
}
