package templates

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

// approvedTemplate is a template Meta approved, holding c.
func approvedTemplate(name string, c Content) Template {
	live := Revision{Number: 1, Status: StatusSubmitted, Content: c}
	return Template{ID: 1, Name: name, Language: "en_US", Content: c, Status: StatusSubmitted,
		MetaStatus: MetaApproved, MetaTemplateID: "1", Live: &live}
}

func TestBuildMessagePositional(t *testing.T) {
	c := validDraft().Content
	c.Buttons = append(c.Buttons, Button{Type: ButtonCopyCode, Example: "X"})
	msg, err := BuildMessage(approvedTemplate("order_shipped", c), Values{
		Header:  map[string]string{"1": "#42"},
		Body:    map[string]string{"1": "Jessica", "2": "A-7"},
		Buttons: map[int]string{0: "stop", 1: "trk-9", 2: "SAVE10"},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := `{"name":"order_shipped","language":{"code":"en_US"},"components":[
		{"type":"header","parameters":[{"type":"text","text":"#42"}]},
		{"type":"body","parameters":[{"type":"text","text":"Jessica"},{"type":"text","text":"A-7"}]},
		{"type":"button","sub_type":"quick_reply","index":"0","parameters":[{"type":"payload","payload":"stop"}]},
		{"type":"button","sub_type":"url","index":"1","parameters":[{"type":"text","text":"trk-9"}]},
		{"type":"button","sub_type":"copy_code","index":"2","parameters":[{"type":"coupon_code","coupon_code":"SAVE10"}]}]}`
	assertJSON(t, msg, want)
}

func TestBuildMessageNamed(t *testing.T) {
	c := Content{Category: CategoryMarketing, ParameterFormat: ParameterFormatNamed,
		Header: Header{Format: HeaderText, Text: "For {{first_name}}", Example: "Ann"},
		Body:   Body{Text: "Hello {{first_name}}, your code is {{code}} today.", Examples: map[string]string{"first_name": "Ann", "code": "1"}}}
	msg, err := BuildMessage(approvedTemplate("promo", c), Values{
		Header: map[string]string{"first_name": "Jessica"},
		Body:   map[string]string{"code": "77", "first_name": "Jessica"},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := `{"name":"promo","language":{"code":"en_US"},"components":[
		{"type":"header","parameters":[{"type":"text","parameter_name":"first_name","text":"Jessica"}]},
		{"type":"body","parameters":[{"type":"text","parameter_name":"first_name","text":"Jessica"},{"type":"text","parameter_name":"code","text":"77"}]}]}`
	assertJSON(t, msg, want)
}

func TestBuildMessageMediaHeaderAndStaticTemplate(t *testing.T) {
	c := Content{Category: CategoryUtility, Header: Header{Format: HeaderDocument, MediaHandle: "h"}, Body: Body{Text: "Your invoice."}}
	msg, err := BuildMessage(approvedTemplate("invoice", c), Values{HeaderMedia: &Media{ID: "m1", Filename: "invoice.pdf"}})
	if err != nil {
		t.Fatal(err)
	}
	assertJSON(t, msg, `{"name":"invoice","language":{"code":"en_US"},"components":[
		{"type":"header","parameters":[{"type":"document","document":{"id":"m1","filename":"invoice.pdf"}}]}]}`)

	static := Content{Category: CategoryUtility, Body: Body{Text: "Thanks for your order."}}
	msg, err = BuildMessage(approvedTemplate("thanks", static), Values{})
	if err != nil {
		t.Fatal(err)
	}
	assertJSON(t, msg, `{"name":"thanks","language":{"code":"en_US"}}`)
}

// The revision Meta holds is sent, not an edit in progress.
func TestBuildMessageSendsTheLiveRevision(t *testing.T) {
	tpl := approvedTemplate("order_shipped", validDraft().Content)
	tpl.Content.Body = Body{Text: "Edited {{1}} {{2}} {{3}} text.", Examples: map[string]string{}}
	tpl.Status = StatusDraft
	_, err := BuildMessage(tpl, Values{Header: map[string]string{"1": "#1"}, Body: map[string]string{"1": "a", "2": "b"}, Buttons: map[int]string{1: "x"}})
	if err != nil {
		t.Fatalf("the live revision has two variables: %v", err)
	}
}

func TestBuildMessageRefuses(t *testing.T) {
	ok := func() (Template, Values) {
		return approvedTemplate("order_shipped", validDraft().Content), Values{
			Header: map[string]string{"1": "#1"}, Body: map[string]string{"1": "a", "2": "b"}, Buttons: map[int]string{1: "x"}}
	}
	cases := []struct {
		name   string
		change func(*Template, *Values)
		msg    string
	}{
		{"pending", func(t *Template, _ *Values) { t.MetaStatus = MetaPending }, "Meta is still reviewing it"},
		{"paused", func(t *Template, _ *Values) { t.MetaStatus = MetaPaused }, "Meta has not approved it (status PAUSED)"},
		{"rejected", func(t *Template, _ *Values) { t.MetaStatus = MetaRejected }, "status REJECTED"},
		{"never submitted", func(t *Template, _ *Values) { t.Live = nil; t.MetaStatus = "" }, "has not been submitted"},
		{"deleted", func(t *Template, _ *Values) { t.Status = StatusDeleted }, "deleted"},
		{"body value missing", func(_ *Template, v *Values) { delete(v.Body, "2") }, "the message needs a value for {{2}}"},
		{"body values missing", func(_ *Template, v *Values) { v.Body = nil }, "the message needs values for {{1}}, {{2}}"},
		{"body value blank", func(_ *Template, v *Values) { v.Body["1"] = " " }, "needs a value for {{1}}"},
		{"body value extra", func(_ *Template, v *Values) { v.Body["3"] = "c" }, "the message has 2 variables and no {{3}}"},
		{"body value with line break", func(_ *Template, v *Values) { v.Body["1"] = "a\nb" }, "line breaks"},
		{"body value with many spaces", func(_ *Template, v *Values) { v.Body["1"] = "a     b" }, "more than four spaces"},
		{"header value missing", func(_ *Template, v *Values) { v.Header = nil }, "the header needs a value for {{1}}"},
		{"URL value missing", func(_ *Template, v *Values) { v.Buttons = nil }, `button 2 ("Track") needs a value`},
		{"value for a button without variable", func(_ *Template, v *Values) { v.Buttons[5] = "x" }, "no button 6"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tpl, v := ok()
			tc.change(&tpl, &v)
			_, err := BuildMessage(tpl, v)
			if !errors.Is(err, ErrNotSendable) || !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("got %v, want ErrNotSendable with %q", err, tc.msg)
			}
		})
	}
}

// assertJSON compares v's JSON with want, ignoring layout.
func assertJSON(t *testing.T, v any, want string) {
	t.Helper()
	got, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatalf("want is not JSON: %v", err)
	}
	gb, _ := json.Marshal(g)
	wb, _ := json.Marshal(w)
	if string(gb) != string(wb) {
		t.Fatalf("got  %s\nwant %s", gb, wb)
	}
}
