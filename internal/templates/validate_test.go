package templates

import (
	"strings"
	"testing"
)

// TestValidate runs one case per Meta rule, valid and invalid. Each case changes the valid
// draft and names the field that must complain (none for a valid case) and part of the message.
func TestValidate(t *testing.T) {
	long := func(n int) string { return strings.Repeat("a", n) }
	body := func(text string, examples ...string) func(*Draft) {
		return func(d *Draft) {
			d.Body.Text = text
			d.Body.Examples = map[string]string{}
			for i := 0; i+1 < len(examples); i += 2 {
				d.Body.Examples[examples[i]] = examples[i+1]
			}
		}
	}
	buttons := func(bs ...Button) func(*Draft) { return func(d *Draft) { d.Buttons = bs } }
	qr := func(text string) Button { return Button{Type: ButtonQuickReply, Text: text} }
	link := func(u, ex string) Button { return Button{Type: ButtonURL, Text: "Open", URL: u, Example: ex} }
	phone := func(n string) Button { return Button{Type: ButtonPhoneNumber, Text: "Call us", PhoneNumber: n} }
	code := func(c string) Button { return Button{Type: ButtonCopyCode, Example: c} }

	cases := []struct {
		name   string
		change func(*Draft)
		field  string // "" when valid
		msg    string
	}{
		{"valid", func(*Draft) {}, "", ""},

		// Identity.
		{"name missing", func(d *Draft) { d.Name = "" }, "name", "Enter a name"},
		{"name 512 characters", func(d *Draft) { d.Name = long(512) }, "", ""},
		{"name too long", func(d *Draft) { d.Name = long(513) }, "name", "at most 512"},
		{"name upper case", func(d *Draft) { d.Name = "Order_Shipped" }, "name", "lower-case letters, digits and underscores"},
		{"name with space", func(d *Draft) { d.Name = "order shipped" }, "name", "lower-case"},
		{"name with hyphen", func(d *Draft) { d.Name = "order-shipped" }, "name", "lower-case"},
		{"name digits and underscores", func(d *Draft) { d.Name = "promo_2026_q1" }, "", ""},
		{"language two letters", func(d *Draft) { d.Language = "en" }, "", ""},
		{"language three letters", func(d *Draft) { d.Language = "fil" }, "", ""},
		{"language with region", func(d *Draft) { d.Language = "pt_BR" }, "", ""},
		{"language missing", func(d *Draft) { d.Language = "" }, "language", "Choose a language"},
		{"language with hyphen", func(d *Draft) { d.Language = "en-US" }, "language", "such as en or en_US"},
		{"language lower-case region", func(d *Draft) { d.Language = "en_us" }, "language", "en_US"},
		{"WABA missing", func(d *Draft) { d.WABAID = "" }, "waba_id", "Choose the WhatsApp Business Account"},
		{"WABA not numeric", func(d *Draft) { d.WABAID = "waba-1" }, "waba_id", "is a number"},

		// Category and format.
		{"marketing", func(d *Draft) { d.Category = CategoryMarketing }, "", ""},
		{"authentication", func(d *Draft) { d.Category = CategoryAuthentication }, "", ""},
		{"category missing", func(d *Draft) { d.Category = "" }, "category", "Choose a category"},
		{"category unknown", func(d *Draft) { d.Category = "SERVICE" }, "category", "marketing, utility or authentication"},
		{"parameter format unknown", func(d *Draft) { d.ParameterFormat = "mixed" }, "parameter_format", "numbered"},
		{"parameter format empty is positional", func(d *Draft) { d.ParameterFormat = "" }, "", ""},

		// Variables.
		{"positional in order", body("Hi {{1}}, order {{2}} shipped.", "1", "Pablo", "2", "860198"), "", ""},
		{"positional repeated", body("Hi {{1}}, order {{2}} is yours, {{1}}.", "1", "Pablo", "2", "860198"), "", ""},
		{"positional gap", body("Hi {{1}}, order {{3}} has shipped.", "1", "a", "3", "b"), "body.text", "Variables must be numbered in order: found {{1}} then {{3}}."},
		{"positional not from 1", body("Hi {{2}}, your order has shipped.", "2", "a"), "body.text", "must start at {{1}}: found {{2}} first"},
		{"positional out of order", body("Hi {{2}}, your order {{1}} shipped today.", "1", "a", "2", "b"), "body.text", "start at {{1}}"},
		{"zero", body("Hi {{0}}, your order has shipped.", "0", "a"), "body.text", "{{0}} is not a valid variable"},
		{"named in positional template", body("Hi {{first_name}}, your order has shipped.", "first_name", "Pablo"), "body.text", "uses numbered variables: replace {{first_name}} with {{1}}"},
		{"named", func(d *Draft) {
			d.ParameterFormat = ParameterFormatNamed
			d.Header = Header{Format: HeaderText, Text: "Order {{order_id}}", Example: "#1"}
			body("Hi {{first_name}}, order {{order_id}} shipped.", "first_name", "Pablo", "order_id", "860198")(d)
		}, "", ""},
		{"positional in named template", func(d *Draft) {
			d.ParameterFormat = ParameterFormatNamed
			d.Header = Header{Format: HeaderNone}
			body("Hi {{first_name}}, order {{2}} shipped today.", "first_name", "Pablo", "2", "860198")(d)
		}, "body.text", "uses named variables: replace {{2}}"},
		{"named upper case", func(d *Draft) {
			d.ParameterFormat = ParameterFormatNamed
			d.Header = Header{Format: HeaderNone}
			body("Hi {{FirstName}}, your order has shipped.", "FirstName", "Pablo")(d)
		}, "body.text", "{{FirstName}} is not a valid variable"},
		{"variable with spaces", body("Hi {{ 1 }}, your order has shipped.", "1", "a"), "body.text", "without spaces: {{1}}, not {{ 1 }}"},
		{"variable empty", body("Hi {{}}, your order has shipped."), "body.text", "A variable is empty"},
		{"variable not closed", body("Hi {{1, your order has shipped."), "body.text", "not closed"},
		{"adjacent", body("Dear customer {{1}} {{2}}, your order has shipped today.", "1", "a", "2", "b"), "body.text", "Put some words between {{1}} and {{2}}"},
		{"adjacent without space", body("Dear customer {{1}}{{2}}, your order has shipped.", "1", "a", "2", "b"), "body.text", "side by side"},
		{"starts with variable", body("{{1}}, your order has shipped.", "1", "Pablo"), "body.text", "cannot start with a variable"},
		{"starts with variable after spaces", body("  {{1}}, your order has shipped.", "1", "Pablo"), "body.text", "cannot start with a variable"},
		{"ends with variable", body("Your order has shipped, {{1}}", "1", "Pablo"), "body.text", "cannot end with a variable"},
		{"ends with punctuation after variable", body("Your order has shipped, {{1}}.", "1", "Pablo"), "", ""},
		// Our heuristic: 3 words of fixed text for every 2 variables.
		{"density at Meta's example", body("Hi {{1}}, order {{2}} shipped.", "1", "a", "2", "b"), "", ""},
		{"density too low", body("Hi {{1}}, {{2}} and {{3}}.", "1", "a", "2", "b", "3", "c"), "body.text", "3 variables need at least 5 words around them, and there are 2"},
		{"density punctuation is not a word", body("Hi {{1}} - {{2}} !", "1", "a", "2", "b"), "body.text", "Too many variables"},
		{"example missing", body("Hi {{1}}, order {{2}} shipped.", "1", "Pablo"), "body.examples.2", "Give an example for {{2}}"},
		{"example blank", body("Hi {{1}}, your order shipped.", "1", "  "), "body.examples.1", "Give an example for {{1}}"},
		{"example is a variable", body("Hi {{1}}, your order shipped.", "1", "{{1}}"), "body.examples.1", "sample value"},

		// Body.
		{"body missing", body(""), "body.text", "Enter the message text"},
		{"body 1024", body(long(1024)), "", ""},
		{"body too long", body(long(1025)), "body.text", "at most 1024 characters; this one has 1025"},
		{"body counts characters", body(strings.Repeat("ü", 1024)), "", ""},

		// Header.
		{"no header", func(d *Draft) { d.Header = Header{Format: HeaderNone} }, "", ""},
		{"header without variable", func(d *Draft) { d.Header = Header{Format: HeaderText, Text: "Your order"} }, "", ""},
		{"header 60", func(d *Draft) { d.Header = Header{Format: HeaderText, Text: long(60)} }, "", ""},
		{"header too long", func(d *Draft) { d.Header = Header{Format: HeaderText, Text: long(61)} }, "header.text", "at most 60 characters"},
		{"header two variables", func(d *Draft) {
			d.Header = Header{Format: HeaderText, Text: "Order {{1}} for {{2}}", Example: "x"}
		}, "header.text", "at most one variable"},
		{"header variable repeated", func(d *Draft) {
			d.Header = Header{Format: HeaderText, Text: "Order {{1}} or {{1}}", Example: "x"}
		}, "header.text", "at most one variable"},
		{"header variable example missing", func(d *Draft) { d.Header = Header{Format: HeaderText, Text: "Order {{1}}"} }, "header.example", "Give an example for {{1}}"},
		{"header variable not 1", func(d *Draft) { d.Header = Header{Format: HeaderText, Text: "Order {{2}}", Example: "x"} }, "header.text", "start at {{1}}"},
		{"header text empty", func(d *Draft) { d.Header = Header{Format: HeaderText} }, "header.text", "Enter the header text"},
		{"header on two lines", func(d *Draft) { d.Header = Header{Format: HeaderText, Text: "Your\norder"} }, "header.text", "one line"},
		{"image header", func(d *Draft) { d.Header = Header{Format: HeaderImage, MediaHandle: "4::aW1hZ2U="} }, "", ""},
		{"video header", func(d *Draft) { d.Header = Header{Format: HeaderVideo, MediaHandle: "4::dmlk"} }, "", ""},
		{"document header without sample", func(d *Draft) { d.Header = Header{Format: HeaderDocument} }, "header.media_handle", "Upload a sample document"},
		{"image header with text", func(d *Draft) { d.Header = Header{Format: HeaderImage, Text: "x", MediaHandle: "h"} }, "header.text", "no text"},
		{"location header", func(d *Draft) { d.Header = Header{Format: HeaderLocation} }, "header.format", "not supported"},
		{"unknown header", func(d *Draft) { d.Header = Header{Format: "GIF"} }, "header.format", "Choose a header"},

		// Footer.
		{"footer 60", func(d *Draft) { d.Footer = long(60) }, "", ""},
		{"footer too long", func(d *Draft) { d.Footer = long(61) }, "footer", "at most 60 characters"},
		{"footer variable", func(d *Draft) { d.Footer = "Sent to {{1}}" }, "footer", "cannot contain variables"},
		{"no footer", func(d *Draft) { d.Footer = "" }, "", ""},

		// Buttons.
		{"no buttons", buttons(), "", ""},
		{"ten buttons", buttons(qr("1"), qr("2"), qr("3"), qr("4"), qr("5"), qr("6"), qr("7"), link("https://x.com", ""), link("https://y.com", ""), phone("+4930123456")), "", ""},
		{"eleven buttons", buttons(qr("1"), qr("2"), qr("3"), qr("4"), qr("5"), qr("6"), qr("7"), qr("8"), link("https://x.com", ""), link("https://y.com", ""), phone("+4930123456")), "buttons", "at most 10 buttons"},
		{"quick reply 25", buttons(qr(long(25))), "", ""},
		{"quick reply too long", buttons(qr(long(26))), "buttons.0.text", "at most 25 characters"},
		{"quick reply without label", buttons(qr(" ")), "buttons.0.text", "Enter the button's label"},
		{"quick replies after others", buttons(link("https://x.com", ""), qr("Yes"), qr("No")), "", ""},
		{"quick replies interleaved", buttons(qr("Yes"), link("https://x.com", ""), qr("No")), "buttons", `Keep quick replies together: move "No"`},
		{"two URLs", buttons(link("https://x.com", ""), link("https://y.com/{{1}}", "a")), "", ""},
		{"three URLs", buttons(link("https://x.com", ""), link("https://y.com", ""), link("https://z.com", "")), "buttons", "at most 2 URL buttons"},
		{"URL with variable at the end", buttons(link("https://x.com/t/{{1}}", "abc")), "", ""},
		{"URL variable without example", buttons(link("https://x.com/t/{{1}}", "")), "buttons.0.example", "Give an example for {{1}}"},
		{"URL variable in the middle", buttons(link("https://x.com/{{1}}/track", "a")), "buttons.0.url", "at the end"},
		{"URL two variables", buttons(link("https://x.com/{{1}}/{{2}}", "a")), "buttons.0.url", "only one variable"},
		{"URL variable named", buttons(link("https://x.com/t/{{code}}", "a")), "buttons.0.url", "as {{1}}"},
		{"URL not absolute", buttons(link("x.com/track", "")), "buttons.0.url", "starting with https://"},
		{"URL other scheme", buttons(link("ftp://x.com/file", "")), "buttons.0.url", "https://"},
		{"URL missing", buttons(link("", "")), "buttons.0.url", "Enter the web address"},
		{"URL label missing", buttons(Button{Type: ButtonURL, URL: "https://x.com"}), "buttons.0.text", "label"},
		{"phone E.164", buttons(phone("+14155550123")), "", ""},
		{"phone without plus", buttons(phone("4930123456")), "buttons.0.phone_number", "international format"},
		{"phone with spaces", buttons(phone("+49 30 123456")), "buttons.0.phone_number", "international format"},
		{"two phones", buttons(phone("+4930123456"), phone("+4930123457")), "buttons", "at most one phone"},
		{"copy code", buttons(code("SUMMER25")), "", ""},
		{"copy code sample missing", buttons(code("")), "buttons.0.example", "sample code"},
		{"copy code sample too long", buttons(code(long(16))), "buttons.0.example", "at most 15"},
		{"two copy codes", buttons(code("A"), code("B")), "buttons", "at most one copy-code"},
		{"unknown button", buttons(Button{Type: "FLOW", Text: "Go"}), "buttons.0.type", "Choose a quick reply"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d := validDraft()
			tc.change(&d)
			fe := Validate(d)
			if tc.field == "" {
				if len(fe) != 0 {
					t.Fatalf("want valid, got %v", map[string]string(fe))
				}
				return
			}
			msg, ok := fe[tc.field]
			if !ok {
				t.Fatalf("want an error on %s, got %v", tc.field, map[string]string(fe))
			}
			if !strings.Contains(msg, tc.msg) {
				t.Fatalf("%s: message %q does not contain %q", tc.field, msg, tc.msg)
			}
		})
	}
}

func TestFieldErrorsKeepsFirstMessage(t *testing.T) {
	fe := FieldErrors{}
	fe.Add("name", "first")
	fe.Add("name", "second")
	if fe["name"] != "first" || fe.Err() == nil {
		t.Fatalf("got %v", fe)
	}
	if (FieldErrors{}).Err() != nil {
		t.Fatal("empty FieldErrors must be no error")
	}
}

func TestNormalizeDropsWhatTheOptionsMakeMeaningless(t *testing.T) {
	d := normalizeDraft(Draft{Name: " order ", Content: Content{
		Category: "utility",
		Header:   Header{Format: "text", Text: " Hello ", Example: "stale", MediaHandle: "h"},
		Body:     Body{Text: " Hi {{1}}, thanks. ", Examples: map[string]string{"1": " Ann ", "7": "gone"}},
		Buttons:  []Button{{Type: "copy_code", Text: "x", Example: "C1"}, {Type: "QUICK_REPLY", Text: "Ok", URL: "https://x"}},
	}})
	switch {
	case d.Name != "order", d.Category != CategoryUtility, d.ParameterFormat != ParameterFormatPositional:
		t.Fatalf("identity not tidied: %+v", d)
	case d.Header.Format != HeaderText || d.Header.Text != "Hello" || d.Header.Example != "" || d.Header.MediaHandle != "":
		t.Fatalf("header: %+v", d.Header)
	case d.Body.Text != "Hi {{1}}, thanks." || len(d.Body.Examples) != 1 || d.Body.Examples["1"] != "Ann":
		t.Fatalf("body: %+v", d.Body)
	case d.Buttons[0].Type != ButtonCopyCode || d.Buttons[0].Text != "" || d.Buttons[1].URL != "":
		t.Fatalf("buttons: %+v", d.Buttons)
	}
}
