package web_test

import (
	"context"
	"crypto/tls"
	"database/sql"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/switchboard/switchboard/internal/app/apptest"
	"github.com/switchboard/switchboard/internal/authz"
	"github.com/switchboard/switchboard/internal/members"
	"github.com/switchboard/switchboard/internal/webhooks"
)

// receiver is a webhook receiver on 127.0.0.1 that keeps what it is sent.
type receiver struct {
	*httptest.Server
	mu    sync.Mutex
	got   []delivered
	conns int
	// status answers the n-th request (0-based); 204 when nil.
	status func(n int) int
}

type delivered struct {
	header http.Header
	body   []byte
}

func newReceiver(t *testing.T, status func(n int) int) *receiver {
	t.Helper()
	r := &receiver{status: status}
	r.Server = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		b, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		n := len(r.got)
		r.got = append(r.got, delivered{header: req.Header.Clone(), body: b})
		r.mu.Unlock()
		code := http.StatusNoContent
		if r.status != nil {
			code = r.status(n)
		}
		w.WriteHeader(code)
		if code >= 300 {
			_, _ = io.WriteString(w, `{"error":"the CRM is down for maintenance"}`)
		}
	}))
	r.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			r.mu.Lock()
			r.conns++
			r.mu.Unlock()
		}
	}
	r.Start()
	t.Cleanup(r.Close)
	return r
}

func (r *receiver) deliveries() []delivered {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]delivered(nil), r.got...)
}

// waitFor polls until cond holds; generous, for a loaded machine.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

var webhookSecretOnPage = regexp.MustCompile(`value="(whsec_[A-Za-z0-9+/=]+)"`)

// addEndpoint adds an endpoint through the page as c and returns its id and signing secret.
func addEndpoint(t *testing.T, in *apptest.Instance, c *apptest.Client, form url.Values) (int64, string) {
	t.Helper()
	r := c.PostForm("/developers/webhooks", form)
	if r.Status != http.StatusOK {
		t.Fatalf("add endpoint: %d %s", r.Status, r.Body)
	}
	m := webhookSecretOnPage.FindStringSubmatch(r.Body)
	if m == nil {
		t.Fatal("no signing secret on the page after adding an endpoint")
	}
	var id int64
	if err := in.App.DB.R.QueryRow(`SELECT max(id) FROM webhook_endpoints`).Scan(&id); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(c.Get("/developers/webhooks/"+strconv.FormatInt(id, 10)).Body, m[1]) {
		t.Error("the signing secret is shown again after the page that added the endpoint")
	}
	return id, m[1]
}

func decode(t *testing.T, b []byte) map[string]any {
	t.Helper()
	var v map[string]any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("payload is not JSON: %v: %s", err, b)
	}
	return v
}

// The Standard Webhooks library verifies what Switchboard sends: a message received, its
// assignment and closing, each with webhook-id, webhook-timestamp and webhook-signature.
func TestWebhookDeliveriesVerifyWithTheStandardWebhooksLibrary(t *testing.T) {
	in := apptest.StartWith(t, apptest.Options{Sandbox: true})
	in.ConnectSandbox()
	ctx := context.Background()
	admin, c := signedIn(t, in, "admin@example.com", authz.RoleAdministrator)
	rcv := newReceiver(t, nil)
	_, secret := addEndpoint(t, in, c, url.Values{"url": {rcv.URL + "/hooks/crm"}, "description": {"CRM sync"},
		"event": {"message.received", "conversation.assigned", "conversation.closed"}, "format": {"standard"}, "scope_numbers": {"all"}})

	if _, err := in.Sim.CustomerSays(ctx, apptest.SandboxNumberA, "16505551234", "Sheena Nelson", "Hi, do you ship to Berlin?"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "message.received", func() bool { return len(rcv.deliveries()) >= 1 })
	conv := conversationOf(t, in, "16505551234", apptest.SandboxNumberA)
	if r := c.PostForm("/conversations/"+strconv.FormatInt(conv, 10)+"/assign", url.Values{"member": {strconv.FormatInt(admin.ID, 10)}}); r.Status >= 400 {
		t.Fatalf("assign: %d", r.Status)
	}
	if r := c.PostForm("/conversations/"+strconv.FormatInt(conv, 10)+"/close", nil); r.Status >= 400 {
		t.Fatalf("close: %d", r.Status)
	}
	waitFor(t, "three deliveries", func() bool { return len(rcv.deliveries()) >= 3 })

	wh, err := standardwebhooks.NewWebhook(secret)
	if err != nil {
		t.Fatal(err)
	}
	types := map[string]map[string]any{}
	ids := map[string]bool{}
	for _, d := range rcv.deliveries() {
		if err := wh.Verify(d.body, d.header); err != nil {
			t.Errorf("the library refuses a delivery: %v\n%s", err, d.body)
		}
		tampered := append([]byte(nil), d.body...)
		tampered[len(tampered)/2] ^= 1
		if wh.Verify(tampered, d.header) == nil {
			t.Error("a tampered body verified")
		}
		ids[d.header.Get("webhook-id")] = true
		v := decode(t, d.body)
		types[v["type"].(string)] = v["data"].(map[string]any)
	}
	if len(ids) != 3 {
		t.Errorf("webhook-ids %v, want three different ones", ids)
	}
	msg := types["message.received"]
	if msg == nil || msg["message"].(map[string]any)["text"] != "Hi, do you ship to Berlin?" || msg["contact"].(map[string]any)["wa_id"] != "16505551234" {
		t.Errorf("message.received: %v", msg)
	}
	if a := types["conversation.assigned"]; a == nil || a["assignee"].(map[string]any)["name"] != admin.Name {
		t.Errorf("conversation.assigned: %v", a)
	}
	if types["conversation.closed"] == nil {
		t.Error("no conversation.closed")
	}
	page := c.Get("/developers/webhooks/" + strconv.FormatInt(maxEndpoint(t, in), 10))
	for _, want := range []string{"message.received", "conversation.closed", ">204<", "CRM sync"} {
		if !strings.Contains(page.Body, want) {
			t.Errorf("the delivery log does not show %q", want)
		}
	}
}

func maxEndpoint(t *testing.T, in *apptest.Instance) int64 {
	t.Helper()
	var id int64
	if err := in.App.DB.R.QueryRow(`SELECT max(id) FROM webhook_endpoints`).Scan(&id); err != nil {
		t.Fatal(err)
	}
	return id
}

// A receiver that answers 500 gets the event again, with the same webhook-id, after the
// back-off; the log shows every attempt; Redeliver sends it once more.
func TestWebhookRetriesAfterAReceiverErrorAndRedelivers(t *testing.T) {
	in := apptest.StartWith(t, apptest.Options{Sandbox: true})
	_, c := signedIn(t, in, "dev@example.com", authz.RoleDeveloper)
	rcv := newReceiver(t, func(n int) int {
		if n < 2 {
			return http.StatusInternalServerError
		}
		return http.StatusOK
	})
	id, _ := addEndpoint(t, in, c, url.Values{"url": {rcv.URL + "/hook"}, "event": {"template.status"}, "format": {"standard"}, "scope_numbers": {"all"}})
	base := "/developers/webhooks/" + strconv.FormatInt(id, 10)
	if r := c.PostForm(base+"/test", nil); r.Status != http.StatusSeeOther {
		t.Fatalf("send test event: %d", r.Status)
	}
	waitFor(t, "the first attempt", func() bool { return len(rcv.deliveries()) == 1 })
	waitFor(t, "the first attempt recorded", func() bool { return attempts(t, in, id) == 1 })
	in.Clock.Advance(11 * time.Second) // the first retry waits 5–10 s
	waitFor(t, "the second attempt", func() bool { return len(rcv.deliveries()) == 2 })
	waitFor(t, "the second attempt recorded", func() bool { return attempts(t, in, id) == 2 })
	in.Clock.Advance(21 * time.Second) // then 10–20 s
	waitFor(t, "the third attempt", func() bool { return len(rcv.deliveries()) == 3 })
	var state string
	var deliveryID int64
	waitFor(t, "delivered", func() bool {
		in.App.DB.R.QueryRow(`SELECT id, state FROM webhook_deliveries WHERE endpoint_id = ?`, id).Scan(&deliveryID, &state)
		return state == "delivered"
	})
	got := rcv.deliveries()
	for _, d := range got[1:] {
		if d.header.Get("webhook-id") != got[0].header.Get("webhook-id") {
			t.Errorf("a retry has another webhook-id: %q, first %q", d.header.Get("webhook-id"), got[0].header.Get("webhook-id"))
		}
	}
	if v := decode(t, got[0].body); v["type"] != "webhook.test" {
		t.Errorf("test event type %v", v["type"])
	}
	page := c.Get(base).Body
	if strings.Count(page, ">500<") != 2 || strings.Count(page, ">200<") != 1 || !strings.Contains(page, "the CRM is down for maintenance") {
		t.Errorf("the delivery log does not show two 500s with the answer and one 200")
	}

	if r := c.PostForm(base+"/deliveries/"+strconv.FormatInt(deliveryID, 10)+"/redeliver", nil); r.Status != http.StatusSeeOther {
		t.Fatalf("redeliver: %d", r.Status)
	}
	waitFor(t, "the redelivery", func() bool { return len(rcv.deliveries()) == 4 })
	if rcv.deliveries()[3].header.Get("webhook-id") != got[0].header.Get("webhook-id") {
		t.Error("a redelivery has another webhook-id")
	}
	var n int
	in.App.DB.R.QueryRow(`SELECT count(*) FROM audit_events WHERE action IN ('webhook.endpoint_created', 'webhook.test_sent', 'webhook.redelivered')`).Scan(&n)
	if n != 3 {
		t.Errorf("%d activity events for adding, testing and redelivering, want 3", n)
	}
}

func attempts(t *testing.T, in *apptest.Instance, endpoint int64) int {
	var n int
	if err := in.App.DB.R.QueryRow(`SELECT count(*) FROM webhook_attempts WHERE endpoint_id = ?`, endpoint).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// Outside the sandbox nothing is sent to a private, link-local or loopback address: typed as
// an address it is refused on the form; behind a name, at connect time, before any byte.
func TestWebhooksNeverReachPrivateAddresses(t *testing.T) {
	names := map[string]string{"crm.internal.example": "10.0.0.1", "metadata.example": "169.254.169.254", "sneaky.example": "127.0.0.1"}
	in := apptest.StartWith(t, apptest.Options{WebhookLookup: func(_ context.Context, host string) ([]netip.Addr, error) {
		if ip, ok := names[host]; ok {
			return []netip.Addr{netip.MustParseAddr(ip)}, nil
		}
		return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
	}})
	_, c := signedIn(t, in, "dev@example.com", authz.RoleDeveloper)
	// Something listens on loopback, with TLS: it must never see a connection.
	rcv := newReceiver(t, nil)
	rcv.Close()
	tlsRcv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {}))
	var conns sync.Map
	tlsRcv.Config.ConnState = func(c net.Conn, _ http.ConnState) { conns.Store(c.RemoteAddr().String(), true) }
	tlsRcv.TLS = &tls.Config{}
	tlsRcv.StartTLS()
	defer tlsRcv.Close()
	_, port, _ := net.SplitHostPort(tlsRcv.Listener.Addr().String())

	for _, bad := range []string{"https://10.0.0.1/hook", "https://169.254.169.254/latest/meta-data/", "https://[fd00::1]/hook",
		"https://[::ffff:10.0.0.1]/hook", "http://127.0.0.1:" + port + "/hook", "https://127.0.0.1:" + port + "/hook", "ftp://example.com/hook"} {
		r := c.PostForm("/developers/webhooks", url.Values{"url": {bad}, "event": {"template.status"}, "format": {"standard"}, "scope_numbers": {"all"}})
		if r.Status != http.StatusUnprocessableEntity {
			t.Errorf("%s: %d, want 422", bad, r.Status)
		}
	}
	var n int
	in.App.DB.R.QueryRow(`SELECT count(*) FROM webhook_endpoints`).Scan(&n)
	if n != 0 {
		t.Fatalf("%d endpoints stored from refused forms", n)
	}

	var ids []int64
	for host := range names {
		id, _ := addEndpoint(t, in, c, url.Values{"url": {"https://" + host + ":" + port + "/hook"}, "event": {"template.status"},
			"format": {"standard"}, "scope_numbers": {"all"}})
		if r := c.PostForm("/developers/webhooks/"+strconv.FormatInt(id, 10)+"/test", nil); r.Status != http.StatusSeeOther {
			t.Fatalf("send test: %d", r.Status)
		}
		ids = append(ids, id)
	}
	for _, id := range ids {
		waitFor(t, "the refused attempt", func() bool { return attempts(t, in, id) == 1 })
		var msg string
		in.App.DB.R.QueryRow(`SELECT error FROM webhook_attempts WHERE endpoint_id = ?`, id).Scan(&msg)
		if !strings.Contains(msg, "Refused") || !strings.Contains(msg, "not a public internet address") {
			t.Errorf("endpoint %d: attempt error %q", id, msg)
		}
		if page := c.Get("/developers/webhooks/" + strconv.FormatInt(id, 10)).Body; !strings.Contains(page, "webhooks go only to public internet addresses") {
			t.Errorf("endpoint %d: the log does not say why nothing was sent", id)
		}
	}
	count := 0
	conns.Range(func(any, any) bool { count++; return true })
	if count != 0 {
		t.Errorf("the loopback receiver saw %d connections", count)
	}
}

// Who may configure what: without webhooks.manage nothing; with it, only within one's numbers
// and events one may see; an endpoint of other numbers is not found. An endpoint's creator
// without contacts.view_pii gets masked numbers.
func TestWebhookEndpointsKeepToTheirCreatorsAccess(t *testing.T) {
	in := apptest.StartWith(t, apptest.Options{Sandbox: true})
	in.ConnectSandbox()
	ctx := context.Background()
	admin, ac := signedIn(t, in, "admin@example.com", authz.RoleAdministrator)
	pa, _, err := in.App.Members.Store().Principal(ctx, admin.ID)
	if err != nil {
		t.Fatal(err)
	}
	role, err := in.App.Members.CreateRole(ctx, pa, members.RoleInput{Name: "Integrator"},
		authz.NewSet(authz.WebhooksManage, authz.ConversationsViewAll, authz.TemplatesView))
	if err != nil {
		t.Fatal(err)
	}
	integ := in.CreateMember("integ@example.com", "Ines Integrator", authz.RoleAgent, ownerPassword)
	if err := in.App.Members.ChangeRole(ctx, pa, integ.ID, role.ID); err != nil {
		t.Fatal(err)
	}
	numA, numB := numberRef(t, in, apptest.SandboxNumberA), numberRef(t, in, apptest.SandboxNumberB)
	if err := in.App.Members.SetNumberScope(ctx, pa, integ.ID, false, []int64{numA}); err != nil {
		t.Fatal(err)
	}
	ic := in.Client()
	ic.SignIn("integ@example.com", ownerPassword)
	_, agent := signedIn(t, in, "agent@example.com", authz.RoleAgent)
	rcv := newReceiver(t, nil)
	form := func(events []string, numbers ...int64) url.Values {
		f := url.Values{"url": {rcv.URL + "/hook"}, "event": events, "format": {"standard"}, "scope_numbers": {"some"}}
		for _, n := range numbers {
			f.Add("number", strconv.FormatInt(n, 10))
		}
		return f
	}

	if r := agent.PostForm("/developers/webhooks", form([]string{"message.received"}, numA)); r.Status != http.StatusForbidden {
		t.Errorf("an Agent adding an endpoint: %d, want 403", r.Status)
	}
	if r := ic.PostForm("/developers/webhooks", form([]string{"message.received"}, numB)); r.Status != http.StatusUnprocessableEntity ||
		!strings.Contains(r.Body, "phone numbers you work in yourself") {
		t.Errorf("an endpoint for a number outside the creator's: %d", r.Status)
	}
	if r := ic.PostForm("/developers/webhooks", form([]string{"member.changed"}, numA)); r.Status != http.StatusUnprocessableEntity ||
		!strings.Contains(r.Body, "members.view") {
		t.Errorf("an endpoint for events the creator may not see: %d", r.Status)
	}
	if n := countEndpoints(t, in); n != 0 {
		t.Fatalf("refused forms stored %d endpoints", n)
	}
	adminEndpoint, _ := addEndpoint(t, in, ac, url.Values{"url": {rcv.URL + "/admin"}, "event": {"template.status"}, "format": {"standard"}, "scope_numbers": {"all"}})
	path := "/developers/webhooks/" + strconv.FormatInt(adminEndpoint, 10)
	for _, try := range []struct{ method, path string }{
		{http.MethodGet, path}, {http.MethodPost, path + "/test"}, {http.MethodPost, path + "/disable"}, {http.MethodPost, path + "/delete"},
	} {
		r := send(ic, try.method, try.path)
		if r.Status != http.StatusNotFound {
			t.Errorf("%s %s by a member of one number: %d, want 404", try.method, try.path, r.Status)
		}
	}
	if strings.Contains(ic.Get("/developers/webhooks").Body, "/admin") {
		t.Error("the list shows an endpoint of numbers outside the member's")
	}
	if n := countEndpoints(t, in); n != 1 || attempts(t, in, adminEndpoint) != 0 {
		t.Fatalf("refused requests changed something: %d endpoints", n)
	}

	addEndpoint(t, in, ic, form([]string{"message.received"}, numA))
	if _, err := in.Sim.CustomerSays(ctx, apptest.SandboxNumberB, "4915112341234", "Jonas Weber", "Hallo, number B here"); err != nil {
		t.Fatal(err)
	}
	if _, err := in.Sim.CustomerSays(ctx, apptest.SandboxNumberA, "16505551234", "Sheena Nelson", "Call me at +1 650 555 1234"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "a delivery", func() bool { return len(rcv.deliveries()) >= 1 })
	time.Sleep(300 * time.Millisecond)
	got := rcv.deliveries()
	if len(got) != 1 {
		t.Fatalf("%d deliveries, want the one message of number A", len(got))
	}
	body := string(got[0].body)
	if strings.Contains(body, "Jonas") || strings.Contains(body, "16505551234") || strings.Contains(body, "555 1234") {
		t.Errorf("the endpoint of a creator without contacts.view_pii got a number or another number's message: %s", body)
	}
	if !strings.Contains(body, "Sheena Nelson") || !strings.Contains(body, "1234") {
		t.Errorf("masked payload lost too much: %s", body)
	}
}

func countEndpoints(t *testing.T, in *apptest.Instance) int {
	var n int
	if err := in.App.DB.R.QueryRow(`SELECT count(*) FROM webhook_endpoints`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// An endpoint that has failed every delivery for five days is disabled, with an activity event
// and an alert for administrators; nothing more is sent to it until someone enables it again.
func TestAnEndpointFailingForFiveDaysIsDisabledWithAnAlert(t *testing.T) {
	in := apptest.StartWith(t, apptest.Options{Sandbox: true})
	_, c := signedIn(t, in, "dev@example.com", authz.RoleDeveloper)
	rcv := newReceiver(t, func(int) int { return http.StatusBadGateway })
	id, _ := addEndpoint(t, in, c, url.Values{"url": {rcv.URL + "/hook"}, "event": {"template.status"}, "format": {"standard"}, "scope_numbers": {"all"}})
	base := "/developers/webhooks/" + strconv.FormatInt(id, 10)
	c.PostForm(base+"/test", nil)
	waitFor(t, "the first failure", func() bool { return attempts(t, in, id) == 1 })
	if page := c.Get("/developers/webhooks").Body; !strings.Contains(page, ">failing<") {
		t.Error("the list does not show the endpoint as failing")
	}
	// Five days of failures, as the endpoint's record says.
	if _, err := in.App.DB.W.Exec(`UPDATE webhook_endpoints SET failing_since = ? WHERE id = ?`,
		in.Clock.Now().Add(-webhooks.DisableAfter).UnixMilli(), id); err != nil {
		t.Fatal(err)
	}
	in.Clock.Advance(11 * time.Second)
	waitFor(t, "the failure that disables it", func() bool { return attempts(t, in, id) == 2 })
	var disabled sql.NullInt64
	waitFor(t, "disabled", func() bool {
		in.App.DB.R.QueryRow(`SELECT disabled_at FROM webhook_endpoints WHERE id = ?`, id).Scan(&disabled)
		return disabled.Valid
	})
	var alertsRaised, events int
	in.App.DB.R.QueryRow(`SELECT count(*) FROM alerts WHERE kind = 'webhook_endpoint_disabled'`).Scan(&alertsRaised)
	in.App.DB.R.QueryRow(`SELECT count(*) FROM audit_events WHERE action = 'webhook.endpoint_disabled' AND actor_type = 'system'`).Scan(&events)
	if alertsRaised != 1 || events != 1 {
		t.Errorf("%d alerts and %d activity events for the disabled endpoint, want 1 and 1", alertsRaised, events)
	}
	page := c.Get(base).Body
	if !strings.Contains(page, ">disabled<") || !strings.Contains(page, "every delivery failed for 5 days") || strings.Contains(page, "Send test event") {
		t.Error("the endpoint page does not say it was disabled and why")
	}
	in.Clock.Advance(time.Hour)
	time.Sleep(1500 * time.Millisecond)
	if n := len(rcv.deliveries()); n != 2 {
		t.Errorf("%d requests to a disabled endpoint's receiver, want the 2 before it was disabled", n)
	}
}
