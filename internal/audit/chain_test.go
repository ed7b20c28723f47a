package audit

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"testing"
)

// Stored chains must re-verify forever, so the canonical form may not change by accident. The
// expected input is spelled out from the documented format, not built by the code under test.
func TestCanonicalEncodingIsStable(t *testing.T) {
	text := [textColumns]string{"member", "7", "Ada", "member.signed_in", "member", "7",
		`[{"field":"role","before":"Agent","after":"Administrator"}]`,
		"203.0.113.7", "Firefox/140", "req-1", "success"}
	got := appendCanonical(nil, GenesisHash, 42, 1_772_357_400_123, &text)

	want := "64:" + GenesisHash + "2:42" + "13:1772357400123" +
		"6:member" + "1:7" + "3:Ada" + "16:member.signed_in" + "6:member" + "1:7" +
		`59:[{"field":"role","before":"Agent","after":"Administrator"}]` +
		"11:203.0.113.7" + "11:Firefox/140" + "5:req-1" + "7:success"
	if string(got) != want {
		t.Fatalf("canonical\n%s\nwant\n%s", got, want)
	}
	sum := sha256.Sum256([]byte(want))
	if h := string(newHasher().hash(got)); h != hex.EncodeToString(sum[:]) {
		t.Errorf("hash %s, want %s", h, hex.EncodeToString(sum[:]))
	}
}

// Length prefixes keep field boundaries: moving bytes from one field to the next must change
// the canonical form.
func TestCanonicalEncodingIsUnambiguous(t *testing.T) {
	base := [textColumns]string{"member", "7", "Ada", "member.signed_in", "", "", "[]", "", "", "", "success"}
	shifted := [textColumns]string{"member", "7A", "da", "member.signed_in", "", "", "[]", "", "", "", "success"}
	moved := [textColumns]string{"member", "7", "Ada", "member.signed_in", "", "", "[]", "", "", "success", ""}
	colon := [textColumns]string{"member", "7", "1:Ada", "member.signed_in", "", "", "[]", "", "", "", "success"}
	a := appendCanonical(nil, GenesisHash, 1, 1, &base)
	for _, other := range []*[textColumns]string{&shifted, &moved, &colon} {
		if bytes.Equal(a, appendCanonical(nil, GenesisHash, 1, 1, other)) {
			t.Errorf("%q and %q encode alike", base, *other)
		}
	}
	if bytes.Equal(appendCanonical(nil, GenesisHash, 12, 3, &base), appendCanonical(nil, GenesisHash, 1, 23, &base)) {
		t.Error("id and time run together")
	}
}

// SQLite builds the canonical form during Verify and Go builds it during Append; both must
// agree byte for byte on awkward values too.
func TestCanonicalSQLMatchesGo(t *testing.T) {
	f := newFixture(t)
	awkward := []Event{
		{Actor: MemberActor(1, "Zoë \n<script>alert(1)</script>"), Action: "member.created"},
		{Actor: MemberActor(2, "nul\x00inside"), Action: "member.created", Target: Target{Type: "member", ID: "2"}},
		{Actor: MemberActor(3, "bad \xff utf-8"), Action: "member.created", RequestID: "12:34"},
		{Actor: System(), Action: "setup.completed", Changes: []Change{{Field: "note", After: "emoji 🎉 \"quoted\""}}},
	}
	for _, in := range awkward {
		ev, err := f.log.Record(t.Context(), in)
		if err != nil {
			t.Fatal(err)
		}
		var fromSQL []byte
		if err := f.db.R.QueryRowContext(t.Context(),
			`SELECT `+canonicalSQL+` FROM audit_events WHERE id = ?`, ev.ID).Scan(&fromSQL); err != nil {
			t.Fatal(err)
		}
		changes, _ := encodeChanges(ev.Changes)
		text := ev.texts(changes)
		fromGo := appendCanonical(nil, ev.PrevHash, ev.ID, ev.At.UnixMilli(), &text)
		if !bytes.Equal(fromSQL, fromGo) {
			t.Errorf("event %d:\nSQL %q\nGo  %q", ev.ID, fromSQL, fromGo)
		}
	}
	if rep := f.verify(t); !rep.Intact {
		t.Errorf("report %+v", rep)
	}
}
