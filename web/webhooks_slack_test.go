package web_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/switchboard/switchboard/internal/app/apptest"
	"github.com/switchboard/switchboard/internal/authz"
)

// A Slack incoming webhook's URL is its secret (hooks.slack.com/services/T…/B…/SECRET): after
// the endpoint is added, the pages and the activity log show it only as …and its last 4
// characters, while deliveries still go to the whole URL.
func TestSlackWebhookURLIsMaskedButDeliveredTo(t *testing.T) {
	in := apptest.StartWith(t, apptest.Options{Sandbox: true})
	in.ConnectSandbox()
	_, c := signedIn(t, in, "admin@example.com", authz.RoleAdministrator)
	var (
		mu    sync.Mutex
		paths []string
		body  string
	)
	slack := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		paths, body = append(paths, r.URL.Path), string(b)
		mu.Unlock()
		_, _ = io.WriteString(w, "ok")
	}))
	t.Cleanup(slack.Close)
	const secretPart = "vQ7xK2mN9pR4sT6uW8yZ"
	full := slack.URL + "/services/T0123ABCD/B0456EFGH/" + secretPart + "aBcD"
	id, _ := addEndpoint(t, in, c, url.Values{"url": {full}, "description": {"#ops channel"},
		"event": {"member.changed", "alert.raised"}, "format": {"slack"}, "scope_numbers": {"all"}})
	detail := "/developers/webhooks/" + strconv.FormatInt(id, 10)

	if r := c.PostForm(detail+"/test", nil); r.Status >= 400 {
		t.Fatalf("send test event: %d", r.Status)
	}
	waitFor(t, "the test event at Slack", func() bool { mu.Lock(); defer mu.Unlock(); return len(paths) > 0 })
	mu.Lock()
	if paths[0] != "/services/T0123ABCD/B0456EFGH/"+secretPart+"aBcD" || !strings.Contains(body, `"text"`) {
		t.Errorf("delivered to %q: %s", paths[0], body)
	}
	mu.Unlock()

	for _, page := range []string{"/developers/webhooks", detail, "/activity"} {
		r := c.Get(page)
		if r.Status != http.StatusOK {
			t.Fatalf("%s: %d", page, r.Status)
		}
		if strings.Contains(r.Body, secretPart) {
			t.Errorf("%s shows the Slack URL's secret", page)
		}
		if page != "/activity" && !strings.Contains(r.Body, "/services/T0123ABCD/B0456EFGH/…aBcD") {
			t.Errorf("%s does not show the masked URL", page)
		}
	}
	var events []int64
	rows, err := in.App.DB.R.Query(`SELECT id FROM audit_events WHERE target_type = 'webhook_endpoint'`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var e int64
		_ = rows.Scan(&e)
		events = append(events, e)
	}
	rows.Close()
	if len(events) < 2 {
		t.Fatalf("webhook events in the activity log: %d, want created and test_sent", len(events))
	}
	for _, e := range events {
		if r := c.Get("/activity/" + strconv.FormatInt(e, 10)); r.Status != http.StatusOK || strings.Contains(r.Body, secretPart) {
			t.Errorf("activity event %d: %d, shows the secret: %v", e, r.Status, strings.Contains(r.Body, secretPart))
		}
	}
	var leaks int
	in.App.DB.R.QueryRow(`SELECT count(*) FROM audit_events WHERE instr(changes || target_id || actor_name, ?) > 0`, secretPart).Scan(&leaks)
	if leaks != 0 {
		t.Errorf("%d activity events hold the Slack URL's secret", leaks)
	}
	var created string
	in.App.DB.R.QueryRow(`SELECT changes FROM audit_events WHERE action = 'webhook.endpoint_created'`).Scan(&created)
	if !strings.Contains(created, "…aBcD") {
		t.Errorf("the created event's url: %s", created)
	}
}
