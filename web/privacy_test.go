package web_test

import (
	"archive/zip"
	"bytes"
	"context"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/switchboard/switchboard/internal/app/apptest"
	"github.com/switchboard/switchboard/internal/audit"
	"github.com/switchboard/switchboard/internal/authz"
	"github.com/switchboard/switchboard/internal/consent"
)

const (
	erasedNumber = "16505551234"
	erasedName   = "Sheena Nelson"
	erasedWords  = "my parcel code is PLUMTREE7781"
	keptNumber   = "16505559876"
	keptWords    = "please call me about invoice TANGERINE"
)

// privacyFixture: two customers wrote in; the first opted in to marketing and was answered.
func privacyFixture(t *testing.T) (*apptest.Instance, int64, int64) {
	t.Helper()
	in := apptest.Start(t)
	in.ConnectSandbox()
	ctx := context.Background()
	for _, m := range []struct{ number, name, text string }{
		{erasedNumber, erasedName, "Hello, " + erasedWords},
		{erasedNumber, erasedName, "Are you open on Sunday?"},
		{keptNumber, "Kept Customer", keptWords},
	} {
		if _, err := in.Sim.CustomerSays(ctx, apptest.SandboxNumberA, m.number, m.name, m.text); err != nil {
			t.Fatal(err)
		}
	}
	conv := conversationOf(t, in, erasedNumber, apptest.SandboxNumberA)
	var contact int64
	if err := in.App.DB.R.QueryRow(`SELECT contact_id FROM conversations WHERE id = ?`, conv).Scan(&contact); err != nil {
		t.Fatal(err)
	}
	if _, err := in.App.Consent.Set(audit.WithActor(ctx, audit.SystemActor("test")), contact, "Test", consent.Change{Status: consent.StatusOptedIn, Source: consent.SourceForm,
		Text: "Yes, send me offers by WhatsApp"}); err != nil {
		t.Fatal(err)
	}
	return in, contact, conv
}

func readZip(t *testing.T, body string) map[string]string {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader([]byte(body)), int64(len(body)))
	if err != nil {
		t.Fatalf("not a ZIP: %v", err)
	}
	files := map[string]string{}
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(rc)
		rc.Close()
		files[f.Name] = string(b)
	}
	return files
}

// A subject-access export holds everything about the customer, and nothing about another one:
// profile, consent history with the wording, both messages, the activity naming them; as JSON
// and as a readable page. It is recorded; a member without contacts.export is refused.
func TestSubjectAccessExport(t *testing.T) {
	in, contact, conv := privacyFixture(t)
	_, admin := signedIn(t, in, "admin@example.com", authz.RoleAdministrator)
	// An event about the customer's conversation, to be found in the export.
	if r := admin.PostForm("/conversations/"+strconv.FormatInt(conv, 10)+"/close", nil); r.Status >= 400 {
		t.Fatalf("close: %d", r.Status)
	}
	// A photo the customer sent, stored by content hash under DATA/media.
	const sha = "cd34ef56ab12cd34ef56ab12cd34ef56ab12cd34ef56ab12cd34ef56ab12cd34"
	if err := os.MkdirAll(filepath.Join(in.DataDir, "media", "cd"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(in.DataDir, "media", "cd", sha), []byte("photo of the broken pot"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := in.App.DB.W.Exec(`INSERT INTO media (message_id, conversation_id, kind, mime_type, file_name, sha256, size, state, created_at)
		SELECT id, conversation_id, 'image', 'image/jpeg', 'pot.jpg', ?, 23, 'stored', 0 FROM messages WHERE conversation_id = ? LIMIT 1`, sha, conv); err != nil {
		t.Fatal(err)
	}
	path := "/privacy/requests/contacts/" + strconv.FormatInt(contact, 10) + "/export"

	_, agent := signedIn(t, in, "agent@example.com", authz.RoleAgent)
	if r := agent.PostForm(path, nil); r.Status != http.StatusForbidden {
		t.Errorf("agent export: %d, want 403", r.Status)
	}
	if n := secCount(t, in, `SELECT count(*) FROM audit_events WHERE action = 'contact.exported' AND outcome = 'success'`); n != 0 {
		t.Fatalf("%d exports recorded after a refusal", n)
	}

	page := admin.Get("/privacy/requests?number=" + url.QueryEscape("+1 650 555 1234"))
	if page.Status != http.StatusOK || !strings.Contains(page.Body, erasedName) || !strings.Contains(page.Body, "2 messages") {
		t.Fatalf("find by number: %d", page.Status)
	}
	r := admin.PostForm(path, nil)
	if r.Status != http.StatusOK || r.Header.Get("Content-Type") != "application/zip" {
		t.Fatalf("export: %d %s", r.Status, r.Header.Get("Content-Type"))
	}
	files := readZip(t, r.Body)
	for _, name := range []string{"contact.json", "profile.json", "consent.json", "conversations.json", "activity.json", "index.html"} {
		if files[name] == "" {
			t.Errorf("%s missing from the export", name)
		}
	}
	for name, want := range map[string][]string{
		"profile.json":       {erasedNumber, erasedName},
		"consent.json":       {"opted_in", "Yes, send me offers by WhatsApp"},
		"conversations.json": {erasedWords, "Are you open on Sunday?"},
		"activity.json":      {"conversation.closed", "contact.consent_changed"},
		"index.html":         {erasedName, erasedWords, "Yes, send me offers by WhatsApp", "Closed a conversation"},
	} {
		for _, w := range want {
			if !strings.Contains(files[name], w) {
				t.Errorf("%s lacks %q", name, w)
			}
		}
	}
	media := 0
	for name, body := range files {
		if strings.HasPrefix(name, "media/") && body == "photo of the broken pot" {
			media++
		}
	}
	if media != 1 {
		t.Errorf("the customer's photo is not in the export (%d files)", media)
	}
	for name, body := range files {
		if strings.Contains(body, keptWords) || strings.Contains(body, keptNumber) {
			t.Errorf("%s holds another customer's data", name)
		}
	}
	if n := secCount(t, in, `SELECT count(*) FROM audit_events WHERE action = 'contact.exported' AND outcome = 'success' AND target_id = ?`, strconv.FormatInt(contact, 10)); n != 1 {
		t.Errorf("%d export events, want 1", n)
	}
	// Someone outside the customer's number: the Support role has no export permission, so the
	// same request by a member of a custom role with contacts.export but another number is 404 —
	// covered by the inbox's visibility; here an unknown contact id answers 404.
	if r := admin.PostForm("/privacy/requests/contacts/999999/export", nil); r.Status != http.StatusNotFound {
		t.Errorf("unknown contact: %d", r.Status)
	}
}

// scanFor reports which needles occur in the files (the database, its WAL, the media files).
func scanFor(t *testing.T, files []string, needles []string) []string {
	t.Helper()
	var found []string
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			if os.IsNotExist(err) {
				continue
			}
			t.Fatal(err)
		}
		for _, n := range needles {
			if bytes.Contains(b, []byte(n)) {
				found = append(found, filepath.Base(f)+": "+n)
			}
		}
	}
	return found
}

func dataFiles(t *testing.T, in *apptest.Instance) []string {
	t.Helper()
	dir := in.DataDir
	files := []string{filepath.Join(dir, "switchboard.db"), filepath.Join(dir, "switchboard.db-wal")}
	_ = filepath.Walk(filepath.Join(dir, "media"), func(p string, info os.FileInfo, err error) error {
		if err == nil && !info.IsDir() {
			files = append(files, p)
		}
		return nil
	})
	return files
}

// Erasure removes the customer everywhere: after it, the database file, its WAL and the media
// directory hold neither their number, nor their name, nor their words (in any case: the
// search index keeps words in lower case), while the other customer is untouched; the activity
// log still verifies and names the customer only by id. A member without contacts.erase is
// refused and nothing changes.
func TestErasureLeavesNoTrace(t *testing.T) {
	in, contact, _ := privacyFixture(t)
	ctx := context.Background()
	if err := in.App.Inbox.IndexSearch(ctx, in.App.DB.W); err != nil {
		t.Fatal(err)
	}
	// A media file (stored by content hash under DATA/media) and the team's notes on the contact.
	const sha = "ab12cd34ef56ab12cd34ef56ab12cd34ef56ab12cd34ef56ab12cd34ef56ab12"
	if err := os.MkdirAll(filepath.Join(in.DataDir, "media", "ab"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(in.DataDir, "media", "ab", sha), []byte("JPEG of Sheena's passport"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := in.App.DB.W.Exec(`INSERT INTO media (message_id, conversation_id, kind, mime_type, file_name, sha256, size, state, created_at)
		SELECT m.id, m.conversation_id, 'image', 'image/jpeg', 'passport-scan.jpg', ?, 25, 'stored', 0 FROM messages m
		JOIN conversations c ON c.id = m.conversation_id WHERE c.contact_id = ? LIMIT 1`, sha, contact); err != nil {
		t.Fatal(err)
	}
	if _, err := in.App.DB.W.Exec(`UPDATE contacts SET notes = 'Prefers calls after 6pm' WHERE id = ?`, contact); err != nil {
		t.Fatal(err)
	}
	needles := []string{erasedNumber, erasedName, "Sheena", "sheena", "nelson", "PLUMTREE7781", "plumtree7781", "Sunday",
		"passport", "Prefers calls after 6pm"}
	if found := scanFor(t, dataFiles(t, in), needles); len(found) == 0 {
		t.Fatal("the customer is not in the files before erasure: the scan proves nothing")
	}
	path := "/privacy/requests/contacts/" + strconv.FormatInt(contact, 10) + "/erase"

	_, analyst := signedIn(t, in, "analyst@example.com", authz.RoleAnalyst)
	if r := analyst.PostForm(path, nil); r.Status != http.StatusForbidden {
		t.Errorf("analyst erase: %d, want 403", r.Status)
	}
	if n := secCount(t, in, `SELECT count(*) FROM contacts WHERE id = ?`, contact); n != 1 {
		t.Fatal("a refused erasure changed something")
	}

	_, admin := signedIn(t, in, "admin@example.com", authz.RoleAdministrator)
	r := admin.PostForm(path, url.Values{"reference": {"ticket 4711"}})
	if r.Status != http.StatusSeeOther && r.Status != http.StatusFound {
		t.Fatalf("erase: %d %s", r.Status, r.Body)
	}
	if found := scanFor(t, dataFiles(t, in), needles); len(found) > 0 {
		t.Errorf("still in the files after erasure: %v", found)
	}
	if _, err := os.Stat(filepath.Join(in.DataDir, "media", "ab", sha)); !os.IsNotExist(err) {
		t.Errorf("the media file is still there: %v", err)
	}
	if found := scanFor(t, dataFiles(t, in), []string{keptWords, keptNumber}); len(found) < 2 {
		t.Errorf("the other customer was touched: found only %v", found)
	}
	rep, err := in.App.Audit.Verify(ctx)
	if err != nil || !rep.Intact {
		t.Fatalf("activity log after erasure: %+v %v", rep, err)
	}
	if n := secCount(t, in, `SELECT count(*) FROM audit_events WHERE action = 'contact.erased' AND target_id = ? AND outcome = 'success'`, strconv.FormatInt(contact, 10)); n != 1 {
		t.Errorf("%d erasure events", n)
	}
	page := admin.Get("/privacy/requests")
	if !strings.Contains(page.Body, "ticket 4711") || !strings.Contains(page.Body, "Erased") {
		t.Error("the erasure is not listed")
	}
}

// With four eyes on, the member who asks cannot confirm; a second one can.
func TestErasureFourEyes(t *testing.T) {
	in, contact, _ := privacyFixture(t)
	_, first := signedIn(t, in, "admin@example.com", authz.RoleAdministrator)
	if r := first.PostForm("/settings/privacy/retention", url.Values{"four_eyes": {"1"}, "messages_days": {"0"}, "media_days": {"0"},
		"webhook_days": {"30"}, "activity_days": {"0"}}); r.Status != http.StatusSeeOther && r.Status != http.StatusFound {
		t.Fatalf("settings: %d", r.Status)
	}
	if r := first.PostForm("/privacy/requests/contacts/"+strconv.FormatInt(contact, 10)+"/erase", nil); r.Status >= 400 {
		t.Fatalf("request: %d", r.Status)
	}
	var req int64
	if err := in.App.DB.R.QueryRow(`SELECT id FROM erasure_requests WHERE status = 'pending'`).Scan(&req); err != nil {
		t.Fatal(err)
	}
	confirm := "/privacy/requests/erasures/" + strconv.FormatInt(req, 10) + "/confirm"
	if r := first.PostForm(confirm, nil); r.Status != http.StatusForbidden {
		t.Errorf("self-confirm: %d, want 403", r.Status)
	}
	if n := secCount(t, in, `SELECT count(*) FROM contacts WHERE id = ?`, contact); n != 1 {
		t.Fatal("the requester alone erased the customer")
	}
	_, second := signedIn(t, in, "second@example.com", authz.RoleAdministrator)
	if r := second.PostForm(confirm, nil); r.Status >= 400 {
		t.Fatalf("second confirm: %d", r.Status)
	}
	if n := secCount(t, in, `SELECT count(*) FROM contacts WHERE id = ?`, contact); n != 0 {
		t.Error("the confirmed erasure did not happen")
	}
}

// Retention: messages older than the setting go, the run is listed with what it removed.
func TestRetentionRunsAreVisible(t *testing.T) {
	in, _, _ := privacyFixture(t)
	_, admin := signedIn(t, in, "admin@example.com", authz.RoleAdministrator)
	if r := admin.PostForm("/settings/privacy/retention", url.Values{"messages_days": {"abc"}, "media_days": {"0"}, "webhook_days": {"30"}, "activity_days": {"0"}}); r.Status != http.StatusUnprocessableEntity || !strings.Contains(r.Body, "whole number") {
		t.Errorf("bad days: %d", r.Status)
	}
	if r := admin.PostForm("/settings/privacy/retention", url.Values{"messages_days": {"1"}, "media_days": {"1"}, "webhook_days": {"30"}, "activity_days": {"0"}}); r.Status >= 400 {
		t.Fatalf("save: %d", r.Status)
	}
	in.Clock.Advance(49 * 60 * 60 * 1e9)
	// The session timed out over two days: sign in again.
	admin = in.Client()
	admin.SignIn("admin@example.com", ownerPassword)
	if r := admin.PostForm("/settings/privacy/retention/run", nil); r.Status >= 400 {
		t.Fatalf("run: %d", r.Status)
	}
	if n := secCount(t, in, `SELECT count(*) FROM messages`); n != 0 {
		t.Errorf("%d messages left after retention", n)
	}
	page := admin.Get("/settings/privacy")
	if !strings.Contains(page.Body, "Retention jobs") || !strings.Contains(page.Body, ">3<") {
		t.Errorf("the messages job's run (3 removed) is not shown")
	}
	if n := secCount(t, in, `SELECT count(*) FROM audit_events WHERE action = 'retention.ran'`); n != 1 {
		t.Errorf("%d retention events", n)
	}
	if r := admin.Get("/privacy"); !strings.Contains(r.Body, "1 day") {
		t.Error("the records of processing do not show the messages' retention")
	}
}

// The access review lists the API keys that still work, with who made them and their reach;
// a revoked key is not listed.
func TestAccessReviewListsAPIKeys(t *testing.T) {
	in := apptest.Start(t)
	m, admin := signedIn(t, in, "admin@example.com", authz.RoleAdministrator)
	k, _ := makeKey(t, in, m.ID, authz.NewSet(authz.TemplatesView, authz.NumbersView))
	gone, _ := makeKey(t, in, m.ID, authz.NewSet(authz.TemplatesView))
	p, _, err := in.App.Members.Store().Principal(context.Background(), m.ID)
	if err != nil {
		t.Fatal(err)
	}
	if err := in.App.APIKeys.Revoke(context.Background(), p, gone.ID); err != nil {
		t.Fatal(err)
	}
	page := admin.Get("/reviews")
	if !strings.Contains(page.Body, "review-keys-title") || !strings.Contains(page.Body, k.Name) || !strings.Contains(page.Body, "…"+k.Last4) {
		t.Error("the active API key is not in the review")
	}
	if strings.Contains(page.Body, "…"+gone.Last4) {
		t.Error("a revoked key is listed")
	}
}
