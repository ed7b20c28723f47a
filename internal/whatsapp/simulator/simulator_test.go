package simulator

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/clock"
	"github.com/switchboard/switchboard/internal/whatsapp"
)

const (
	token     = "EAAsandbox"
	appSecret = "sandbox-app-secret"
	wabaID    = "102290129340398"
	phoneID   = "106540352242922"
	customer  = "16505551234"
)

var creds = whatsapp.Credentials{Token: token, AppSecret: appSecret}

// receiver is Switchboard's side of the webhook, reduced to what the wire layer does: verify
// the signature on the raw body, parse, flatten. It can refuse the first few deliveries.
type receiver struct {
	t         *testing.T
	mu        sync.Mutex
	failFirst int
	attempts  int
	bodies    []string
	events    chan whatsapp.Event
}

func newReceiver(t *testing.T) (*receiver, string) {
	rc := &receiver{t: t, events: make(chan whatsapp.Event, 100)}
	srv := httptest.NewServer(rc)
	t.Cleanup(srv.Close)
	return rc, srv.URL + "/webhooks/whatsapp"
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	rc.mu.Lock()
	rc.attempts++
	n := rc.attempts
	rc.bodies = append(rc.bodies, string(body))
	fail := n <= rc.failFirst
	rc.mu.Unlock()
	if err := whatsapp.VerifySignature([]byte(appSecret), body, r.Header.Get(whatsapp.SignatureHeader)); err != nil {
		rc.t.Errorf("webhook signature: %v", err)
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	if fail {
		w.WriteHeader(http.StatusInternalServerError)
		return
	}
	wh, err := whatsapp.ParseWebhook(body)
	if err != nil {
		rc.t.Errorf("ParseWebhook: %v", err)
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	for _, ev := range wh.Events() {
		rc.events <- ev
	}
	w.WriteHeader(http.StatusOK)
}

func (rc *receiver) next(t *testing.T) whatsapp.Event {
	t.Helper()
	select {
	case ev := <-rc.events:
		return ev
	case <-time.After(5 * time.Second):
		t.Fatal("no webhook arrived")
		return nil
	}
}

type fixture struct {
	sim    *Simulator
	client *whatsapp.Client
	clock  *clock.Fake
	rc     *receiver
	url    string
}

func numbers(n int) []whatsapp.PhoneNumber {
	out := []whatsapp.PhoneNumber{{ID: phoneID, DisplayPhoneNumber: "+1 555-078-3881", VerifiedName: "Lucky Shrub"}}
	for i := 1; i < n; i++ {
		out = append(out, whatsapp.PhoneNumber{ID: strconv.Itoa(200000000000000 + i), DisplayPhoneNumber: fmt.Sprintf("+1 555-010-%04d", i), VerifiedName: "Lucky Shrub", QualityRating: "YELLOW", MessagingLimit: "TIER_2K"})
	}
	return out
}

func newFixture(t *testing.T, tweak func(*Options)) *fixture {
	t.Helper()
	rc, hook := newReceiver(t)
	clk := clock.NewFake(time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC))
	opts := Options{
		Clock: clk, AccessToken: token, AppSecret: appSecret, WebhookURL: hook, WebhookBackoff: time.Millisecond,
		WABAs: []WABA{{ID: wabaID, Name: "Lucky Shrub", PhoneNumbers: numbers(1), Templates: []whatsapp.Template{
			{ID: "1000000000000001", Name: "hello_world", Language: "en_US", Category: whatsapp.CategoryUtility,
				Components: []whatsapp.TemplateComponent{{Type: "BODY", Text: "Hello World"}}},
		}}},
	}
	if tweak != nil {
		tweak(&opts)
	}
	sim := New(opts)
	srv := httptest.NewServer(sim.Handler())
	t.Cleanup(srv.Close)
	return &fixture{sim: sim, client: whatsapp.NewClient(srv.URL, srv.Client()), clock: clk, rc: rc, url: srv.URL}
}

func apiErr(t *testing.T, err error) *whatsapp.APIError {
	t.Helper()
	e, ok := whatsapp.AsAPIError(err)
	if !ok {
		t.Fatalf("err = %v, want *APIError", err)
	}
	return e
}

func TestCustomerWritesAgentReplies(t *testing.T) {
	f := newFixture(t, nil)
	ctx := context.Background()
	id, err := f.sim.CustomerSays(ctx, phoneID, customer, "Sheena Nelson", "Hi, where is my order?")
	if err != nil {
		t.Fatal(err)
	}
	in, ok := f.rc.next(t).(whatsapp.InboundMessage)
	if !ok {
		t.Fatal("want an InboundMessage")
	}
	if in.MessageID != id || in.From != customer || in.ContactName != "Sheena Nelson" || in.Text != "Hi, where is my order?" ||
		in.WABAID != wabaID || in.PhoneNumberID != phoneID || in.DisplayPhone != "15550783881" || !in.Timestamp.Equal(f.clock.Now()) {
		t.Fatalf("%+v", in)
	}
	if !strings.HasPrefix(id, "wamid.") {
		t.Fatalf("id %q", id)
	}

	res, err := f.client.SendText(ctx, creds, phoneID, "+"+customer, "It ships today.", id)
	if err != nil {
		t.Fatal(err)
	}
	if res.WaID != customer || !strings.HasPrefix(res.MessageID, "wamid.") {
		t.Fatalf("%+v", res)
	}
	if err := f.client.MarkRead(ctx, creds, phoneID, id); err != nil {
		t.Fatal(err)
	}
	sent := f.sim.Sent()
	if len(sent) != 2 {
		t.Fatalf("%d sent", len(sent))
	}
	if s := sent[0]; s.ID != res.MessageID || s.To != customer || s.Type != "text" || s.Text != "It ships today." ||
		s.Message.Context.MessageID != id || s.Status != "accepted" || s.Err != nil {
		t.Fatalf("%+v", s)
	}
	if s := sent[1]; s.Type != "read" || s.Text != id || s.Err != nil {
		t.Fatalf("%+v", s)
	}
	// Other message kinds inside the window.
	if _, err := f.client.SendMedia(ctx, creds, phoneID, customer, whatsapp.MediaMessage{Type: whatsapp.TypeDocument, Link: "https://example.com/i.pdf", Filename: "i.pdf"}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.client.SendInteractive(ctx, creds, phoneID, customer, whatsapp.InteractiveMessage{Body: "Ship?", Buttons: []whatsapp.ReplyButton{{ID: "y", Title: "Yes"}}}); err != nil {
		t.Fatal(err)
	}
	// Meta's own limits hold even for a body the client did not build (Send skips validation).
	msg := whatsapp.OutgoingMessage{Type: whatsapp.TypeInteractive, Interactive: &whatsapp.Interactive{Type: "button",
		Body: &whatsapp.InteractiveText{Text: "b"}, Action: whatsapp.InteractiveAction{Buttons: []whatsapp.InteractiveButton{
			{Type: "reply", Reply: whatsapp.ReplyButton{ID: "1", Title: "a"}}, {Type: "reply", Reply: whatsapp.ReplyButton{ID: "2", Title: "b"}},
			{Type: "reply", Reply: whatsapp.ReplyButton{ID: "3", Title: "c"}}, {Type: "reply", Reply: whatsapp.ReplyButton{ID: "4", Title: "d"}}}}}}
	_ = msg.SetRecipient(customer)
	_, err = f.client.Send(ctx, creds, phoneID, msg)
	if e := apiErr(t, err); e.Code != whatsapp.CodeParamInvalid {
		t.Fatalf("%+v", e)
	}
}

func TestTwentyFourHourWindow(t *testing.T) {
	f := newFixture(t, func(o *Options) { o.WebhookURL = "" })
	ctx := context.Background()
	text := func() error { _, err := f.client.SendText(ctx, creds, phoneID, "+"+customer, "hello", ""); return err }
	hello := func() error {
		_, err := f.client.SendTemplate(ctx, creds, phoneID, "+"+customer, whatsapp.TemplateMessage{Name: "hello_world", Language: "en_US"})
		return err
	}

	// Never wrote: only templates.
	e := apiErr(t, text())
	if !e.IsOutsideWindow() || e.HTTPStatus != 400 || e.Type != "OAuthException" || e.Message != "(#131047) Re-engagement message" ||
		!strings.Contains(e.Details, "more than 24 hours have passed") || e.FBTraceID == "" {
		t.Fatalf("%+v", e)
	}
	for _, send := range []func() error{
		func() error {
			_, err := f.client.SendMedia(ctx, creds, phoneID, customer, whatsapp.MediaMessage{Type: whatsapp.TypeImage, Link: "https://x.example/a.png"})
			return err
		},
		func() error {
			_, err := f.client.SendInteractive(ctx, creds, phoneID, customer, whatsapp.InteractiveMessage{Body: "b", Buttons: []whatsapp.ReplyButton{{ID: "a", Title: "A"}}})
			return err
		},
	} {
		if e := apiErr(t, send()); !e.IsOutsideWindow() {
			t.Fatalf("%+v", e)
		}
	}
	if err := hello(); err != nil {
		t.Fatalf("template outside the window: %v", err)
	}

	if _, err := f.sim.CustomerSays(ctx, phoneID, customer, "Sheena", "hi"); err != nil {
		t.Fatal(err)
	}
	if err := text(); err != nil {
		t.Fatalf("inside the window: %v", err)
	}
	f.clock.Advance(24*time.Hour - time.Second)
	if err := text(); err != nil {
		t.Fatalf("at 23:59:59: %v", err)
	}
	f.clock.Advance(time.Second)
	if e := apiErr(t, text()); !e.IsOutsideWindow() {
		t.Fatalf("at 24:00:00: %+v", e)
	}
	// The window is per business number and customer.
	if _, err := f.sim.CustomerSays(ctx, phoneID, "4915112345678", "Jonas", "hallo"); err != nil {
		t.Fatal(err)
	}
	if e := apiErr(t, text()); !e.IsOutsideWindow() {
		t.Fatal("another customer's message opened this customer's window")
	}
	// A new message restarts it.
	if _, err := f.sim.CustomerSays(ctx, phoneID, customer, "Sheena", "again"); err != nil {
		t.Fatal(err)
	}
	if err := text(); err != nil || !f.sim.WindowOpen(phoneID, customer) {
		t.Fatalf("after a new message: %v", err)
	}
	// Refused attempts are recorded with their error.
	var refused int
	for _, s := range f.sim.Sent() {
		if s.Err != nil {
			refused++
			if s.ID != "" || s.Err.Code != whatsapp.CodeOutsideWindow {
				t.Fatalf("%+v", s)
			}
		}
	}
	if refused != 5 {
		t.Fatalf("%d refused", refused)
	}
}

func TestAuthAndUnknownIDs(t *testing.T) {
	f := newFixture(t, nil)
	ctx := context.Background()
	tests := []struct {
		name  string
		call  func() error
		check func(e *whatsapp.APIError) bool
	}{
		{"wrong token", func() error {
			_, err := f.client.ListPhoneNumbers(ctx, whatsapp.Credentials{Token: "nope"}, wabaID)
			return err
		}, func(e *whatsapp.APIError) bool {
			return e.Code == 190 && e.HTTPStatus == 401 && e.IsAuth() && !e.IsTokenExpired()
		}},
		{"token checked before the id", func() error {
			_, err := f.client.SendText(ctx, whatsapp.Credentials{Token: "nope"}, "999", customer, "x", "")
			return err
		}, func(e *whatsapp.APIError) bool { return e.Code == 190 }},
		{"unknown phone number", func() error {
			_, err := f.client.SendText(ctx, creds, "999", customer, "x", "")
			return err
		}, func(e *whatsapp.APIError) bool {
			return e.Code == 100 && e.Subcode == 33 && e.Type == "GraphMethodException" && strings.Contains(e.Message, "Object with ID '999' does not exist")
		}},
		{"unknown WABA", func() error {
			_, err := f.client.ListPhoneNumbers(ctx, creds, "999")
			return err
		}, func(e *whatsapp.APIError) bool { return e.Code == 100 && e.HTTPStatus == 400 }},
		{"unknown template WABA", func() error {
			_, err := f.client.ListTemplates(ctx, creds, "999", whatsapp.TemplateFilter{})
			return err
		}, func(e *whatsapp.APIError) bool { return e.Code == 100 }},
		{"messages edge on a WABA", func() error {
			_, err := f.client.SendText(ctx, creds, wabaID, customer, "x", "")
			return err
		}, func(e *whatsapp.APIError) bool {
			return e.Code == 100 && strings.Contains(e.Message, "nonexisting field (messages)")
		}},
		{"wrong appsecret_proof", func() error {
			_, err := f.client.ListPhoneNumbers(ctx, whatsapp.Credentials{Token: token, AppSecret: "other"}, wabaID)
			return err
		}, func(e *whatsapp.APIError) bool {
			return e.Code == 100 && strings.Contains(e.Message, "appsecret_proof")
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if e := apiErr(t, tt.call()); !tt.check(e) {
				t.Fatalf("%+v", e)
			}
		})
	}

	t.Run("missing token", func(t *testing.T) {
		resp, err := http.Get(f.url + "/v23.0/" + wabaID + "/phone_numbers")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var env whatsapp.ErrorEnvelope
		if err := json.NewDecoder(resp.Body).Decode(&env); err != nil || resp.StatusCode != 401 || env.Error.Code != 190 || env.Error.Type != "OAuthException" {
			t.Fatalf("%d %+v %v", resp.StatusCode, env, err)
		}
	})
	t.Run("any version", func(t *testing.T) {
		c := whatsapp.NewClient(f.url, nil, whatsapp.WithVersion("v24.0"))
		if _, err := c.ListPhoneNumbers(ctx, creds, wabaID); err != nil {
			t.Fatal(err)
		}
		resp, _ := http.Get(f.url + "/latest/" + wabaID + "/phone_numbers")
		resp.Body.Close()
		if resp.StatusCode != 400 {
			t.Fatalf("path without a version: %d", resp.StatusCode)
		}
	})
	t.Run("expired token", func(t *testing.T) {
		f.sim.ExpireToken()
		_, err := f.client.ListPhoneNumbers(ctx, creds, wabaID)
		if e := apiErr(t, err); !e.IsTokenExpired() || e.HTTPStatus != 401 {
			t.Fatalf("%+v", e)
		}
	})
}

func TestRequireAppSecretProof(t *testing.T) {
	f := newFixture(t, func(o *Options) { o.RequireAppSecretProof = true })
	ctx := context.Background()
	if _, err := f.client.ListPhoneNumbers(ctx, whatsapp.Credentials{Token: token}, wabaID); apiErr(t, err).Code != 100 {
		t.Fatal("call without proof accepted")
	}
	if _, err := f.client.ListPhoneNumbers(ctx, creds, wabaID); err != nil {
		t.Fatal(err)
	}
}

func TestTemplateLifecycle(t *testing.T) {
	f := newFixture(t, nil)
	ctx := context.Background()
	def := whatsapp.TemplateDefinition{Name: "order_confirmation", Language: "en_US", Category: whatsapp.CategoryUtility,
		Components: []whatsapp.TemplateComponent{
			{Type: "HEADER", Format: "TEXT", Text: "Order {{1}}", Example: &whatsapp.TemplateExample{HeaderText: []string{"#123"}}},
			{Type: "BODY", Text: "Hi {{1}}, order {{2}} shipped.", Example: &whatsapp.TemplateExample{BodyText: [][]string{{"Pablo", "860198"}}}},
			{Type: "FOOTER", Text: "Lucky Shrub"},
			{Type: "BUTTONS", Buttons: []whatsapp.TemplateButton{{Type: "QUICK_REPLY", Text: "Stop"}, {Type: "URL", Text: "Track", URL: "https://x.com/t/{{1}}", Example: whatsapp.StringList{"abc"}}}},
		}}
	created, err := f.client.CreateTemplate(ctx, creds, wabaID, def)
	if err != nil {
		t.Fatal(err)
	}
	if created.Status != whatsapp.TemplatePending || created.Category != whatsapp.CategoryUtility || created.ID == "" {
		t.Fatalf("%+v", created)
	}
	_, err = f.client.CreateTemplate(ctx, creds, wabaID, def)
	if e := apiErr(t, err); e.Code != 100 || e.Subcode != 2388024 {
		t.Fatalf("duplicate: %+v", e)
	}
	for _, bad := range []string{"Hi {{2}} and {{1}} here", "{{1}} starts here", "ends with {{1}}"} {
		d := def
		d.Name = "bad_one"
		d.Components = []whatsapp.TemplateComponent{{Type: "BODY", Text: bad}}
		if _, err := f.client.CreateTemplate(ctx, creds, wabaID, d); apiErr(t, err).Code != 100 {
			t.Fatalf("%q accepted", bad)
		}
	}

	good := whatsapp.TemplateMessage{Name: "order_confirmation", Language: "en_US", Components: []whatsapp.MessageComponent{
		whatsapp.HeaderComponent(whatsapp.TextParam("#123")),
		whatsapp.BodyComponent(whatsapp.TextParam("Jessica"), whatsapp.TextParam("860198")),
		whatsapp.ButtonComponent("url", 1, whatsapp.TextParam("abc")),
	}}
	send := func(m whatsapp.TemplateMessage) error {
		_, err := f.client.SendTemplate(ctx, creds, phoneID, customer, m)
		return err
	}
	if e := apiErr(t, send(good)); e.Code != whatsapp.CodeTemplateMissing || e.Details != "template name (order_confirmation) does not exist in en_US" {
		t.Fatalf("pending template sent: %+v", e)
	}

	// Meta approves: the webhook carries the integer id that matches the created one.
	if err := f.sim.SetTemplateStatus(ctx, created.ID, "APPROVED", ""); err != nil {
		t.Fatal(err)
	}
	ts := f.rc.next(t).(whatsapp.TemplateStatus)
	if ts.TemplateID != created.ID || ts.Event != "APPROVED" || ts.Name != "order_confirmation" || ts.Language != "en_US" || ts.WABAID != wabaID || ts.Reason != "NONE" {
		t.Fatalf("%+v", ts)
	}
	if !strings.Contains(string(ts.Raw), `"message_template_id":`+created.ID) {
		t.Fatalf("template id not an integer on the wire: %s", ts.Raw)
	}

	if err := send(good); err != nil {
		t.Fatalf("approved template, outside the window: %v", err)
	}
	wrongLang := good
	wrongLang.Language = "es"
	if e := apiErr(t, send(wrongLang)); e.Code != whatsapp.CodeTemplateMissing {
		t.Fatalf("%+v", e)
	}
	tooFew := good
	tooFew.Components = []whatsapp.MessageComponent{good.Components[0], whatsapp.BodyComponent(whatsapp.TextParam("Jessica")), good.Components[2]}
	if e := apiErr(t, send(tooFew)); e.Code != whatsapp.CodeTemplateParams || !strings.Contains(e.Details, "body: number of localizable_params (1) does not match the expected number of params (2)") {
		t.Fatalf("%+v", e)
	}
	noURLParam := good
	noURLParam.Components = good.Components[:2]
	if e := apiErr(t, send(noURLParam)); e.Code != whatsapp.CodeTemplateParams {
		t.Fatalf("%+v", e)
	}
	imageHeader := good
	imageHeader.Components = append([]whatsapp.MessageComponent{whatsapp.HeaderComponent(whatsapp.Parameter{Type: "image", Image: &whatsapp.MediaObject{Link: "https://x/a.png"}})}, good.Components[1:]...)
	if e := apiErr(t, send(imageHeader)); e.Code != whatsapp.CodeTemplateFormat {
		t.Fatalf("image for a text header: %+v", e)
	}

	// Listing with filters and paging.
	list, err := f.client.ListTemplates(ctx, creds, wabaID, whatsapp.TemplateFilter{Status: whatsapp.TemplateApproved})
	if err != nil || len(list) != 2 {
		t.Fatalf("%d %v", len(list), err)
	}
	list, _ = f.client.ListTemplates(ctx, creds, wabaID, whatsapp.TemplateFilter{Name: "order_confirmation", Language: "en_US", Category: whatsapp.CategoryUtility})
	if len(list) != 1 || list[0].ID != created.ID || list[0].Components[1].Text != "Hi {{1}}, order {{2}} shipped." || list[0].ParameterFormat != "POSITIONAL" {
		t.Fatalf("%+v", list)
	}
	if list, _ := f.client.ListTemplates(ctx, creds, wabaID, whatsapp.TemplateFilter{Category: whatsapp.CategoryMarketing}); len(list) != 0 {
		t.Fatalf("%+v", list)
	}

	// Edit: approved → PENDING, once per 24 hours.
	edit := whatsapp.TemplateEdit{Components: []whatsapp.TemplateComponent{{Type: "BODY", Text: "Hello {{1}}, your order {{2}} is on its way."}}}
	if err := f.client.EditTemplate(ctx, creds, created.ID, edit); err != nil {
		t.Fatal(err)
	}
	if tpl, _ := f.sim.Template(created.ID); tpl.Status != whatsapp.TemplatePending || len(tpl.Components) != 1 {
		t.Fatalf("%+v", tpl)
	}
	if err := f.client.EditTemplate(ctx, creds, created.ID, edit); apiErr(t, err).Code != 100 {
		t.Fatal("pending template edited")
	}
	_ = f.sim.SetTemplateStatus(ctx, created.ID, "APPROVED", "")
	f.rc.next(t)
	if err := f.client.EditTemplate(ctx, creds, created.ID, edit); apiErr(t, err).UserTitle != "Edit limit reached" {
		t.Fatal("second edit within 24 hours accepted")
	}
	f.clock.Advance(25 * time.Hour)
	if err := f.client.EditTemplate(ctx, creds, created.ID, edit); err != nil {
		t.Fatalf("edit after 25 h: %v", err)
	}
	_ = f.sim.SetTemplateStatus(ctx, created.ID, "REJECTED", "INVALID_FORMAT")
	if ts := f.rc.next(t).(whatsapp.TemplateStatus); ts.Event != "REJECTED" || ts.Reason != "INVALID_FORMAT" {
		t.Fatalf("%+v", ts)
	}
	if tpl, _ := f.sim.Template(created.ID); tpl.RejectedReason != "INVALID_FORMAT" {
		t.Fatalf("%+v", tpl)
	}
	if err := f.client.EditTemplate(ctx, creds, created.ID, edit); err != nil {
		t.Fatalf("rejected templates can be edited: %v", err)
	}

	// Paused and disabled templates cannot be sent.
	for event, code := range map[string]int{"PAUSED": whatsapp.CodeTemplatePaused, "DISABLED": whatsapp.CodeTemplateDisabled} {
		_ = f.sim.SetTemplateStatus(ctx, "1000000000000001", event, "")
		f.rc.next(t)
		if e := apiErr(t, send(whatsapp.TemplateMessage{Name: "hello_world", Language: "en_US"})); e.Code != code {
			t.Fatalf("%s: %+v", event, e)
		}
	}

	// Delete by name and id.
	if err := f.client.DeleteTemplate(ctx, creds, wabaID, "order_confirmation", "1234567"); apiErr(t, err).Code != 100 {
		t.Fatal("delete with a wrong hsm_id succeeded")
	}
	if err := f.client.DeleteTemplate(ctx, creds, wabaID, "order_confirmation", created.ID); err != nil {
		t.Fatal(err)
	}
	if _, ok := f.sim.Template(created.ID); ok {
		t.Fatal("still there")
	}
	if err := f.client.DeleteTemplate(ctx, creds, wabaID, "order_confirmation", ""); apiErr(t, err).Code != 100 {
		t.Fatal("deleting twice succeeded")
	}
}

func TestNamedTemplateParameters(t *testing.T) {
	f := newFixture(t, func(o *Options) {
		o.WABAs[0].Templates = append(o.WABAs[0].Templates, whatsapp.Template{Name: "reservation", Language: "en", Category: whatsapp.CategoryUtility,
			ParameterFormat: "NAMED", Components: []whatsapp.TemplateComponent{{Type: "BODY", Text: "Table for {{guests}} on {{day}}, see you!"}}})
	})
	ctx := context.Background()
	send := func(ps ...whatsapp.Parameter) error {
		_, err := f.client.SendTemplate(ctx, creds, phoneID, customer, whatsapp.TemplateMessage{Name: "reservation", Language: "en",
			Components: []whatsapp.MessageComponent{whatsapp.BodyComponent(ps...)}})
		return err
	}
	if err := send(whatsapp.NamedTextParam("day", "Saturday"), whatsapp.NamedTextParam("guests", "4")); err != nil {
		t.Fatal(err)
	}
	if e := apiErr(t, send(whatsapp.NamedTextParam("day", "Saturday"), whatsapp.NamedTextParam("people", "4"))); e.Code != whatsapp.CodeTemplateFormat {
		t.Fatalf("%+v", e)
	}
	if e := apiErr(t, send(whatsapp.NamedTextParam("day", "Saturday"))); e.Code != whatsapp.CodeTemplateParams {
		t.Fatalf("%+v", e)
	}
}

func TestPhoneNumbersPaging(t *testing.T) {
	f := newFixture(t, func(o *Options) { o.WABAs[0].PhoneNumbers = numbers(230) })
	ctx := context.Background()
	nums, err := f.client.ListPhoneNumbers(ctx, creds, wabaID)
	if err != nil {
		t.Fatal(err)
	}
	if len(nums) != 230 || nums[0].ID != phoneID || nums[229].ID != "200000000000229" ||
		nums[0].QualityRating != "GREEN" || nums[0].MessagingLimit != "TIER_250" || nums[1].MessagingLimit != "TIER_2K" || nums[0].Status != "CONNECTED" {
		t.Fatalf("%d numbers: %+v", len(nums), nums[:2])
	}

	// Meta's paging shape, by hand: cursors on every page, next until the last.
	get := func(u string) whatsapp.Page[whatsapp.PhoneNumber] {
		req, _ := http.NewRequest(http.MethodGet, u, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var p whatsapp.Page[whatsapp.PhoneNumber]
		if err := json.NewDecoder(resp.Body).Decode(&p); err != nil {
			t.Fatal(err)
		}
		return p
	}
	u := f.url + "/v23.0/" + wabaID + "/phone_numbers?limit=100"
	var pages, total int
	for u != "" {
		p := get(u)
		pages++
		total += len(p.Data)
		if p.Paging == nil || p.Paging.Cursors.After == "" || p.Paging.Cursors.Before == "" {
			t.Fatalf("page %d without cursors", pages)
		}
		if p.Paging.Next != "" && !strings.HasPrefix(p.Paging.Next, f.url+"/v23.0/"+wabaID+"/phone_numbers?") {
			t.Fatalf("next %q", p.Paging.Next)
		}
		u = p.Paging.Next
	}
	if pages != 3 || total != 230 {
		t.Fatalf("%d pages, %d numbers", pages, total)
	}
	if p := get(f.url + "/v23.0/" + wabaID + "/phone_numbers?limit=1000"); len(p.Data) != 100 {
		t.Fatalf("limit not capped at 100: %d", len(p.Data))
	}
}

func TestStatusWebhooks(t *testing.T) {
	f := newFixture(t, nil)
	ctx := context.Background()
	if _, err := f.sim.CustomerSays(ctx, phoneID, customer, "Sheena", "hi"); err != nil {
		t.Fatal(err)
	}
	f.rc.next(t)
	res, err := f.client.SendText(ctx, creds, phoneID, customer, "hello", "")
	if err != nil {
		t.Fatal(err)
	}
	tpl, err := f.client.SendTemplate(ctx, creds, phoneID, customer, whatsapp.TemplateMessage{Name: "hello_world", Language: "en_US"})
	if err != nil {
		t.Fatal(err)
	}
	// Out of order, as Meta may deliver them; the receiver's StatusRank keeps the best.
	current := "accepted"
	for _, st := range []string{"read", "sent", "delivered"} {
		if err := f.sim.Deliver(ctx, res.MessageID, st); err != nil {
			t.Fatal(err)
		}
		su := f.rc.next(t).(whatsapp.StatusUpdate)
		if su.MessageID != res.MessageID || su.Status != st || su.RecipientID != customer || su.PhoneNumberID != phoneID {
			t.Fatalf("%+v", su)
		}
		if (st == "sent" || st == "delivered") != (su.Pricing != nil) {
			t.Fatalf("pricing on %s: %+v", st, su.Pricing)
		}
		if su.Pricing != nil && (su.Pricing.Billable || su.Pricing.Type != "free_customer_service") {
			t.Fatalf("%+v", su.Pricing)
		}
		if whatsapp.StatusAdvances(current, su.Status) {
			current = su.Status
		}
	}
	if current != "read" {
		t.Fatalf("ended at %s", current)
	}
	if err := f.sim.Deliver(ctx, tpl.MessageID, "sent"); err != nil {
		t.Fatal(err)
	}
	if p := f.rc.next(t).(whatsapp.StatusUpdate).Pricing; p == nil || p.Category != "utility" || p.Type != "free_customer_service" {
		t.Fatalf("utility template inside the window: %+v", p)
	}
	if err := f.sim.Deliver(ctx, tpl.MessageID, "failed"); err != nil {
		t.Fatal(err)
	}
	su := f.rc.next(t).(whatsapp.StatusUpdate)
	if su.Status != "failed" || len(su.Errors) != 1 || su.Errors[0].Code != whatsapp.CodeUndeliverable || su.Errors[0].Details() == "" || su.Pricing != nil {
		t.Fatalf("%+v", su)
	}
	if err := f.sim.DeliverError(ctx, res.MessageID, whatsapp.CodeUserStopped, "User has stopped marketing", "x"); err != nil {
		t.Fatal(err)
	}
	if su := f.rc.next(t).(whatsapp.StatusUpdate); su.Errors[0].Code != whatsapp.CodeUserStopped {
		t.Fatalf("%+v", su)
	}
	if err := f.sim.Deliver(ctx, "wamid.unknown", "sent"); !errors.Is(err, ErrUnknown) {
		t.Fatalf("%v", err)
	}
	if err := f.sim.Deliver(ctx, res.MessageID, "bogus"); err == nil {
		t.Fatal("bogus status accepted")
	}
	if s := f.sim.Sent()[0]; s.Status != "failed" {
		t.Fatalf("%+v", s)
	}
}

func TestWebhookRetries(t *testing.T) {
	f := newFixture(t, nil)
	ctx := context.Background()
	f.rc.mu.Lock()
	f.rc.failFirst = 2
	f.rc.mu.Unlock()
	if _, err := f.sim.CustomerSays(ctx, phoneID, customer, "Sheena", "hi"); err != nil {
		t.Fatalf("third attempt should succeed: %v", err)
	}
	f.rc.next(t)
	f.rc.mu.Lock()
	if f.rc.attempts != 3 || f.rc.bodies[0] != f.rc.bodies[2] {
		t.Fatalf("%d attempts", f.rc.attempts)
	}
	f.rc.failFirst = 100
	f.rc.attempts = 0
	f.rc.mu.Unlock()
	_, err := f.sim.CustomerSays(ctx, phoneID, customer, "Sheena", "again")
	if err == nil || !strings.Contains(err.Error(), "after 3 attempts") {
		t.Fatalf("err = %v", err)
	}
	f.rc.mu.Lock()
	if f.rc.attempts != 3 {
		t.Fatalf("%d attempts, want 3 (bounded)", f.rc.attempts)
	}
	f.rc.mu.Unlock()
	// Even undelivered, the customer did write: the window is open.
	if !f.sim.WindowOpen(phoneID, customer) {
		t.Fatal("window closed")
	}
	// A cancelled context stops the retries.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := f.sim.CustomerSays(cctx, phoneID, customer, "Sheena", "x"); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v", err)
	}
}

func TestOtherInboundKinds(t *testing.T) {
	f := newFixture(t, nil)
	ctx := context.Background()
	// A customer known only by a business-scoped user id, and a reply to them.
	const bsuid = "US.13491208655302741918"
	if _, err := f.sim.CustomerSays(ctx, phoneID, bsuid, "Ana", "hola"); err != nil {
		t.Fatal(err)
	}
	in := f.rc.next(t).(whatsapp.InboundMessage)
	if in.From != bsuid || in.WaID != "" || in.UserID != bsuid || in.ContactName != "Ana" {
		t.Fatalf("%+v", in)
	}
	res, err := f.client.SendText(ctx, creds, phoneID, bsuid, "¡Hola!", "")
	if err != nil {
		t.Fatal(err)
	}
	if err := f.sim.Deliver(ctx, res.MessageID, "delivered"); err != nil {
		t.Fatal(err)
	}
	if su := f.rc.next(t).(whatsapp.StatusUpdate); su.RecipientUserID != bsuid || su.RecipientID != "" {
		t.Fatalf("%+v", su)
	}
	// A system message arrives without contacts.
	if _, err := f.sim.CustomerSends(ctx, phoneID, customer, "Sheena", whatsapp.Message{Type: whatsapp.TypeSystem,
		System: &whatsapp.System{Body: "User changed number", Type: "user_changed_number", NewWaID: "16505559999"}}); err != nil {
		t.Fatal(err)
	}
	in = f.rc.next(t).(whatsapp.InboundMessage)
	if in.ContactName != "" || in.Text != "User changed number" || strings.Contains(string(in.Raw), "contacts") {
		t.Fatalf("%+v", in)
	}
	f.rc.mu.Lock()
	last := f.rc.bodies[len(f.rc.bodies)-1]
	f.rc.mu.Unlock()
	if strings.Contains(last, `"contacts"`) {
		t.Fatalf("system webhook has contacts: %s", last)
	}
	if _, err := f.sim.CustomerSays(ctx, "999", customer, "x", "y"); !errors.Is(err, ErrUnknown) {
		t.Fatalf("%v", err)
	}
}

func TestMedia(t *testing.T) {
	f := newFixture(t, nil)
	ctx := context.Background()
	png := []byte("\x89PNG fake image bytes")
	id := f.sim.AddMedia("image/png", png)
	if _, err := f.sim.CustomerSends(ctx, phoneID, customer, "Sheena", whatsapp.Message{Type: whatsapp.TypeImage,
		Image: &whatsapp.Media{ID: id, MimeType: "image/png", Caption: "the damage"}}); err != nil {
		t.Fatal(err)
	}
	in := f.rc.next(t).(whatsapp.InboundMessage)
	if in.Text != "the damage" || in.Message.Media().ID != id {
		t.Fatalf("%+v", in)
	}
	info, err := f.client.GetMedia(ctx, creds, id)
	if err != nil {
		t.Fatal(err)
	}
	if info.ID != id || info.MimeType != "image/png" || info.FileSize != int64(len(png)) || info.SHA256 == "" {
		t.Fatalf("%+v", info)
	}
	data, ct, err := f.client.DownloadMedia(ctx, creds, info.URL, 1<<20)
	if err != nil || string(data) != string(png) || ct != "image/png" {
		t.Fatalf("%q %q %v", data, ct, err)
	}
	if _, _, err := f.client.DownloadMedia(ctx, whatsapp.Credentials{Token: "nope"}, info.URL, 1<<20); apiErr(t, err).Code != 190 {
		t.Fatal("download without the token")
	}
	// Sending it back by id works; an unknown id does not.
	if _, err := f.client.SendMedia(ctx, creds, phoneID, customer, whatsapp.MediaMessage{Type: whatsapp.TypeImage, ID: id}); err != nil {
		t.Fatal(err)
	}
	_, err = f.client.SendMedia(ctx, creds, phoneID, customer, whatsapp.MediaMessage{Type: whatsapp.TypeImage, ID: "424242"})
	if apiErr(t, err).Code != whatsapp.CodeParamInvalid {
		t.Fatal("unknown media id accepted")
	}
}

func TestMarkReadAndFailNext(t *testing.T) {
	f := newFixture(t, func(o *Options) { o.WebhookURL = "" })
	ctx := context.Background()
	id, _ := f.sim.CustomerSays(ctx, phoneID, customer, "Sheena", "hi")
	if err := f.client.MarkRead(ctx, creds, phoneID, id); err != nil {
		t.Fatal(err)
	}
	if err := f.client.MarkRead(ctx, creds, phoneID, "not-a-wamid"); apiErr(t, err).Code != 100 {
		t.Fatal("unknown id marked read")
	}
	f.sim.FailNext(whatsapp.APIError{Code: whatsapp.CodeThroughput, Type: "OAuthException", Message: "(#130429) Rate limit hit"})
	_, err := f.client.SendText(ctx, creds, phoneID, customer, "x", "")
	if e := apiErr(t, err); !e.IsRateLimited() || e.HTTPStatus != 400 {
		t.Fatalf("%+v", e)
	}
	if _, err := f.client.SendText(ctx, creds, phoneID, customer, "x", ""); err != nil {
		t.Fatalf("FailNext lasted beyond one call: %v", err)
	}
}

func TestMountedUnderPrefix(t *testing.T) {
	sim := New(Options{AccessToken: token, WABAs: []WABA{{ID: wabaID, PhoneNumbers: numbers(150)}}})
	mux := http.NewServeMux()
	mux.Handle("/sandbox/graph/", http.StripPrefix("/sandbox/graph", sim.Handler()))
	srv := httptest.NewServer(mux)
	defer srv.Close()
	c := whatsapp.NewClient(srv.URL+"/sandbox/graph", nil)
	ctx := context.Background()
	nums, err := c.ListPhoneNumbers(ctx, whatsapp.Credentials{Token: token}, wabaID)
	if err != nil || len(nums) != 150 {
		t.Fatalf("%d %v", len(nums), err)
	}
	id := sim.AddMedia("text/plain", []byte("hello"))
	info, err := c.GetMedia(ctx, whatsapp.Credentials{Token: token}, id)
	if err != nil || !strings.HasPrefix(info.URL, srv.URL+"/sandbox/graph/whatsapp_business/attachments/") {
		t.Fatalf("%+v %v", info, err)
	}
	if data, _, err := c.DownloadMedia(ctx, whatsapp.Credentials{Token: token}, info.URL, 100); err != nil || string(data) != "hello" {
		t.Fatalf("%q %v", data, err)
	}
}

func TestDemoLoops(t *testing.T) {
	f := newFixture(t, func(o *Options) {
		o.Progress = &Progress{Sent: time.Millisecond, Delivered: time.Millisecond, Read: time.Millisecond}
		o.TalkBack = &TalkBack{Delay: 20 * time.Millisecond, Replies: []string{"Thanks!"}}
		o.AutoApproveTemplates = time.Millisecond
		o.Seed = 7
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- f.sim.Run(ctx) }()
	waitSubscribers(t, f.sim, 3) // progress, talk-back, auto-approve

	if _, err := f.sim.CustomerSays(ctx, phoneID, customer, "Sheena", "hi"); err != nil {
		t.Fatal(err)
	}
	f.rc.next(t)
	res, err := f.client.SendInteractive(ctx, creds, phoneID, customer, whatsapp.InteractiveMessage{Body: "Ship today?",
		Buttons: []whatsapp.ReplyButton{{ID: "yes", Title: "Yes"}, {ID: "no", Title: "No"}}})
	if err != nil {
		t.Fatal(err)
	}
	var statuses []string
	var reply *whatsapp.InboundMessage
	for len(statuses) < 3 || reply == nil {
		switch ev := f.rc.next(t).(type) {
		case whatsapp.StatusUpdate:
			if ev.MessageID != res.MessageID {
				t.Fatalf("%+v", ev)
			}
			statuses = append(statuses, ev.Status)
		case whatsapp.InboundMessage:
			reply = &ev
		}
	}
	if strings.Join(statuses, ",") != "sent,delivered,read" {
		t.Fatalf("statuses %v", statuses)
	}
	if reply.Type != whatsapp.TypeInteractive || reply.ReplyTo != res.MessageID || reply.Message.Context.From != "15550783881" || (reply.Text != "Yes" && reply.Text != "No") || reply.ContactName != "Sheena" {
		t.Fatalf("reply %+v", reply)
	}

	created, err := f.client.CreateTemplate(ctx, creds, wabaID, whatsapp.TemplateDefinition{Name: "welcome", Language: "en", Category: whatsapp.CategoryMarketing,
		Components: []whatsapp.TemplateComponent{{Type: "BODY", Text: "Welcome to Lucky Shrub!"}}})
	if err != nil {
		t.Fatal(err)
	}
	for {
		if ts, ok := f.rc.next(t).(whatsapp.TemplateStatus); ok {
			if ts.TemplateID != created.ID || ts.Event != "APPROVED" {
				t.Fatalf("%+v", ts)
			}
			break
		}
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not stop")
	}
}

// waitSubscribers waits until Run's loops listen, so that no notice is sent before them.
func waitSubscribers(t *testing.T, s *Simulator, n int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		s.mu.Lock()
		got := len(s.subs)
		s.mu.Unlock()
		if got >= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d loops subscribed", got, n)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestMessageBodyChecks(t *testing.T) {
	f := newFixture(t, func(o *Options) { o.WebhookURL = "" })
	if _, err := f.sim.CustomerSays(context.Background(), phoneID, customer, "Sheena", "hi"); err != nil {
		t.Fatal(err)
	}
	long := strings.Repeat("a", whatsapp.MaxTextBody+1)
	tests := []struct {
		name string
		body string
		code int
	}{
		{"not JSON", `{`, 100},
		{"no messaging_product", `{"to":"+16505551234","type":"text","text":{"body":"x"}}`, 100},
		{"no recipient", `{"messaging_product":"whatsapp","type":"text","text":{"body":"x"}}`, whatsapp.CodeParamMissing},
		{"bad recipient", `{"messaging_product":"whatsapp","to":"abc","type":"text","text":{"body":"x"}}`, 100},
		{"no text", `{"messaging_product":"whatsapp","to":"+16505551234","type":"text"}`, whatsapp.CodeParamMissing},
		{"text too long", `{"messaging_product":"whatsapp","to":"+16505551234","type":"text","text":{"body":"` + long + `"}}`, 100},
		{"unknown type", `{"messaging_product":"whatsapp","to":"+16505551234","type":"hologram"}`, 100},
		{"media without source", `{"messaging_product":"whatsapp","to":"+16505551234","type":"image","image":{}}`, whatsapp.CodeParamMissing},
		{"template object missing", `{"messaging_product":"whatsapp","to":"+16505551234","type":"template"}`, whatsapp.CodeParamMissing},
		{"button index out of range", `{"messaging_product":"whatsapp","to":"+16505551234","type":"template","template":{"name":"hello_world","language":{"code":"en_US"},"components":[{"type":"button","sub_type":"quick_reply","index":"3","parameters":[{"type":"payload","payload":"x"}]}]}}`, whatsapp.CodeParamInvalid},
		{"type defaults to text", `{"messaging_product":"whatsapp","to":"16505551234","text":{"body":"x"}}`, 0},
		{"reaction", `{"messaging_product":"whatsapp","to":"+16505551234","type":"reaction","reaction":{"message_id":"wamid.x","emoji":"👍"}}`, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodPost, f.url+"/v23.0/"+phoneID+"/messages", strings.NewReader(tt.body))
			req.Header.Set("Authorization", "Bearer "+token)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			if tt.code == 0 {
				var ok whatsapp.SendResponse
				if err := json.NewDecoder(resp.Body).Decode(&ok); err != nil || resp.StatusCode != 200 || len(ok.Messages) != 1 || ok.Contacts[0].WaID != customer {
					t.Fatalf("%d %+v %v", resp.StatusCode, ok, err)
				}
				return
			}
			var env whatsapp.ErrorEnvelope
			if err := json.NewDecoder(resp.Body).Decode(&env); err != nil || env.Error.Code != tt.code || env.Error.FBTraceID == "" {
				t.Fatalf("%d %+v %v", resp.StatusCode, env, err)
			}
		})
	}
}
