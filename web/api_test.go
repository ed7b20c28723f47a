package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/apikeys"
	"github.com/switchboard/switchboard/internal/app/apptest"
	"github.com/switchboard/switchboard/internal/authz"
	"github.com/switchboard/switchboard/internal/members"
)

// apiClient calls the JSON API with a bearer key, as an integration would.
type apiClient struct {
	t    *testing.T
	in   *apptest.Instance
	key  string
	http *http.Client
	// check, when set, validates every answer (against the OpenAPI document).
	check func(req *http.Request, resp apiResponse)
}

type apiResponse struct {
	Status int
	Header http.Header
	Body   string
}

// JSON decodes the body into a generic value.
func (r apiResponse) JSON(t *testing.T) map[string]any {
	t.Helper()
	var v map[string]any
	if err := json.Unmarshal([]byte(r.Body), &v); err != nil {
		t.Fatalf("body is not a JSON object: %v: %s", err, r.Body)
	}
	return v
}

// problemType is the type of a problem+json answer, "" for anything else.
func (r apiResponse) problemType() string {
	if r.Header.Get("Content-Type") != "application/problem+json" {
		return ""
	}
	var p struct{ Type string }
	_ = json.Unmarshal([]byte(r.Body), &p)
	return p.Type
}

func newAPIClient(t *testing.T, in *apptest.Instance, key string) *apiClient {
	return &apiClient{t: t, in: in, key: key, check: openAPIChecker(t, in), http: &http.Client{Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

func (a *apiClient) do(method, path, body string, headers ...string) apiResponse {
	a.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, a.in.URL+path, rd)
	if err != nil {
		a.t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if a.key != "" {
		req.Header.Set("Authorization", "Bearer "+a.key)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := a.http.Do(req)
	if err != nil {
		a.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	out := apiResponse{Status: resp.StatusCode, Header: resp.Header, Body: string(b)}
	if a.check != nil {
		req.Body = nil
		if body != "" {
			req.Body = io.NopCloser(strings.NewReader(body))
		}
		a.check(req, out)
	}
	return out
}

func (a *apiClient) get(path string) apiResponse { a.t.Helper(); return a.do(http.MethodGet, path, "") }

func (a *apiClient) post(path, body string, headers ...string) apiResponse {
	a.t.Helper()
	return a.do(http.MethodPost, path, body, headers...)
}

// makeKey creates a key for the member with the given scopes (all numbers unless numbers).
func makeKey(t *testing.T, in *apptest.Instance, memberID int64, scopes authz.Set, numbers ...int64) (apikeys.Key, string) {
	t.Helper()
	ctx := context.Background()
	p, _, err := in.App.Members.Store().Principal(ctx, memberID)
	if err != nil {
		t.Fatal(err)
	}
	k, secret, err := in.App.APIKeys.Create(ctx, p, apikeys.NewKey{Name: "test key " + strconv.Itoa(scopes.Len()), Scopes: scopes.IDs(),
		AllNumbers: len(numbers) == 0, NumberIDs: numbers})
	if err != nil {
		t.Fatalf("create key: %v", err)
	}
	return k, secret
}

type apiFixture struct {
	in           *apptest.Instance
	admin        int64
	agent        int64
	convA, convB int64
	numberA      int64
}

func newAPIFixture(t *testing.T) apiFixture {
	t.Helper()
	in := apptest.Start(t)
	in.ConnectSandbox()
	ctx := context.Background()
	for _, m := range []struct{ number, waID, name string }{
		{apptest.SandboxNumberA, "16505551234", "Sheena Nelson"},
		{apptest.SandboxNumberB, "4915112341234", "Jonas Weber"},
	} {
		if _, err := in.Sim.CustomerSays(ctx, m.number, m.waID, m.name, "Hello from "+m.name); err != nil {
			t.Fatal(err)
		}
	}
	admin := in.CreateMember("admin@example.com", "Ada Admin", authz.RoleAdministrator, ownerPassword)
	agent := in.CreateMember("agent@example.com", "Avi Agent", authz.RoleAgent, ownerPassword)
	return apiFixture{in: in, admin: admin.ID, agent: agent.ID, numberA: numberRef(t, in, apptest.SandboxNumberA),
		convA: conversationOf(t, in, "16505551234", apptest.SandboxNumberA), convB: conversationOf(t, in, "4915112341234", apptest.SandboxNumberB)}
}

func (f apiFixture) count(t *testing.T, q string, args ...any) int {
	t.Helper()
	var n int
	if err := f.in.App.DB.R.QueryRow(q, args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func conv(id int64) string { return "/api/v1/conversations/" + strconv.FormatInt(id, 10) }

func TestAPIKeySeesExactlyWhatItsScopesAndNumbersAllow(t *testing.T) {
	f := newAPIFixture(t)
	in := f.in
	k, secret := makeKey(t, in, f.admin, authz.NewSet(authz.ConversationsViewAll, authz.ConversationsAssign, authz.ConversationsEscalate,
		authz.MessagesSendText, authz.TemplatesView), f.numberA)
	api := newAPIClient(t, in, secret)

	list := api.get("/api/v1/conversations")
	if list.Status != http.StatusOK {
		t.Fatalf("list: %d %s", list.Status, list.Body)
	}
	var page struct {
		Data []struct {
			ID      int64
			Contact struct {
				Phone, Name string
				Masked      bool
			}
		}
		NextCursor *string `json:"next_cursor"`
	}
	json.Unmarshal([]byte(list.Body), &page)
	if len(page.Data) != 1 || page.Data[0].ID != f.convA {
		t.Fatalf("a key scoped to number A lists %+v", page.Data)
	}
	if c := page.Data[0].Contact; !c.Masked || strings.Contains(c.Phone, "16505551234") || !strings.Contains(c.Phone, "•") {
		t.Errorf("without contacts.view_pii the number is not masked: %+v", c)
	}
	if strings.Contains(list.Body, "4915112341234") || strings.Contains(list.Body, "Jonas") {
		t.Error("the list leaks the conversation on number B")
	}

	// Outside the key's numbers: 404 everywhere, nothing changes.
	for _, r := range []apiResponse{
		api.get(conv(f.convB)),
		api.get(conv(f.convB) + "/messages"),
		api.post(conv(f.convB)+"/assign", `{"member_id": null}`),
		api.post(conv(f.convB)+"/escalate", `{"reason": "look"}`),
		api.post(conv(f.convB)+"/close", `{}`),
		api.post(conv(f.convB)+"/messages/text", `{"body": "hi"}`),
	} {
		if r.Status != http.StatusNotFound || !strings.HasSuffix(r.problemType(), "#problem-not-found") {
			t.Errorf("conversation on number B: %d %s", r.Status, r.Body)
		}
	}
	if n := f.count(t, `SELECT count(*) FROM messages WHERE conversation_id = ? AND direction = 'out'`, f.convB); n != 0 {
		t.Error("a message was sent outside the key's numbers")
	}
	contacts := api.get("/api/v1/contacts")
	if contacts.Status != http.StatusOK || strings.Contains(contacts.Body, "Jonas") || !strings.Contains(contacts.Body, "•") {
		t.Errorf("contacts: %d %s", contacts.Status, contacts.Body)
	}
	var contactB int64
	in.App.DB.R.QueryRow(`SELECT contact_id FROM conversations WHERE id = ?`, f.convB).Scan(&contactB)
	if r := api.get("/api/v1/contacts/" + strconv.FormatInt(contactB, 10)); r.Status != http.StatusNotFound {
		t.Errorf("contact on number B: %d", r.Status)
	}

	// Validation names the field and changes nothing.
	r := api.post(conv(f.convA)+"/escalate", `{"reason": "  "}`)
	if r.Status != http.StatusUnprocessableEntity || !strings.Contains(r.Body, `"field":"reason"`) || !strings.HasSuffix(r.problemType(), "#problem-validation-failed") {
		t.Errorf("escalate without a reason: %d %s", r.Status, r.Body)
	}
	for _, bad := range []struct {
		body, ct string
		status   int
		want     string
	}{
		{`{"reason": 5}`, "application/json", http.StatusUnprocessableEntity, `"field":"reason"`},
		{`{"reason": "x", "extra": 1}`, "application/json", http.StatusUnprocessableEntity, `"field":"extra"`},
		{`{"reason": `, "application/json", http.StatusBadRequest, "bad-request"},
		{`reason=x`, "application/x-www-form-urlencoded", http.StatusUnsupportedMediaType, "unsupported-media-type"},
	} {
		if r := api.post(conv(f.convA)+"/escalate", bad.body, "Content-Type", bad.ct); r.Status != bad.status || !strings.Contains(r.Body, bad.want) {
			t.Errorf("escalate with %s: %d %s", bad.body, r.Status, r.Body)
		}
	}
	if n := f.count(t, `SELECT count(*) FROM conversations WHERE id = ? AND escalated = 1`, f.convA); n != 0 {
		t.Fatal("a refused request escalated the conversation")
	}

	// Writes, each in the activity log with the key as actor.
	if r := api.post(conv(f.convA)+"/escalate", `{"reason": "Customer asks for a refund"}`); r.Status != http.StatusOK || r.JSON(t)["escalated"] != true {
		t.Errorf("escalate: %d %s", r.Status, r.Body)
	}
	if r := api.post(conv(f.convA)+"/assign", `{"member_id": `+strconv.FormatInt(f.agent, 10)+`}`); r.Status != http.StatusOK || !strings.Contains(r.Body, "Avi Agent") {
		t.Errorf("assign: %d %s", r.Status, r.Body)
	}
	if r := api.post(conv(f.convA)+"/close", ""); r.Status != http.StatusOK || r.JSON(t)["status"] != "closed" {
		t.Errorf("close: %d %s", r.Status, r.Body)
	}
	if r := api.post(conv(f.convA)+"/reopen", ""); r.Status != http.StatusOK || r.JSON(t)["status"] != "open" {
		t.Errorf("reopen: %d %s", r.Status, r.Body)
	}
	for _, action := range []string{"conversation.escalated", "conversation.assigned", "conversation.closed", "conversation.reopened"} {
		if n := f.count(t, `SELECT count(*) FROM audit_events WHERE action = ? AND actor_type = 'api_key' AND actor_id = ?`, action, strconv.FormatInt(k.ID, 10)); n != 1 {
			t.Errorf("%s events with the key as actor: %d", action, n)
		}
	}
	// Reads are sampled: two list requests in a minute, one api.read event.
	api.get("/api/v1/conversations")
	if n := f.count(t, `SELECT count(*) FROM audit_events WHERE action = 'api.read' AND actor_type = 'api_key' AND target_id = 'GET /api/v1/conversations'`); n != 1 {
		t.Errorf("api.read events for two list requests: %d", n)
	}
	msgs := api.get(conv(f.convA) + "/messages")
	if msgs.Status != http.StatusOK || !strings.Contains(msgs.Body, "Hello from Sheena") {
		t.Errorf("messages: %d %s", msgs.Status, msgs.Body)
	}
}

func TestAPISendsAreIdempotent(t *testing.T) {
	f := newAPIFixture(t)
	_, secret := makeKey(t, f.in, f.admin, authz.NewSet(authz.ConversationsViewAll, authz.MessagesSendText))
	api := newAPIClient(t, f.in, secret)
	path := conv(f.convA) + "/messages/text"
	first := api.post(path, `{"body": "Your order ships today."}`, "Idempotency-Key", "order-42-shipped")
	if first.Status != http.StatusCreated {
		t.Fatalf("send: %d %s", first.Status, first.Body)
	}
	again := api.post(path, `{"body": "Your order ships today."}`, "Idempotency-Key", "order-42-shipped")
	if again.Status != http.StatusCreated || again.Body != first.Body || again.Header.Get("Idempotent-Replayed") != "true" {
		t.Errorf("retry: %d %q replayed=%q", again.Status, again.Body, again.Header.Get("Idempotent-Replayed"))
	}
	if n := f.count(t, `SELECT count(*) FROM messages WHERE conversation_id = ? AND direction = 'out'`, f.convA); n != 1 {
		t.Errorf("%d messages sent for one Idempotency-Key, want 1", n)
	}
	other := api.post(path, `{"body": "Something else."}`, "Idempotency-Key", "order-42-shipped")
	if other.Status != http.StatusUnprocessableEntity || !strings.HasSuffix(other.problemType(), "#problem-idempotency-key-reused") {
		t.Errorf("the same key for another request: %d %s", other.Status, other.Body)
	}
	// After 24 hours the key is forgotten: the same request sends again.
	f.in.Clock.Advance(24*time.Hour + time.Minute)
	f.in.Sim.CustomerSays(context.Background(), apptest.SandboxNumberA, "16505551234", "Sheena Nelson", "Still there?")
	if r := api.post(path, `{"body": "Your order ships today."}`, "Idempotency-Key", "order-42-shipped"); r.Status != http.StatusCreated || r.Header.Get("Idempotent-Replayed") != "" {
		t.Errorf("after 24 hours: %d replayed=%q", r.Status, r.Header.Get("Idempotent-Replayed"))
	}
	if n := f.count(t, `SELECT count(*) FROM messages WHERE conversation_id = ? AND direction = 'out'`, f.convA); n != 2 {
		t.Errorf("%d messages after the key expired, want 2", n)
	}
}

func TestAPIIsForKeysOnly(t *testing.T) {
	f := newAPIFixture(t)
	in := f.in
	// A signed-in session does not authenticate the API, even with its CSRF token.
	c := in.Client()
	c.SignIn("admin@example.com", ownerPassword)
	if r := c.Get("/api/v1/conversations"); r.Status != http.StatusUnauthorized || r.Header.Get("Content-Type") != "application/problem+json" {
		t.Errorf("GET with a session cookie: %d %s", r.Status, r.Header.Get("Content-Type"))
	}
	req, _ := http.NewRequest(http.MethodPost, c.URL(conv(f.convA)+"/close"), bytes.NewReader([]byte(`{}`)))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-CSRF-Token", c.CSRFToken())
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	if r := c.Do(req); r.Status != http.StatusUnauthorized {
		t.Errorf("POST with a session cookie: %d", r.Status)
	}
	if n := f.count(t, `SELECT count(*) FROM conversations WHERE id = ? AND status = 'closed'`, f.convA); n != 0 {
		t.Fatal("a session cookie closed a conversation through the API")
	}
	for _, auth := range []string{"", "Bearer sb_live_" + strings.Repeat("A", 43), "Basic YWRtaW46cGFzcw==", "Bearer "} {
		api := newAPIClient(t, in, "")
		var r apiResponse
		if auth == "" {
			r = api.get("/api/v1/conversations")
		} else {
			r = api.do(http.MethodGet, "/api/v1/conversations", "", "Authorization", auth)
		}
		if r.Status != http.StatusUnauthorized || !strings.HasSuffix(r.problemType(), "#problem-unauthorized") || r.Header.Get("WWW-Authenticate") == "" {
			t.Errorf("Authorization %q: %d %s", auth, r.Status, r.Body)
		}
	}
	// A key needs no CSRF token: a bearer POST without one works.
	_, secret := makeKey(t, in, f.admin, authz.NewSet(authz.ConversationsViewAll, authz.ConversationsAssign))
	if r := newAPIClient(t, in, secret).post(conv(f.convA)+"/close", ""); r.Status != http.StatusOK {
		t.Errorf("bearer POST without a CSRF token: %d %s", r.Status, r.Body)
	}
}

func TestAPIRateLimitPerKey(t *testing.T) {
	f := newAPIFixture(t)
	_, secret := makeKey(t, f.in, f.admin, authz.NewSet(authz.TemplatesView))
	_, other := makeKey(t, f.in, f.admin, authz.NewSet(authz.TemplatesView))
	api := newAPIClient(t, f.in, secret)
	var last apiResponse
	for i := 0; i < 100; i++ {
		if last = api.get("/api/v1/templates"); last.Status != http.StatusOK {
			t.Fatalf("request %d of the burst: %d", i+1, last.Status)
		}
	}
	if last.Header.Get("RateLimit-Limit") != "100" || last.Header.Get("RateLimit-Remaining") != "0" {
		t.Errorf("headers after the burst: limit %q remaining %q", last.Header.Get("RateLimit-Limit"), last.Header.Get("RateLimit-Remaining"))
	}
	r := api.get("/api/v1/templates")
	if r.Status != http.StatusTooManyRequests || r.Header.Get("Retry-After") != "1" || !strings.HasSuffix(r.problemType(), "#problem-rate-limited") {
		t.Errorf("101st request: %d Retry-After %q %s", r.Status, r.Header.Get("Retry-After"), r.Body)
	}
	if r := newAPIClient(t, f.in, other).get("/api/v1/templates"); r.Status != http.StatusOK {
		t.Errorf("another key is limited by the first: %d", r.Status)
	}
	f.in.Clock.Advance(time.Second)
	if r := api.get("/api/v1/templates"); r.Status != http.StatusOK {
		t.Errorf("after Retry-After: %d", r.Status)
	}
}

// Every API route refuses a key whose scopes lack the route's permission, even when the key
// holds everything else, with 403 and a problem of type missing-scope.
func TestEveryAPIRouteRefusesAKeyWithoutItsScope(t *testing.T) {
	f := newAPIFixture(t)
	for _, r := range f.in.App.Server.Routes() {
		if !strings.HasPrefix(r.Path, "/api/") || r.Access.IsPublic() {
			continue
		}
		scopes := authz.FullSet()
		for _, p := range r.Access.Permissions() {
			scopes = scopes.Without(p)
		}
		_, secret := makeKey(t, f.in, f.admin, scopes)
		api := newAPIClient(t, f.in, secret)
		path := strings.ReplaceAll(r.Path, ":id", strconv.FormatInt(f.convA, 10))
		resp := api.do(r.Method, path, map[bool]string{true: "{}", false: ""}[r.Method == http.MethodPost])
		if resp.Status != http.StatusForbidden || !strings.HasSuffix(resp.problemType(), "#problem-missing-scope") {
			t.Errorf("%s %s with a key lacking %s: %d %s", r.Method, path, r.Access, resp.Status, resp.Body)
		}
	}
	if n := f.count(t, `SELECT count(*) FROM conversations WHERE id = ? AND (status = 'closed' OR escalated = 1 OR assignee_id IS NOT NULL)`, f.convA); n != 0 {
		t.Error("a refused request changed the conversation")
	}
}

func TestAKeyLosesWhatItsCreatorLoses(t *testing.T) {
	f := newAPIFixture(t)
	ctx := context.Background()
	adminP, _, _ := f.in.App.Members.Store().Principal(ctx, f.admin)
	role, err := f.in.App.Members.CreateRole(ctx, adminP, membersRoleInput("Integrator"), authz.NewSet(authz.APIKeysManage, authz.ConversationsViewAll, authz.TemplatesView))
	if err != nil {
		t.Fatal(err)
	}
	full, _ := f.in.App.Members.Store().RoleByID(ctx, role.ID)
	m := f.in.CreateMember("int@example.com", "Ines Integrator", full.Key, ownerPassword)
	_, secret := makeKey(t, f.in, m.ID, authz.NewSet(authz.ConversationsViewAll, authz.TemplatesView))
	api := newAPIClient(t, f.in, secret)
	if r := api.get("/api/v1/conversations"); r.Status != http.StatusOK {
		t.Fatalf("before: %d", r.Status)
	}
	if _, err := f.in.App.Members.SetRolePermission(ctx, adminP, role.ID, authz.ConversationsViewAll, false); err != nil {
		t.Fatal(err)
	}
	if r := api.get("/api/v1/conversations"); r.Status != http.StatusForbidden {
		t.Errorf("after the creator's role lost conversations.view_all: %d", r.Status)
	}
	if r := api.get("/api/v1/templates"); r.Status != http.StatusOK {
		t.Errorf("a scope the creator still holds: %d", r.Status)
	}
	if err := f.in.App.Members.Deactivate(ctx, adminP, m.ID); err != nil {
		t.Fatal(err)
	}
	if r := api.get("/api/v1/templates"); r.Status != http.StatusUnauthorized {
		t.Errorf("after the creator was deactivated: %d", r.Status)
	}
	page := f.in.Client()
	page.SignIn("admin@example.com", ownerPassword)
	if r := page.Get("/developers"); !strings.Contains(r.Body, ">stopped<") || !strings.Contains(r.Body, "Ines Integrator was deactivated") {
		t.Error("the Developers page does not show that the key stopped with its creator")
	}
}

func TestAPIMembersKeepTheNoEscalationRules(t *testing.T) {
	f := newAPIFixture(t)
	in := f.in
	_, secret := makeKey(t, in, f.admin, authz.NewSet(authz.MembersView, authz.MembersInvite, authz.MembersManage))
	api := newAPIClient(t, in, secret)
	list := api.get("/api/v1/members")
	if list.Status != http.StatusOK || !strings.Contains(list.Body, "agent@example.com") {
		t.Fatalf("members: %d %s", list.Status, list.Body)
	}
	adminRole := roleID(t, in, authz.RoleAdministrator)
	agentPath := "/api/v1/members/" + strconv.FormatInt(f.agent, 10)
	// The key holds three permissions: it cannot hand out the Administrator role.
	if r := api.post(agentPath+"/role", `{"role_id": `+strconv.FormatInt(adminRole, 10)+`}`); r.Status != http.StatusForbidden || !strings.HasSuffix(r.problemType(), "#problem-forbidden") {
		t.Errorf("raise to Administrator: %d %s", r.Status, r.Body)
	}
	if r := api.post("/api/v1/invitations", `{"email": "new@example.com", "role_id": `+strconv.FormatInt(adminRole, 10)+`, "numbers": {"all": true, "number_ids": []}}`); r.Status != http.StatusForbidden {
		t.Errorf("invite an Administrator: %d %s", r.Status, r.Body)
	}
	if got, _ := in.App.Members.Store().ByID(context.Background(), f.agent); got.RoleKey != authz.RoleAgent {
		t.Fatal("the agent's role changed")
	}
	// Nor change a member who holds permissions the key lacks.
	if r := api.post("/api/v1/members/"+strconv.FormatInt(f.admin, 10)+"/deactivate", ""); r.Status != http.StatusForbidden && r.Status != http.StatusConflict {
		t.Errorf("deactivate the administrator: %d %s", r.Status, r.Body)
	}
	// An admin's key with every permission provisions.
	fullKey, full := makeKey(t, in, f.admin, authz.FullSet())
	admin := newAPIClient(t, in, full)
	inv := admin.post("/api/v1/invitations", `{"email": "new@example.com", "role_id": `+strconv.FormatInt(roleID(t, in, authz.RoleAgent), 10)+`, "numbers": {"all": false, "number_ids": [`+strconv.FormatInt(f.numberA, 10)+`]}}`)
	if inv.Status != http.StatusCreated || !strings.Contains(inv.Body, "/invitations/") {
		t.Errorf("invite: %d %s", inv.Status, inv.Body)
	}
	if r := admin.post(agentPath+"/numbers", `{"all": false, "number_ids": [`+strconv.FormatInt(f.numberA, 10)+`]}`); r.Status != http.StatusOK || !strings.Contains(r.Body, `"number_ids":[`+strconv.FormatInt(f.numberA, 10)+`]`) {
		t.Errorf("set numbers: %d %s", r.Status, r.Body)
	}
	if r := admin.post(agentPath+"/role", `{"role_id": `+strconv.FormatInt(roleID(t, in, authz.RoleSupport), 10)+`}`); r.Status != http.StatusOK {
		t.Errorf("change role: %d %s", r.Status, r.Body)
	}
	if r := admin.post(agentPath+"/deactivate", ""); r.Status != http.StatusOK || r.JSON(t)["status"] != "deactivated" {
		t.Errorf("deactivate: %d %s", r.Status, r.Body)
	}
	if n := f.count(t, `SELECT count(*) FROM audit_events WHERE actor_type = 'api_key' AND action LIKE 'member.%' AND outcome = 'success'`); n < 3 {
		t.Errorf("member changes with a key as actor: %d", n)
	}

	// The activity log, filtered by the first key and paged with the cursor.
	_, auditor := makeKey(t, in, f.admin, authz.NewSet(authz.AuditView))
	act := newAPIClient(t, in, auditor)
	first := act.get("/api/v1/activity?limit=1&actor=api_key:" + strconv.FormatInt(fullKey.ID, 10))
	var pg struct {
		Data []struct {
			ID    int64
			Actor struct{ Type, ID string }
		}
		NextCursor *string `json:"next_cursor"`
	}
	json.Unmarshal([]byte(first.Body), &pg)
	if first.Status != http.StatusOK || len(pg.Data) != 1 || pg.Data[0].Actor.Type != "api_key" || pg.NextCursor == nil {
		t.Fatalf("activity: %d %s", first.Status, first.Body)
	}
	second := act.get("/api/v1/activity?limit=1&actor=api_key:" + strconv.FormatInt(fullKey.ID, 10) + "&cursor=" + *pg.NextCursor)
	if second.Status != http.StatusOK || strings.Contains(second.Body, `"id":`+strconv.FormatInt(pg.Data[0].ID, 10)+`,`) {
		t.Errorf("second page: %d %s", second.Status, second.Body)
	}
	if r := act.get("/api/v1/activity?outcome=maybe"); r.Status != http.StatusUnprocessableEntity || !strings.Contains(r.Body, `"field":"outcome"`) {
		t.Errorf("bad filter: %d %s", r.Status, r.Body)
	}
}

func membersRoleInput(name string) members.RoleInput { return members.RoleInput{Name: name} }

func TestAPISendsAnApprovedTemplate(t *testing.T) {
	f := newAPIFixture(t)
	f.in.ApprovedSandboxTemplate("order_shipped", "Hello {{1}}, your order {{2}} has shipped.", "Maria", "4711")
	_, secret := makeKey(t, f.in, f.admin, authz.NewSet(authz.ConversationsViewAll, authz.TemplatesView, authz.MessagesSendTemplate))
	api := newAPIClient(t, f.in, secret)
	var list struct {
		Data []struct {
			ID   int64
			Name string
		}
	}
	json.Unmarshal([]byte(api.get("/api/v1/templates").Body), &list)
	if len(list.Data) != 1 || list.Data[0].Name != "order_shipped" {
		t.Fatalf("templates: %+v", list.Data)
	}
	id := strconv.FormatInt(list.Data[0].ID, 10)
	if r := api.get("/api/v1/templates/" + id); r.Status != http.StatusOK || !strings.Contains(r.Body, "has shipped") {
		t.Errorf("template: %d %s", r.Status, r.Body)
	}
	path := conv(f.convA) + "/messages/template"
	if r := api.post(path, `{"template_id": `+id+`, "body": {"1": "Sheena"}}`); r.Status != http.StatusUnprocessableEntity || !strings.Contains(r.Body, `"field"`) {
		t.Errorf("a missing value: %d %s", r.Status, r.Body)
	}
	if r := api.post(path, `{"template_id": 999, "body": {"1": "Sheena", "2": "4711"}}`); r.Status != http.StatusUnprocessableEntity || !strings.Contains(r.Body, `"field":"template_id"`) {
		t.Errorf("an unknown template: %d %s", r.Status, r.Body)
	}
	r := api.post(path, `{"template_id": `+id+`, "body": {"1": "Sheena", "2": "4711"}}`)
	if r.Status != http.StatusCreated || !strings.Contains(r.Body, "Hello Sheena, your order 4711 has shipped.") {
		t.Errorf("send: %d %s", r.Status, r.Body)
	}
	if n := f.count(t, `SELECT count(*) FROM audit_events WHERE action = 'message.sent' AND actor_type = 'api_key'`); n != 1 {
		t.Errorf("message.sent events by the key: %d", n)
	}
}
