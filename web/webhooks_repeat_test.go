package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/app/apptest"
	"github.com/switchboard/switchboard/internal/authz"
	"github.com/switchboard/switchboard/internal/whatsapp"
	"github.com/switchboard/switchboard/migrations"
)

// Meta repeats a webhook it is not sure arrived. The CRM gets each message and each status
// once, also when the first copy was queued by a version that told events apart by wamid:
// migration 0030 rewrites those keys, and without it the repeat would be delivered again.
func TestRepeatedWebhooksReachTheCRMOnce(t *testing.T) {
	in := apptest.StartWith(t, apptest.Options{Sandbox: true})
	in.ConnectSandbox()
	_, c := signedIn(t, in, "admin@example.com", authz.RoleAdministrator)
	rcv := newReceiver(t, nil)
	addEndpoint(t, in, c, url.Values{"url": {rcv.URL + "/hooks/crm"}, "description": {"CRM sync"},
		"event": {"message.received", "message.status"}, "format": {"standard"}, "scope_numbers": {"all"}})

	post := func(value *whatsapp.MessagesValue) {
		t.Helper()
		body, err := json.Marshal(whatsapp.Webhook{Object: whatsapp.ObjectWABA, Entry: []whatsapp.Entry{{ID: apptest.SandboxWABAID,
			Changes: []whatsapp.Change{{Field: whatsapp.FieldMessages, Messages: value}}}}})
		if err != nil {
			t.Fatal(err)
		}
		req, err := http.NewRequest(http.MethodPost, in.URL+"/webhooks/whatsapp", bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set(whatsapp.SignatureHeader, whatsapp.Sign([]byte(apptest.SandboxAppSecret), body))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("webhook answered %d", resp.StatusCode)
		}
	}
	// The simulator's customer writes (so that its window is open for the reply), and the
	// same message comes again.
	inID, err := in.Sim.CustomerSays(context.Background(), apptest.SandboxNumberA, "16505551234", "Sheena Nelson", "Is my order 4711 on its way?")
	if err != nil {
		t.Fatal(err)
	}
	metadata := whatsapp.Metadata{DisplayPhoneNumber: "15550783881", PhoneNumberID: apptest.SandboxNumberA}
	inbound := &whatsapp.MessagesValue{MessagingProduct: "whatsapp", Metadata: metadata,
		Contacts: []whatsapp.Contact{{Profile: whatsapp.Profile{Name: "Sheena Nelson"}, WaID: "16505551234"}},
		Messages: []whatsapp.Message{{From: "16505551234", ID: inID, Timestamp: whatsapp.TimestampOf(time.Now()),
			Type: whatsapp.TypeText, Text: &whatsapp.Text{Body: "Is my order 4711 on its way?"}}}}
	post(inbound)

	conv := conversationOf(t, in, "16505551234", apptest.SandboxNumberA)
	if r := c.PostForm("/conversations/"+strconv.FormatInt(conv, 10)+"/text", url.Values{"body": {"It left the warehouse this morning."}}); r.Status >= 400 {
		t.Fatalf("reply: %d %s", r.Status, regexp.MustCompile(`Not sent[^<]*`).FindString(r.Body))
	}
	var outID string
	waitFor(t, "the reply's wamid", func() bool {
		err := in.App.DB.R.QueryRow(`SELECT coalesce(wamid, '') FROM messages WHERE conversation_id = ? AND direction = 'out'`, conv).Scan(&outID)
		return err == nil && outID != ""
	})
	read := &whatsapp.MessagesValue{MessagingProduct: "whatsapp", Metadata: metadata,
		Statuses: []whatsapp.Status{{ID: outID, Status: whatsapp.StatusRead, Timestamp: whatsapp.TimestampOf(time.Now()), RecipientID: "16505551234"}}}
	post(read)
	post(read)

	// Each delivery says what it is about; two with the same subject are the same event twice.
	subjects := func() map[string]int {
		waitFor(t, "the outbox to drain", func() bool {
			var pending int
			err := in.App.DB.R.QueryRow(`SELECT count(*) FROM webhook_deliveries WHERE state = 'pending'`).Scan(&pending)
			return err == nil && pending == 0
		})
		n := map[string]int{}
		for _, d := range rcv.deliveries() {
			v := decode(t, d.body)
			msg := v["data"].(map[string]any)["message"].(map[string]any)
			n[fmt.Sprintf("%s %s %v", v["type"], msg["wamid"], msg["status"])]++
		}
		return n
	}
	got := subjects()
	want := []string{"message.received " + inbound.Messages[0].ID + " <nil>", "message.status " + outID + " read"}
	for _, k := range want {
		if got[k] != 1 {
			t.Errorf("%q delivered %d times, want once (all: %v)", k, got[k], got)
		}
	}
	for k, n := range got {
		if n > 1 {
			t.Errorf("%q delivered %d times", k, n)
		}
	}

	// The keys as the version before 0030 wrote them, then the migration as an upgrade runs it.
	if _, err := in.App.DB.W.Exec(`UPDATE webhook_deliveries SET dedupe_key = CASE event_type
		WHEN 'message.received' THEN 'message.received:' || ?
		ELSE 'message.status:' || ? || ':read' END
		WHERE event_type = 'message.received' OR dedupe_key LIKE '%:read'`, inbound.Messages[0].ID, outID); err != nil {
		t.Fatal(err)
	}
	if _, err := in.App.DB.W.Exec(migrationUp(t, "0030_outbox_keys_by_message_id.sql")); err != nil {
		t.Fatal(err)
	}
	var keys []string
	rows, err := in.App.DB.R.Query(`SELECT d.dedupe_key FROM webhook_deliveries d ORDER BY d.id`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var k string
		if err := rows.Scan(&k); err != nil {
			t.Fatal(err)
		}
		keys = append(keys, k)
	}
	rows.Close()
	if strings.Contains(strings.Join(keys, " "), "wamid.") {
		t.Errorf("keys still name wamids after the migration: %v", keys)
	}
	post(inbound)
	post(read)
	again := subjects()
	for _, k := range want {
		if again[k] != 1 {
			t.Errorf("after the upgrade, %q delivered %d times in all, want once", k, again[k])
		}
	}
}

// migrationUp is the Up part of one migration file.
func migrationUp(t *testing.T, name string) string {
	t.Helper()
	b, err := fs.ReadFile(migrations.FS, name)
	if err != nil {
		t.Fatal(err)
	}
	up, _, ok := strings.Cut(string(b), "-- +goose Down")
	if !ok {
		t.Fatalf("%s has no Down part", name)
	}
	return strings.TrimPrefix(up, "-- +goose Up")
}
