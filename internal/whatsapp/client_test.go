package whatsapp

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
)

var creds = Credentials{Token: "EAAtoken", AppSecret: "s3cret"}

// recorder is a fake Graph server that answers with a fixed status and body and records what
// it was asked.
type recorder struct {
	mu       sync.Mutex
	requests []recorded
}

type recorded struct {
	Method, Path, Auth string
	Query              map[string][]string
	Body               string
}

func (rec *recorder) server(t *testing.T, status int, body string) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		rec.mu.Lock()
		rec.requests = append(rec.requests, recorded{r.Method, r.URL.Path, r.Header.Get("Authorization"), r.URL.Query(), string(b)})
		rec.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		io.WriteString(w, body)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

func (rec *recorder) last(t *testing.T) recorded {
	t.Helper()
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if len(rec.requests) == 0 {
		t.Fatal("no request made")
	}
	return rec.requests[len(rec.requests)-1]
}

const okSend = `{"messaging_product":"whatsapp","contacts":[{"input":"+16505551234","wa_id":"16505551234"}],"messages":[{"id":"wamid.HBgLMTY1MDU1NTEyMzQVAgARGBI"}]}`

func TestSendBodies(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name string
		send func(c *Client) (SendResult, error)
		want string // exact JSON body
	}{
		{"text", func(c *Client) (SendResult, error) {
			return c.SendText(ctx, creds, "106540352242922", "+16505551234", "Hi there", "")
		}, `{"messaging_product":"whatsapp","recipient_type":"individual","to":"+16505551234","type":"text","text":{"body":"Hi there","preview_url":false}}`},
		{"text reply, to without plus", func(c *Client) (SendResult, error) {
			return c.SendText(ctx, creds, "106540352242922", "16505551234", "Sure", "wamid.in1")
		}, `{"messaging_product":"whatsapp","recipient_type":"individual","to":"+16505551234","type":"text","context":{"message_id":"wamid.in1"},"text":{"body":"Sure","preview_url":false}}`},
		{"text to a business-scoped user id", func(c *Client) (SendResult, error) {
			return c.SendText(ctx, creds, "106540352242922", "US.13491208655302741918", "Hi", "")
		}, `{"messaging_product":"whatsapp","recipient_type":"individual","recipient":"US.13491208655302741918","type":"text","text":{"body":"Hi","preview_url":false}}`},
		{"template positional", func(c *Client) (SendResult, error) {
			return c.SendTemplate(ctx, creds, "106540352242922", "+16505551234", TemplateMessage{
				Name: "order_confirmation", Language: "en_US",
				Components: []MessageComponent{
					HeaderComponent(TextParam("#123")),
					BodyComponent(TextParam("Jessica"), TextParam("860198")),
					ButtonComponent("quick_reply", 0, Parameter{Type: "payload", Payload: "STOP"}),
					ButtonComponent("url", 1, TextParam("abc")),
				}})
		}, `{"messaging_product":"whatsapp","recipient_type":"individual","to":"+16505551234","type":"template","template":{"name":"order_confirmation","language":{"code":"en_US"},"components":[{"type":"header","parameters":[{"type":"text","text":"#123"}]},{"type":"body","parameters":[{"type":"text","text":"Jessica"},{"type":"text","text":"860198"}]},{"type":"button","sub_type":"quick_reply","index":"0","parameters":[{"type":"payload","payload":"STOP"}]},{"type":"button","sub_type":"url","index":"1","parameters":[{"type":"text","text":"abc"}]}]}}`},
		{"template named with image header", func(c *Client) (SendResult, error) {
			return c.SendTemplate(ctx, creds, "106540352242922", "+16505551234", TemplateMessage{
				Name: "reservation_confirmation", Language: "en",
				Components: []MessageComponent{
					HeaderComponent(Parameter{Type: "image", Image: &MediaObject{Link: "https://example.com/a.png"}}),
					BodyComponent(NamedTextParam("number_of_guests", "4"), NamedTextParam("day", "Saturday")),
				}})
		}, `{"messaging_product":"whatsapp","recipient_type":"individual","to":"+16505551234","type":"template","template":{"name":"reservation_confirmation","language":{"code":"en"},"components":[{"type":"header","parameters":[{"type":"image","image":{"link":"https://example.com/a.png"}}]},{"type":"body","parameters":[{"type":"text","parameter_name":"number_of_guests","text":"4"},{"type":"text","parameter_name":"day","text":"Saturday"}]}]}}`},
		{"template without components", func(c *Client) (SendResult, error) {
			return c.SendTemplate(ctx, creds, "106540352242922", "+16505551234", TemplateMessage{Name: "hello_world", Language: "en_US"})
		}, `{"messaging_product":"whatsapp","recipient_type":"individual","to":"+16505551234","type":"template","template":{"name":"hello_world","language":{"code":"en_US"}}}`},
		{"document", func(c *Client) (SendResult, error) {
			return c.SendMedia(ctx, creds, "106540352242922", "+16505551234", MediaMessage{Type: TypeDocument, Link: "https://example.com/i.pdf", Caption: "Invoice", Filename: "invoice.pdf"})
		}, `{"messaging_product":"whatsapp","recipient_type":"individual","to":"+16505551234","type":"document","document":{"link":"https://example.com/i.pdf","caption":"Invoice","filename":"invoice.pdf"}}`},
		{"image by id", func(c *Client) (SendResult, error) {
			return c.SendMedia(ctx, creds, "106540352242922", "+16505551234", MediaMessage{Type: TypeImage, ID: "1234"})
		}, `{"messaging_product":"whatsapp","recipient_type":"individual","to":"+16505551234","type":"image","image":{"id":"1234"}}`},
		{"reply buttons", func(c *Client) (SendResult, error) {
			return c.SendInteractive(ctx, creds, "106540352242922", "+16505551234", InteractiveMessage{
				Body: "Ship today?", Footer: "Lucky Shrub", Buttons: []ReplyButton{{ID: "yes", Title: "Yes"}, {ID: "no", Title: "No"}}})
		}, `{"messaging_product":"whatsapp","recipient_type":"individual","to":"+16505551234","type":"interactive","interactive":{"type":"button","body":{"text":"Ship today?"},"footer":{"text":"Lucky Shrub"},"action":{"buttons":[{"type":"reply","reply":{"id":"yes","title":"Yes"}},{"type":"reply","reply":{"id":"no","title":"No"}}]}}}`},
		{"list", func(c *Client) (SendResult, error) {
			return c.SendInteractive(ctx, creds, "106540352242922", "+16505551234", InteractiveMessage{
				Header: "Shipping", Body: "Choose one", ListButton: "Options",
				Sections: []ListSection{{Title: "Speed", Rows: []ListRow{{ID: "std", Title: "Standard", Description: "3-5 days"}, {ID: "exp", Title: "Express"}}}}})
		}, `{"messaging_product":"whatsapp","recipient_type":"individual","to":"+16505551234","type":"interactive","interactive":{"type":"list","header":{"type":"text","text":"Shipping"},"body":{"text":"Choose one"},"action":{"button":"Options","sections":[{"title":"Speed","rows":[{"id":"std","title":"Standard","description":"3-5 days"},{"id":"exp","title":"Express"}]}]}}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := &recorder{}
			c := NewClient(rec.server(t, 200, okSend)+"/", nil)
			res, err := tt.send(c)
			if err != nil {
				t.Fatal(err)
			}
			if res.MessageID != "wamid.HBgLMTY1MDU1NTEyMzQVAgARGBI" || res.WaID != "16505551234" {
				t.Fatalf("result %+v", res)
			}
			r := rec.last(t)
			if r.Method != http.MethodPost || r.Path != "/v23.0/106540352242922/messages" || r.Auth != "Bearer EAAtoken" {
				t.Fatalf("request %s %s %q", r.Method, r.Path, r.Auth)
			}
			if got := r.Query["appsecret_proof"]; len(got) != 1 || got[0] != AppSecretProof("EAAtoken", "s3cret") {
				t.Fatalf("appsecret_proof %v", got)
			}
			if r.Body != tt.want {
				t.Fatalf("body\n got %s\nwant %s", r.Body, tt.want)
			}
		})
	}
}

func TestMarkReadAndVersion(t *testing.T) {
	rec := &recorder{}
	c := NewClient(rec.server(t, 200, `{"success":true}`), nil, WithVersion("v24.0"))
	if err := c.MarkRead(context.Background(), Credentials{Token: "t"}, "1", "wamid.x"); err != nil {
		t.Fatal(err)
	}
	r := rec.last(t)
	if r.Path != "/v24.0/1/messages" || r.Body != `{"messaging_product":"whatsapp","status":"read","message_id":"wamid.x"}` {
		t.Fatalf("%s %s", r.Path, r.Body)
	}
	if _, ok := r.Query["appsecret_proof"]; ok {
		t.Fatal("no app secret, no proof")
	}
	// success:false is an error.
	rec2 := &recorder{}
	c2 := NewClient(rec2.server(t, 200, `{"success":false}`), nil)
	if err := c2.MarkRead(context.Background(), Credentials{Token: "t"}, "1", "wamid.x"); err == nil {
		t.Fatal("success:false accepted")
	}
}

func TestValidationBeforeSending(t *testing.T) {
	ctx := context.Background()
	rec := &recorder{}
	c := NewClient(rec.server(t, 200, okSend), nil)
	long := strings.Repeat("a", MaxTextBody+1)
	emoji4096 := strings.Repeat("😀", MaxTextBody) // 4096 characters, 16384 bytes
	tests := []struct {
		name  string
		field string
		call  func() error
	}{
		{"no plus no digits", "to", func() error { _, err := c.SendText(ctx, creds, "1", "hello", "x", ""); return err }},
		{"too short", "to", func() error { _, err := c.SendText(ctx, creds, "1", "+12345", "x", ""); return err }},
		{"too long", "to", func() error { _, err := c.SendText(ctx, creds, "1", "+1234567890123456", "x", ""); return err }},
		{"leading zero", "to", func() error { _, err := c.SendText(ctx, creds, "1", "+0123456789", "x", ""); return err }},
		{"empty body", "body", func() error { _, err := c.SendText(ctx, creds, "1", "+16505551234", " ", ""); return err }},
		{"body 4097", "body", func() error { _, err := c.SendText(ctx, creds, "1", "+16505551234", long, ""); return err }},
		{"path injection", "phone number id", func() error { _, err := c.SendText(ctx, creds, "../1", "+16505551234", "x", ""); return err }},
		{"caption 1025", "caption", func() error {
			_, err := c.SendMedia(ctx, creds, "1", "+16505551234", MediaMessage{Type: TypeImage, Link: "https://x/y.png", Caption: strings.Repeat("c", 1025)})
			return err
		}},
		{"audio caption", "caption", func() error {
			_, err := c.SendMedia(ctx, creds, "1", "+16505551234", MediaMessage{Type: TypeAudio, Link: "https://x/y.ogg", Caption: "c"})
			return err
		}},
		{"media without source", "link", func() error {
			_, err := c.SendMedia(ctx, creds, "1", "+16505551234", MediaMessage{Type: TypeImage})
			return err
		}},
		{"media ftp link", "link", func() error {
			_, err := c.SendMedia(ctx, creds, "1", "+16505551234", MediaMessage{Type: TypeImage, Link: "ftp://x/y"})
			return err
		}},
		{"filename on image", "filename", func() error {
			_, err := c.SendMedia(ctx, creds, "1", "+16505551234", MediaMessage{Type: TypeImage, Link: "https://x/y", Filename: "y.png"})
			return err
		}},
		{"sticker type", "type", func() error {
			_, err := c.SendMedia(ctx, creds, "1", "+16505551234", MediaMessage{Type: "sticker", Link: "https://x/y"})
			return err
		}},
		{"4 buttons", "buttons", func() error {
			_, err := c.SendInteractive(ctx, creds, "1", "+16505551234", InteractiveMessage{Body: "b", Buttons: []ReplyButton{{"a", "a"}, {"b", "b"}, {"c", "c"}, {"d", "d"}}})
			return err
		}},
		{"button title 21", "buttons[0].title", func() error {
			_, err := c.SendInteractive(ctx, creds, "1", "+16505551234", InteractiveMessage{Body: "b", Buttons: []ReplyButton{{"a", strings.Repeat("t", 21)}}})
			return err
		}},
		{"duplicate button id", "buttons[1].id", func() error {
			_, err := c.SendInteractive(ctx, creds, "1", "+16505551234", InteractiveMessage{Body: "b", Buttons: []ReplyButton{{"a", "A"}, {"a", "B"}}})
			return err
		}},
		{"no body", "body", func() error {
			_, err := c.SendInteractive(ctx, creds, "1", "+16505551234", InteractiveMessage{Buttons: []ReplyButton{{"a", "A"}}})
			return err
		}},
		{"11 rows", "sections", func() error {
			var rows []ListRow
			for i := range 11 {
				rows = append(rows, ListRow{ID: strconv.Itoa(i), Title: "r"})
			}
			_, err := c.SendInteractive(ctx, creds, "1", "+16505551234", InteractiveMessage{Body: "b", ListButton: "Go", Sections: []ListSection{{Title: "s", Rows: rows}}})
			return err
		}},
		{"row title 25", "sections[0].rows[0].title", func() error {
			_, err := c.SendInteractive(ctx, creds, "1", "+16505551234", InteractiveMessage{Body: "b", ListButton: "Go", Sections: []ListSection{{Rows: []ListRow{{ID: "1", Title: strings.Repeat("r", 25)}}}}})
			return err
		}},
		{"untitled second section", "sections[1].title", func() error {
			_, err := c.SendInteractive(ctx, creds, "1", "+16505551234", InteractiveMessage{Body: "b", ListButton: "Go", Sections: []ListSection{{Title: "a", Rows: []ListRow{{ID: "1", Title: "x"}}}, {Rows: []ListRow{{ID: "2", Title: "y"}}}}})
			return err
		}},
		{"template name", "template name", func() error {
			_, err := c.SendTemplate(ctx, creds, "1", "+16505551234", TemplateMessage{Name: "Bad Name", Language: "en"})
			return err
		}},
		{"template language", "template language", func() error {
			_, err := c.SendTemplate(ctx, creds, "1", "+16505551234", TemplateMessage{Name: "ok", Language: "english"})
			return err
		}},
		{"empty template variable", "components[0].parameters[0].text", func() error {
			_, err := c.SendTemplate(ctx, creds, "1", "+16505551234", TemplateMessage{Name: "ok", Language: "en", Components: []MessageComponent{BodyComponent(TextParam(""))}})
			return err
		}},
		{"button sub_type", "components[0].sub_type", func() error {
			_, err := c.SendTemplate(ctx, creds, "1", "+16505551234", TemplateMessage{Name: "ok", Language: "en", Components: []MessageComponent{ButtonComponent("bogus", 0)}})
			return err
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call()
			var ve *ValidationError
			if !errors.As(err, &ve) || !errors.Is(err, ErrInvalidInput) || ve.Field != tt.field {
				t.Fatalf("err = %v, want a ValidationError on %q", err, tt.field)
			}
		})
	}
	if len(rec.requests) != 0 {
		t.Fatalf("%d requests reached the server", len(rec.requests))
	}
	// Limits count characters, not bytes.
	if _, err := c.SendText(ctx, creds, "1", "+16505551234", emoji4096, ""); err != nil {
		t.Fatalf("4096 emoji refused: %v", err)
	}
	if _, err := c.SendText(ctx, Credentials{}, "1", "+16505551234", "x", ""); !errors.Is(err, ErrNoToken) {
		t.Fatalf("no token: %v", err)
	}
}

func TestAPIErrors(t *testing.T) {
	tests := []struct {
		name   string
		status int
		body   string
		check  func(t *testing.T, e *APIError)
	}{
		{"outside window", 400, `{"error":{"message":"(#131047) Re-engagement message","type":"OAuthException","code":131047,"error_data":{"messaging_product":"whatsapp","details":"Message failed to send because more than 24 hours have passed since the customer last replied to this number."},"fbtrace_id":"AXsgabc"}}`,
			func(t *testing.T, e *APIError) {
				if !e.IsOutsideWindow() || e.IsAuth() || e.IsRateLimited() || e.Temporary() || e.FBTraceID != "AXsgabc" ||
					!strings.HasPrefix(e.Details, "Message failed to send") || e.HTTPStatus != 400 || e.Type != "OAuthException" {
					t.Fatalf("%+v", e)
				}
			}},
		{"expired token", 401, `{"error":{"message":"Error validating access token: Session has expired on Friday, 01-Jan-27 00:00:00 PST.","type":"OAuthException","code":190,"error_subcode":463,"fbtrace_id":"Ax1"}}`,
			func(t *testing.T, e *APIError) {
				if !e.IsAuth() || !e.IsTokenExpired() || e.Subcode != 463 || e.Temporary() || e.IsOutsideWindow() {
					t.Fatalf("%+v", e)
				}
			}},
		{"throughput", 400, `{"error":{"message":"(#130429) Rate limit hit","type":"OAuthException","code":130429,"error_data":{"messaging_product":"whatsapp","details":"Cloud API message throughput has been reached."},"fbtrace_id":"A"}}`,
			func(t *testing.T, e *APIError) {
				if !e.IsRateLimited() || e.IsAuth() {
					t.Fatalf("%+v", e)
				}
			}},
		{"pair rate limit", 400, `{"error":{"message":"(#131056) pair","code":131056}}`,
			func(t *testing.T, e *APIError) {
				if !e.IsRateLimited() {
					t.Fatalf("%+v", e)
				}
			}},
		{"transient flag", 500, `{"error":{"message":"Unexpected","type":"OAuthException","code":1,"is_transient":true,"error_user_title":"Try later","error_user_msg":"Please retry"}}`,
			func(t *testing.T, e *APIError) {
				if !e.Temporary() || e.UserTitle != "Try later" || e.UserMsg != "Please retry" {
					t.Fatalf("%+v", e)
				}
			}},
		{"131000 transient", 500, `{"error":{"message":"Something went wrong","code":131000}}`,
			func(t *testing.T, e *APIError) {
				if !e.Temporary() {
					t.Fatalf("%+v", e)
				}
			}},
		{"code 2 service unavailable", 503, `{"error":{"message":"Service temporarily unavailable","code":2}}`,
			func(t *testing.T, e *APIError) {
				if !e.Temporary() {
					t.Fatalf("%+v", e)
				}
			}},
		{"error_data as a string", 400, `{"error":{"message":"Invalid parameter","code":100,"error_data":"{\"blame_field_specs\":[[\"name\"]]}"}}`,
			func(t *testing.T, e *APIError) {
				if e.Code != 100 || !strings.Contains(e.Details, "blame_field_specs") {
					t.Fatalf("%+v", e)
				}
			}},
		{"gateway html", 502, `<html>Bad Gateway</html>`,
			func(t *testing.T, e *APIError) {
				if e.Code != CodeUnknown || e.IsAuth() || !e.Temporary() || e.Message != "<html>Bad Gateway</html>" {
					t.Fatalf("%+v", e)
				}
			}},
		{"4xx without graph body is not temporary", 404, `not found`,
			func(t *testing.T, e *APIError) {
				if e.Code != CodeUnknown || e.Temporary() || e.IsAuth() {
					t.Fatalf("%+v", e)
				}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := &recorder{}
			c := NewClient(rec.server(t, tt.status, tt.body), nil)
			_, err := c.SendText(context.Background(), creds, "106540352242922", "+16505551234", "hi", "")
			e, ok := AsAPIError(err)
			if !ok {
				t.Fatalf("err = %v (%T), want *APIError", err, err)
			}
			tt.check(t, e)
			if strings.Contains(err.Error(), "EAAtoken") || strings.Contains(err.Error(), "appsecret_proof") {
				t.Fatalf("error leaks a credential: %v", err)
			}
		})
	}
}

func TestTransportErrorHidesProof(t *testing.T) {
	c := NewClient("http://127.0.0.1:1", nil)
	_, err := c.SendText(context.Background(), creds, "1", "+16505551234", "hi", "")
	if err == nil || strings.Contains(err.Error(), AppSecretProof(creds.Token, creds.AppSecret)) || strings.Contains(err.Error(), creds.Token) {
		t.Fatalf("err = %v", err)
	}
	if s := fmt.Sprint(creds) + fmt.Sprintf("%#v %+v", creds, creds); strings.Contains(s, "EAAtoken") || strings.Contains(s, "s3cret") {
		t.Fatalf("Credentials print their secrets: %s", s)
	}
}

// pagedServer serves items in pages of `per`, with cursors on every page (as Graph does, even
// on the last) and `next` only when more remain.
func pagedServer(t *testing.T, total, per int, path string, item func(i int) any, seen *[]string) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != path {
			http.NotFound(w, r)
			return
		}
		*seen = append(*seen, r.URL.RawQuery)
		start := 0
		if a := r.URL.Query().Get("after"); a != "" {
			start, _ = strconv.Atoi(strings.TrimPrefix(a, "c"))
		}
		end := min(start+per, total)
		var data []any
		for i := start; i < end; i++ {
			data = append(data, item(i))
		}
		p := map[string]any{"cursors": map[string]string{"before": "c" + strconv.Itoa(start), "after": "c" + strconv.Itoa(end)}}
		if end < total {
			p["next"] = "https://graph.facebook.com/v23.0/x?access_token=LEAK&after=c" + strconv.Itoa(end)
		}
		json.NewEncoder(w).Encode(map[string]any{"data": data, "paging": p})
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestListPhoneNumbersPaging(t *testing.T) {
	var seen []string
	srv := pagedServer(t, 5, 2, "/v23.0/555/phone_numbers", func(i int) any {
		return map[string]any{"id": strconv.Itoa(1000 + i), "display_phone_number": "+1 631-555-000" + strconv.Itoa(i),
			"verified_name": "Lucky Shrub", "quality_rating": "GREEN", "whatsapp_business_manager_messaging_limit": "TIER_250",
			"throughput": map[string]string{"level": "STANDARD"}}
	}, &seen)
	c := NewClient(srv.URL, nil)
	nums, err := c.ListPhoneNumbers(context.Background(), Credentials{Token: "t"}, "555")
	if err != nil {
		t.Fatal(err)
	}
	if len(nums) != 5 || nums[4].ID != "1004" || nums[0].MessagingLimit != "TIER_250" || nums[0].Throughput.Level != "STANDARD" {
		t.Fatalf("%+v", nums)
	}
	if len(seen) != 3 || strings.Contains(seen[0], "after=") || !strings.Contains(seen[1], "after=c2") || !strings.Contains(seen[2], "after=c4") {
		t.Fatalf("queries %v", seen)
	}
	for _, q := range seen {
		if strings.Contains(q, "LEAK") {
			t.Fatal("followed the next URL instead of the cursor")
		}
	}
}

func TestListTemplatesPagingAndFilters(t *testing.T) {
	var seen []string
	srv := pagedServer(t, 3, 100, "/v23.0/555/message_templates", func(i int) any {
		return map[string]any{"id": strconv.Itoa(i), "name": "t" + strconv.Itoa(i), "language": "en_US", "status": "APPROVED", "category": "UTILITY",
			"components":    []any{map[string]any{"type": "BODY", "text": "Hi {{1}}"}, map[string]any{"type": "BUTTONS", "buttons": []any{map[string]any{"type": "COPY_CODE", "example": "250FF"}}}},
			"quality_score": map[string]any{"score": "GREEN", "date": 1700000000}}
	}, &seen)
	c := NewClient(srv.URL, nil)
	ts, err := c.ListTemplates(context.Background(), Credentials{Token: "t"}, "555", TemplateFilter{Status: "APPROVED", Language: "en_US"})
	if err != nil {
		t.Fatal(err)
	}
	if len(ts) != 3 || ts[0].Components[0].Text != "Hi {{1}}" || ts[0].QualityScore.Score != "GREEN" || ts[0].Components[1].Buttons[0].Example[0] != "250FF" {
		t.Fatalf("%+v", ts)
	}
	if len(seen) != 1 || !strings.Contains(seen[0], "status=APPROVED") || !strings.Contains(seen[0], "language=en_US") || strings.Contains(seen[0], "name=") {
		t.Fatalf("queries %v", seen)
	}
}

func TestPagingLoopGuard(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, `{"data":[],"paging":{"cursors":{"after":"same"},"next":"https://x"}}`)
	}))
	defer srv.Close()
	_, err := NewClient(srv.URL, nil).ListPhoneNumbers(context.Background(), Credentials{Token: "t"}, "1")
	if err == nil || !strings.Contains(err.Error(), "repeated") {
		t.Fatalf("err = %v", err)
	}
}

func TestTemplateManagementRequests(t *testing.T) {
	ctx := context.Background()
	c0 := Credentials{Token: "t"}
	t.Run("create", func(t *testing.T) {
		rec := &recorder{}
		c := NewClient(rec.server(t, 200, `{"id":"1689556908129832","status":"PENDING","category":"UTILITY"}`), nil)
		got, err := c.CreateTemplate(ctx, c0, "555", TemplateDefinition{
			Name: "order_confirmation", Language: "en_US", Category: CategoryUtility, ParameterFormat: "positional",
			Components: []TemplateComponent{
				{Type: "HEADER", Format: "TEXT", Text: "Order {{1}}", Example: &TemplateExample{HeaderText: []string{"#123"}}},
				{Type: "BODY", Text: "Hi {{1}}, order {{2}} shipped.", Example: &TemplateExample{BodyText: [][]string{{"Pablo", "860198"}}}},
				{Type: "FOOTER", Text: "Lucky Shrub"},
				{Type: "BUTTONS", Buttons: []TemplateButton{{Type: "QUICK_REPLY", Text: "Stop"}, {Type: "URL", Text: "Track", URL: "https://x.com/t/{{1}}", Example: StringList{"abc"}}}},
			}})
		if err != nil || got.ID != "1689556908129832" || got.Status != TemplatePending {
			t.Fatalf("%+v %v", got, err)
		}
		r := rec.last(t)
		want := `{"name":"order_confirmation","language":"en_US","category":"UTILITY","parameter_format":"positional","components":[{"type":"HEADER","format":"TEXT","text":"Order {{1}}","example":{"header_text":["#123"]}},{"type":"BODY","text":"Hi {{1}}, order {{2}} shipped.","example":{"body_text":[["Pablo","860198"]]}},{"type":"FOOTER","text":"Lucky Shrub"},{"type":"BUTTONS","buttons":[{"type":"QUICK_REPLY","text":"Stop"},{"type":"URL","text":"Track","url":"https://x.com/t/{{1}}","example":["abc"]}]}]}`
		if r.Path != "/v23.0/555/message_templates" || r.Method != http.MethodPost || r.Body != want {
			t.Fatalf("%s %s\n%s", r.Method, r.Path, r.Body)
		}
		for _, bad := range []TemplateDefinition{
			{Name: "Order", Language: "en", Category: "UTILITY", Components: []TemplateComponent{{Type: "BODY", Text: "x"}}},
			{Name: "o", Language: "en", Category: "PROMO", Components: []TemplateComponent{{Type: "BODY", Text: "x"}}},
			{Name: "o", Language: "en", Category: "UTILITY"},
		} {
			if _, err := c.CreateTemplate(ctx, c0, "555", bad); !errors.Is(err, ErrInvalidInput) {
				t.Fatalf("%+v accepted: %v", bad, err)
			}
		}
	})
	t.Run("edit", func(t *testing.T) {
		rec := &recorder{}
		c := NewClient(rec.server(t, 200, `{"success":true}`), nil)
		if err := c.EditTemplate(ctx, c0, "1689556908129832", TemplateEdit{Components: []TemplateComponent{{Type: "BODY", Text: "New"}}}); err != nil {
			t.Fatal(err)
		}
		if r := rec.last(t); r.Path != "/v23.0/1689556908129832" || r.Body != `{"components":[{"type":"BODY","text":"New"}]}` {
			t.Fatalf("%s %s", r.Path, r.Body)
		}
	})
	t.Run("delete", func(t *testing.T) {
		rec := &recorder{}
		c := NewClient(rec.server(t, 200, `{"success":true}`), nil)
		if err := c.DeleteTemplate(ctx, c0, "555", "order_confirmation", "1689556908129832"); err != nil {
			t.Fatal(err)
		}
		r := rec.last(t)
		if r.Method != http.MethodDelete || r.Path != "/v23.0/555/message_templates" || r.Query["name"][0] != "order_confirmation" || r.Query["hsm_id"][0] != "1689556908129832" {
			t.Fatalf("%+v", r)
		}
	})
	t.Run("media", func(t *testing.T) {
		rec := &recorder{}
		c := NewClient(rec.server(t, 200, `{"messaging_product":"whatsapp","url":"https://lookaside.fbsbx.com/whatsapp_business/attachments/?mid=1","mime_type":"image/jpeg","sha256":"abc","file_size":"303833","id":"1037543291543636"}`), nil)
		m, err := c.GetMedia(ctx, c0, "1037543291543636")
		if err != nil || m.FileSize != 303833 || m.MimeType != "image/jpeg" {
			t.Fatalf("%+v %v", m, err)
		}
		if _, _, err := c.DownloadMedia(ctx, c0, "http://evil.example/x", 10); !errors.Is(err, ErrInvalidInput) {
			t.Fatalf("plain-http foreign host accepted: %v", err)
		}
	})
}
