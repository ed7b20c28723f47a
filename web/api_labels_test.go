package web_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/switchboard/switchboard/internal/authz"
	"github.com/switchboard/switchboard/internal/inbox"
)

// Labels through the API follow the pages' rules: labels are defined under labels.manage; a key
// that may work the conversation (an assigner's, or its assignee's) puts them on and takes them
// off, each change in the activity log with the key as actor; a key that only reads is refused
// and changes nothing; outside the key's numbers is 404; an unknown label names its field.
func TestAPILabelsConversationsAndContacts(t *testing.T) {
	f := newAPIFixture(t)
	in := f.in
	ctx := context.Background()
	adminP, _, _ := in.App.Members.Store().Principal(ctx, f.admin)
	vip, err := in.App.Inbox.CreateLabel(ctx, adminP, inbox.LabelInput{Name: "VIP", Color: "purple"})
	if err != nil {
		t.Fatal(err)
	}
	refund, err := in.App.Inbox.CreateLabel(ctx, adminP, inbox.LabelInput{Name: "Refund", Color: "red"})
	if err != nil {
		t.Fatal(err)
	}
	var contactA int64
	in.App.DB.R.QueryRow(`SELECT contact_id FROM conversations WHERE id = ?`, f.convA).Scan(&contactA)
	contactPath := "/api/v1/contacts/" + strconv.FormatInt(contactA, 10) + "/labels"
	labelCount := func() int {
		return f.count(t, `SELECT (SELECT count(*) FROM conversation_labels) + (SELECT count(*) FROM contact_labels)`)
	}
	body := func(add, remove []int64) string {
		b, _ := json.Marshal(map[string][]int64{"add": add, "remove": remove})
		return string(b)
	}

	k, secret := makeKey(t, in, f.admin, authz.NewSet(authz.ConversationsViewAll, authz.ConversationsAssign), f.numberA)
	api := newAPIClient(t, in, secret)
	list := api.get("/api/v1/labels")
	if list.Status != http.StatusOK || !strings.Contains(list.Body, `"name":"VIP"`) || !strings.Contains(list.Body, `"name":"Refund"`) {
		t.Fatalf("labels: %d %s", list.Status, list.Body)
	}

	r := api.post(conv(f.convA)+"/labels", body([]int64{vip.ID, refund.ID}, nil))
	if r.Status != http.StatusOK || !strings.Contains(r.Body, `"name":"VIP"`) || !strings.Contains(r.Body, `"name":"Refund"`) {
		t.Fatalf("label the conversation: %d %s", r.Status, r.Body)
	}
	r = api.post(conv(f.convA)+"/labels", body(nil, []int64{refund.ID}))
	if r.Status != http.StatusOK || strings.Contains(r.Body, "Refund") || !strings.Contains(r.Body, "VIP") {
		t.Errorf("take a label off: %d %s", r.Status, r.Body)
	}
	r = api.post(contactPath, body([]int64{vip.ID}, nil))
	if r.Status != http.StatusOK || !strings.Contains(r.Body, `"name":"VIP"`) {
		t.Errorf("label the contact: %d %s", r.Status, r.Body)
	}
	if r := api.get(contactPath); r.Status != http.StatusOK || !strings.Contains(r.Body, `"name":"VIP"`) {
		t.Errorf("read the contact's labels: %d %s", r.Status, r.Body)
	}
	if r := api.get(conv(f.convA) + "/labels"); r.Status != http.StatusOK || !strings.Contains(r.Body, `"name":"VIP"`) || strings.Contains(r.Body, "Refund") {
		t.Errorf("read the conversation's labels: %d %s", r.Status, r.Body)
	}
	// The conversation objects carry their labels, in the list and alone.
	for _, path := range []string{conv(f.convA), "/api/v1/conversations"} {
		if r := api.get(path); r.Status != http.StatusOK || !strings.Contains(r.Body, `"labels":[{"id":`+strconv.FormatInt(vip.ID, 10)+`,"name":"VIP"`) ||
			strings.Contains(r.Body, "Refund") {
			t.Errorf("GET %s does not show the conversation's labels: %d %s", path, r.Status, r.Body)
		}
	}
	// So do the contact objects.
	for _, path := range []string{"/api/v1/contacts/" + strconv.FormatInt(contactA, 10), "/api/v1/contacts"} {
		if r := api.get(path); r.Status != http.StatusOK || !strings.Contains(r.Body, `"labels":[{"id":`+strconv.FormatInt(vip.ID, 10)+`,"name":"VIP"`) {
			t.Errorf("GET %s does not show the contact's labels: %d %s", path, r.Status, r.Body)
		}
	}
	actor := strconv.FormatInt(k.ID, 10)
	for action, want := range map[string]int{"conversation.labelled": 2, "conversation.unlabelled": 1, "contact.labelled": 1} {
		if n := f.count(t, `SELECT count(*) FROM audit_events WHERE action = ? AND actor_type = 'api_key' AND actor_id = ? AND outcome = 'success'`, action, actor); n != want {
			t.Errorf("%s events by the key: %d, want %d", action, n, want)
		}
	}
	if page := in.Client(); true {
		page.SignIn("admin@example.com", ownerPassword)
		if p := page.Get("/conversations/" + strconv.FormatInt(f.convA, 10)); !strings.Contains(p.Body, "VIP") {
			t.Error("the conversation's page does not show the label put on through the API")
		}
	}

	// Bad input names the field and changes nothing.
	before := labelCount()
	for _, bad := range []struct{ body, field string }{
		{body([]int64{vip.ID, 999999}, nil), "add[1]"},
		{body([]int64{refund.ID}, []int64{refund.ID}), "remove[0]"},
		{`{}`, "add"},
		{`{"add": ["VIP"]}`, "add"},
	} {
		r := api.post(conv(f.convA)+"/labels", bad.body)
		if r.Status != http.StatusUnprocessableEntity || !strings.Contains(r.Body, fmt.Sprintf(`"field":%q`, bad.field)) {
			t.Errorf("%s: %d %s", bad.body, r.Status, r.Body)
		}
	}
	if labelCount() != before {
		t.Error("a refused label change changed labels")
	}

	// Outside the key's numbers: 404, nothing changes.
	var contactB int64
	in.App.DB.R.QueryRow(`SELECT contact_id FROM conversations WHERE id = ?`, f.convB).Scan(&contactB)
	for _, path := range []string{conv(f.convB) + "/labels", "/api/v1/contacts/" + strconv.FormatInt(contactB, 10) + "/labels"} {
		if r := api.post(path, body([]int64{vip.ID}, nil)); r.Status != http.StatusNotFound {
			t.Errorf("%s outside the key's numbers: %d %s", path, r.Status, r.Body)
		}
		if r := api.get(path); r.Status != http.StatusNotFound {
			t.Errorf("GET %s outside the key's numbers: %d %s", path, r.Status, r.Body)
		}
	}
	// The contact object that carries its labels is out of reach as well, and the list leaves
	// the contact (and so its labels) out.
	b := strconv.FormatInt(contactB, 10)
	if r := api.get("/api/v1/contacts/" + b); r.Status != http.StatusNotFound {
		t.Errorf("GET the contact outside the key's numbers: %d %s", r.Status, r.Body)
	}
	if r := api.get("/api/v1/contacts"); r.Status != http.StatusOK || strings.Contains(r.Body, `"id":`+b+`,"phone"`) ||
		!strings.Contains(r.Body, `"id":`+strconv.FormatInt(contactA, 10)+`,"phone"`) {
		t.Errorf("the contact list shows a contact outside the key's numbers, or not the one inside: %d %s", r.Status, r.Body)
	}

	// A key that sees the conversation but may not work it (neither its assignee nor an
	// assigner) is refused, as a member would be on the page; a key without a conversation
	// permission at all lacks the scope.
	_, reader := makeKey(t, in, f.admin, authz.NewSet(authz.ConversationsViewAll, authz.ConversationsViewAssigned))
	ro := newAPIClient(t, in, reader)
	for _, path := range []string{conv(f.convA) + "/labels", contactPath} {
		r := ro.post(path, body([]int64{refund.ID}, nil))
		if r.Status != http.StatusForbidden || !strings.HasSuffix(r.problemType(), "#problem-forbidden") {
			t.Errorf("%s by a key that may not work it: %d %s", path, r.Status, r.Body)
		}
	}
	_, none := makeKey(t, in, f.admin, authz.NewSet(authz.TemplatesView))
	if r := newAPIClient(t, in, none).post(conv(f.convA)+"/labels", body([]int64{refund.ID}, nil)); r.Status != http.StatusForbidden ||
		!strings.HasSuffix(r.problemType(), "#problem-missing-scope") {
		t.Errorf("a key without conversation permissions: %d %s", r.Status, r.Body)
	}
	if labelCount() != before {
		t.Error("a refused label change changed labels")
	}
	if n := f.count(t, `SELECT count(*) FROM audit_events WHERE action IN ('conversation.labelled', 'contact.labelled') AND outcome = 'denied' AND actor_type = 'api_key'`); n != 2 {
		t.Errorf("denied label events: %d, want 2", n)
	}
}
