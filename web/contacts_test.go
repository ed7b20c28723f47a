package web_test

import (
	"bytes"
	"context"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/app/apptest"
	"github.com/switchboard/switchboard/internal/authz"
)

func postMultipart(t *testing.T, c *apptest.Client, path string, fields map[string]string, fileName string, file []byte) apptest.Response {
	t.Helper()
	var body bytes.Buffer
	w := multipart.NewWriter(&body)
	_ = w.WriteField("_csrf", c.CSRFToken())
	for k, v := range fields {
		_ = w.WriteField(k, v)
	}
	if fileName != "" {
		part, _ := w.CreateFormFile("file", fileName)
		_, _ = part.Write(file)
	}
	_ = w.Close()
	req, err := http.NewRequest(http.MethodPost, c.URL(path), &body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", w.FormDataContentType())
	return c.Do(req)
}

func countRows(t *testing.T, in *apptest.Instance, query string) int {
	t.Helper()
	var n int
	if err := in.App.DB.R.QueryRowContext(context.Background(), query).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// Contacts are imported from CSV with a preview, nothing is imported while a line is bad, and
// the export needs contacts.export and a recent sign-in.
func TestContactImportAndExport(t *testing.T) {
	in := apptest.Start(t)
	in.ConnectSandbox()
	in.CreateMember("ada@example.com", "Ada Admin", authz.RoleAdministrator, mediaPassword)
	in.CreateMember("aga@example.com", "Aga Agent", authz.RoleAgent, mediaPassword)
	admin := in.Client()
	admin.SignIn("ada@example.com", mediaPassword)
	if r := admin.PostForm("/settings/contact-fields", url.Values{"label": {"Tier"}, "kind": {"choice"}, "choices": {"Gold\nSilver"}}); r.Status != http.StatusSeeOther {
		t.Fatalf("add field: %d", r.Status)
	}
	if r := admin.PostForm("/settings/labels", url.Values{"name": {"Wholesale"}, "color": {"yellow"}}); r.Status != http.StatusSeeOther {
		t.Fatalf("add label: %d", r.Status)
	}

	bad := "Phone,Name,Tier,Labels\n+4915112340001,Lena Fischer,Gold,Wholesale\n12,Broken,Bronze,\n"
	r := postMultipart(t, admin, "/contacts/import", nil, "contacts.csv", []byte(bad))
	if r.Status != http.StatusOK || !strings.Contains(r.Body, "Line 3") || !strings.Contains(r.Body, "Tier: choose one of Gold, Silver") {
		t.Fatalf("preview of a bad file: %d", r.Status)
	}
	r = postMultipart(t, admin, "/contacts/import", map[string]string{"csv": bad, "step": "import", "map_0": "phone", "map_1": "name", "map_2": "field:tier", "map_3": "labels"}, "", nil)
	if r.Status != http.StatusUnprocessableEntity || !strings.Contains(r.Body, "Nothing was imported") {
		t.Fatalf("import of a bad file: %d", r.Status)
	}
	if n := countRows(t, in, `SELECT count(*) FROM contacts`); n != 0 {
		t.Fatalf("a file with a bad line imported %d contacts", n)
	}

	good := "Phone,Name,Tier,Labels\n+4915112340001,Lena Fischer,Gold,Wholesale\n+4915112340002,Max Bauer,Silver,\n"
	r = postMultipart(t, admin, "/contacts/import", map[string]string{"csv": good, "step": "import", "map_0": "phone", "map_1": "name", "map_2": "field:tier", "map_3": "labels"}, "", nil)
	if r.Status != http.StatusSeeOther {
		t.Fatalf("import: %d %s", r.Status, r.Body)
	}
	if page := admin.Get("/contacts"); !strings.Contains(page.Body, "Lena Fischer") || !strings.Contains(page.Body, `data-label="Wholesale"`) {
		t.Fatal("the imported contacts are not listed")
	}

	// The agent sees neither (no conversation with them) and may not export or import.
	agent := in.Client()
	agent.SignIn("aga@example.com", mediaPassword)
	if page := agent.Get("/contacts"); page.Status != http.StatusOK || strings.Contains(page.Body, "Lena") {
		t.Fatalf("agent's contacts: %d", page.Status)
	}
	if r := agent.Get("/contacts/export"); r.Status != http.StatusForbidden || strings.Contains(r.Body, "4915112340001") {
		t.Fatalf("agent export: %d", r.Status)
	}
	if r := postMultipart(t, agent, "/contacts/import", map[string]string{"csv": good, "step": "import"}, "", nil); r.Status != http.StatusForbidden {
		t.Fatalf("agent import: %d", r.Status)
	}

	r = admin.Get("/contacts/export")
	if r.Status != http.StatusOK || !strings.HasPrefix(r.Body, "id,phone,user_id,name,whatsapp_name,labels,notes,created_at,tier\n") ||
		!strings.Contains(r.Body, "+4915112340001") || !strings.Contains(r.Body, "Wholesale") || !strings.Contains(r.Body, ",Gold") {
		t.Fatalf("export: %d %q", r.Status, r.Body)
	}
	exports := countRows(t, in, `SELECT count(*) FROM audit_events WHERE action = 'contacts.exported' AND outcome = 'success'`)
	in.Clock.Advance(11 * time.Minute)
	if r := admin.Get("/contacts/export"); r.Status != http.StatusSeeOther || !strings.HasPrefix(r.Location(), "/reauth") || strings.Contains(r.Body, "4915112340001") {
		t.Fatalf("export 11 minutes after sign-in: %d %s", r.Status, r.Location())
	}
	if n := countRows(t, in, `SELECT count(*) FROM audit_events WHERE action = 'contacts.exported' AND outcome = 'success'`); n != exports || n != 1 {
		t.Fatalf("exports recorded: %d", n)
	}
}
