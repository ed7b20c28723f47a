package templates

import (
	"encoding/json"
	"reflect"
	"testing"
)

// The creation request is byte-for-byte the shape of the wire facts' example.
func TestCreateRequestMatchesMetaShape(t *testing.T) {
	c := Content{
		Category: CategoryUtility, ParameterFormat: ParameterFormatPositional,
		Header: Header{Format: HeaderText, Text: "Order {{1}}", Example: "#123"},
		Body:   Body{Text: "Hi {{1}}, order {{2}} shipped.", Examples: map[string]string{"1": "Pablo", "2": "860198"}},
		Footer: "Lucky Shrub",
		Buttons: []Button{
			{Type: ButtonQuickReply, Text: "Stop"},
			{Type: ButtonURL, Text: "Track", URL: "https://x.com/t/{{1}}", Example: "abc"},
		},
	}
	want := `{"name":"order_confirmation","language":"en_US","category":"UTILITY","parameter_format":"positional","components":[
 {"type":"HEADER","format":"TEXT","text":"Order {{1}}","example":{"header_text":["#123"]}},
 {"type":"BODY","text":"Hi {{1}}, order {{2}} shipped.","example":{"body_text":[["Pablo","860198"]]}},
 {"type":"FOOTER","text":"Lucky Shrub"},
 {"type":"BUTTONS","buttons":[{"type":"QUICK_REPLY","text":"Stop"},{"type":"URL","text":"Track","url":"https://x.com/t/{{1}}","example":["abc"]}]}]}`
	assertJSON(t, createRequest("order_confirmation", "en_US", c), want)
}

func TestComponentsNamedMediaAndCopyCode(t *testing.T) {
	c := Content{
		Category: CategoryMarketing, ParameterFormat: ParameterFormatNamed,
		Header: Header{Format: HeaderImage, MediaHandle: "4::aW1n"},
		Body: Body{Text: "Hi {{first_name}}, take {{discount}} off today.",
			Examples: map[string]string{"first_name": "Pablo", "discount": "15%"}},
		Buttons: []Button{{Type: ButtonCopyCode, Example: "SAVE15"}, {Type: ButtonPhoneNumber, Text: "Call", PhoneNumber: "+4930123456"}},
	}
	want := `[
 {"type":"HEADER","format":"IMAGE","example":{"header_handle":["4::aW1n"]}},
 {"type":"BODY","text":"Hi {{first_name}}, take {{discount}} off today.","example":{"body_text_named_params":[
   {"param_name":"first_name","example":"Pablo"},{"param_name":"discount","example":"15%"}]}},
 {"type":"BUTTONS","buttons":[{"type":"COPY_CODE","example":"SAVE15"},{"type":"PHONE_NUMBER","text":"Call","phone_number":"+4930123456"}]}]`
	assertJSON(t, components(c), want)

	named := Content{ParameterFormat: ParameterFormatNamed, Header: Header{Format: HeaderText, Text: "For {{first_name}}", Example: "Ann"}, Body: Body{Text: "Hi."}}
	assertJSON(t, components(named)[0], `{"type":"HEADER","format":"TEXT","text":"For {{first_name}}",
		"example":{"header_text_named_params":[{"param_name":"first_name","example":"Ann"}]}}`)
}

// What Switchboard writes, it reads back the same from Meta's list.
func TestContentRoundTripsThroughComponents(t *testing.T) {
	for _, c := range []Content{
		normalizeContent(validDraft().Content),
		normalizeContent(Content{Category: CategoryMarketing, ParameterFormat: ParameterFormatNamed,
			Header: Header{Format: HeaderVideo, MediaHandle: "h"},
			Body:   Body{Text: "Hi {{name}}, see {{what}} now.", Examples: map[string]string{"name": "A", "what": "B"}},
			Buttons: []Button{{Type: ButtonCopyCode, Example: "C"}, {Type: ButtonQuickReply, Text: "No"},
				{Type: ButtonPhoneNumber, Text: "Call", PhoneNumber: "+4930123456"}}}),
	} {
		raw, err := json.Marshal(RemoteTemplate{Category: string(c.Category), ParameterFormat: string(c.ParameterFormat), Components: components(c)})
		if err != nil {
			t.Fatal(err)
		}
		var rt RemoteTemplate
		if err := json.Unmarshal(raw, &rt); err != nil {
			t.Fatal(err)
		}
		if got := contentOf(rt); !reflect.DeepEqual(got, c) {
			t.Fatalf("round trip\n got %+v\nwant %+v", got, c)
		}
	}
}

func TestWireButtonReadsEitherExampleShape(t *testing.T) {
	var bs []WireButton
	err := json.Unmarshal([]byte(`[{"type":"URL","text":"T","url":"https://x/{{1}}","example":["a"]},
		{"type":"COPY_CODE","example":"C"},{"type":"OTP","otp_type":"COPY_CODE","text":"Copy"},{"type":"QUICK_REPLY","text":"Q","example":null}]`), &bs)
	if err != nil {
		t.Fatal(err)
	}
	want := []WireButton{
		{Type: "URL", Text: "T", URL: "https://x/{{1}}", Example: []string{"a"}},
		{Type: "COPY_CODE", Example: []string{"C"}},
		{Type: "OTP", Text: "Copy", OTPType: "COPY_CODE"},
		{Type: "QUICK_REPLY", Text: "Q"},
	}
	if !reflect.DeepEqual(bs, want) {
		t.Fatalf("got %+v", bs)
	}
}

// A page of Meta's list decodes into ListPage, unknown fields ignored.
func TestListPageDecodesMetaJSON(t *testing.T) {
	raw := `{"data":[{"id":"1689556908129832","name":"abandoned_cart","language":"en","status":"REJECTED",
		"category":"MARKETING","parameter_format":"POSITIONAL","rejected_reason":"INVALID_FORMAT","quality_score":{"score":"GREEN","date":1},
		"components":[{"type":"BODY","text":"Hi {{1}}, your cart waits.","example":{"body_text":[["Ann"]]}}]}],
		"paging":{"cursors":{"before":"b","after":"a"},"next":"https://graph.facebook.com/v23.0/x?after=a"}}`
	var p ListPage
	if err := json.Unmarshal([]byte(raw), &p); err != nil {
		t.Fatal(err)
	}
	rt := p.Data[0]
	if rt.ID != "1689556908129832" || rt.QualityScore.Score != "GREEN" || p.Paging.Cursors.After != "a" || p.Paging.Next == "" {
		t.Fatalf("got %+v", p)
	}
	c := contentOf(rt)
	if c.ParameterFormat != ParameterFormatPositional || c.Body.Examples["1"] != "Ann" || c.Header.Format != HeaderNone {
		t.Fatalf("content %+v", c)
	}
}
