package whatsapp

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

// envelope wraps one "messages" value in Meta's webhook envelope.
func envelope(value string) string {
	return `{"object":"whatsapp_business_account","entry":[{"id":"102290129340398","changes":[{"field":"messages","value":{
 "messaging_product":"whatsapp",
 "metadata":{"display_phone_number":"15550783881","phone_number_id":"106540352242922"},` + value + `}}]}]}`
}

// inbound wraps one message object with Sheena's contact.
func inbound(message string) string {
	return envelope(`"contacts":[{"profile":{"name":"Sheena Nelson"},"wa_id":"16505551234"}],"messages":[` + message + `]`)
}

func mustEvents(t *testing.T, body string) []Event {
	t.Helper()
	w, err := ParseWebhook([]byte(body))
	if err != nil {
		t.Fatalf("ParseWebhook: %v", err)
	}
	return w.Events()
}

func oneInbound(t *testing.T, body string) InboundMessage {
	t.Helper()
	evs := mustEvents(t, body)
	if len(evs) != 1 {
		t.Fatalf("got %d events, want 1: %#v", len(evs), evs)
	}
	in, ok := evs[0].(InboundMessage)
	if !ok {
		t.Fatalf("event is %T, want InboundMessage", evs[0])
	}
	return in
}

// The three examples of the wire-facts file, verbatim (the wamid shortened the same way).
const (
	specIncoming = `{"object":"whatsapp_business_account","entry":[{"id":"<WABA_ID>","changes":[{"field":"messages","value":{
 "messaging_product":"whatsapp",
 "metadata":{"display_phone_number":"15550783881","phone_number_id":"106540352242922"},
 "contacts":[{"profile":{"name":"Sheena Nelson"},"wa_id":"16505551234"}],
 "messages":[{"from":"16505551234","id":"wamid.HBgL…","timestamp":"1749416383","type":"text","text":{"body":"Hi"}}]}}]}]}`
	specStatus = `{"id":"wamid…","status":"sent","timestamp":"1750030073","recipient_id":"16505551234",
 "pricing":{"billable":true,"pricing_model":"PMP","type":"regular","category":"marketing"},
 "conversation":{"id":"72b1…","origin":{"type":"marketing"}}}`
	specTemplateStatus = `{"event":"REJECTED","message_template_id":1689556908129835,"message_template_name":"abandoned_cart",
 "message_template_language":"en","reason":"INVALID_FORMAT","message_template_category":"MARKETING"}`
)

func TestParseSpecIncoming(t *testing.T) {
	in := oneInbound(t, specIncoming)
	want := InboundMessage{
		WABAID: "<WABA_ID>", PhoneNumberID: "106540352242922", DisplayPhone: "15550783881",
		From: "16505551234", WaID: "16505551234", ContactName: "Sheena Nelson", MessageID: "wamid.HBgL…",
		Timestamp: time.Date(2025, 6, 8, 20, 59, 43, 0, time.UTC), Type: "text", Text: "Hi",
	}
	in.Message, in.Raw = Message{}, nil
	if fmt.Sprint(in) != fmt.Sprint(want) {
		t.Fatalf("got  %+v\nwant %+v", in, want)
	}
	if in.Timestamp.Location() != time.UTC {
		t.Fatal("timestamps must be UTC")
	}
}

func TestParseSpecStatus(t *testing.T) {
	evs := mustEvents(t, envelope(`"statuses":[`+specStatus+`]`))
	if len(evs) != 1 {
		t.Fatalf("%d events", len(evs))
	}
	st := evs[0].(StatusUpdate)
	if st.MessageID != "wamid…" || st.Status != StatusSent || st.RecipientID != "16505551234" ||
		st.ConversationID != "72b1…" || st.PhoneNumberID != "106540352242922" || st.WABAID != "102290129340398" {
		t.Fatalf("status %+v", st)
	}
	if st.Timestamp != time.Unix(1750030073, 0).UTC() {
		t.Fatalf("timestamp %v", st.Timestamp)
	}
	if p := st.Pricing; p == nil || !p.Billable || p.PricingModel != "PMP" || p.Type != "regular" || p.Category != "marketing" {
		t.Fatalf("pricing %+v", st.Pricing)
	}
	if !strings.Contains(string(st.Raw), `"origin":{"type":"marketing"}`) {
		t.Fatalf("raw not kept: %s", st.Raw)
	}
}

func TestParseSpecTemplateStatus(t *testing.T) {
	body := `{"object":"whatsapp_business_account","entry":[{"id":"102290129340398","time":1750030073,"changes":[{"field":"message_template_status_update","value":` + specTemplateStatus + `}]}]}`
	evs := mustEvents(t, body)
	ts, ok := evs[0].(TemplateStatus)
	if !ok || len(evs) != 1 {
		t.Fatalf("events %#v", evs)
	}
	want := TemplateStatus{WABAID: "102290129340398", TemplateID: "1689556908129835", Name: "abandoned_cart",
		Language: "en", Event: "REJECTED", Reason: "INVALID_FORMAT", Category: "MARKETING"}
	ts.Raw = nil
	if fmt.Sprint(ts) != fmt.Sprint(want) {
		t.Fatalf("got %+v", ts)
	}
	// A template id as a string (as everywhere else in the API) and a null reason also parse.
	body = strings.Replace(body, `1689556908129835`, `"1689556908129835"`, 1)
	body = strings.Replace(body, `"INVALID_FORMAT"`, `null`, 1)
	ts = mustEvents(t, body)[0].(TemplateStatus)
	if ts.TemplateID != "1689556908129835" || ts.Reason != "" {
		t.Fatalf("got %+v", ts)
	}
}

func TestParseMessageTypes(t *testing.T) {
	tests := []struct {
		name    string
		message string
		text    string
		replyTo string
		check   func(t *testing.T, m Message)
	}{
		{"text", `{"from":"16505551234","id":"wamid.1","timestamp":"1749416383","type":"text","text":{"body":"Hello there"}}`, "Hello there", "", nil},
		{"image with caption", `{"from":"16505551234","id":"wamid.2","timestamp":"1749416383","type":"image","image":{"caption":"My receipt","mime_type":"image/jpeg","sha256":"abc=","id":"1003383421387256"}}`, "My receipt", "",
			func(t *testing.T, m Message) {
				if md := m.Media(); md == nil || md.ID != "1003383421387256" || md.MimeType != "image/jpeg" || md.SHA256 != "abc=" {
					t.Fatalf("media %+v", m.Media())
				}
			}},
		{"image without caption", `{"from":"16505551234","id":"wamid.3","timestamp":"1749416383","type":"image","image":{"mime_type":"image/jpeg","sha256":"x","id":"1"}}`, "[image]", "", nil},
		{"video", `{"from":"16505551234","id":"wamid.4","timestamp":"1749416383","type":"video","video":{"mime_type":"video/mp4","sha256":"x","id":"2","caption":"Look"}}`, "Look", "", nil},
		{"voice audio", `{"from":"16505551234","id":"wamid.5","timestamp":"1749416383","type":"audio","audio":{"mime_type":"audio/ogg; codecs=opus","sha256":"x","id":"3","voice":true}}`, "[voice message]", "", nil},
		{"document", `{"from":"16505551234","id":"wamid.6","timestamp":"1749416383","type":"document","document":{"filename":"invoice.pdf","mime_type":"application/pdf","sha256":"x","id":"4"}}`, "[document: invoice.pdf]", "", nil},
		{"sticker", `{"from":"16505551234","id":"wamid.7","timestamp":"1749416383","type":"sticker","sticker":{"mime_type":"image/webp","sha256":"x","id":"5","animated":false}}`, "[sticker]", "", nil},
		{"button reply", `{"context":{"from":"15550783881","id":"wamid.out1"},"from":"16505551234","id":"wamid.8","timestamp":"1749416383","type":"interactive","interactive":{"type":"button_reply","button_reply":{"id":"yes","title":"Yes please"}}}`, "Yes please", "wamid.out1", nil},
		{"list reply", `{"context":{"from":"15550783881","id":"wamid.out2"},"from":"16505551234","id":"wamid.9","timestamp":"1749416383","type":"interactive","interactive":{"type":"list_reply","list_reply":{"id":"priority","title":"Priority mail","description":"Next day"}}}`, "Priority mail", "wamid.out2",
			func(t *testing.T, m Message) {
				if m.Interactive.ListReply.Description != "Next day" {
					t.Fatalf("list reply %+v", m.Interactive.ListReply)
				}
			}},
		{"template quick reply", `{"context":{"from":"15550783881","id":"wamid.tpl"},"from":"16505551234","id":"wamid.10","timestamp":"1749416383","type":"button","button":{"payload":"STOP","text":"Stop promotions"}}`, "Stop promotions", "wamid.tpl", nil},
		{"reaction", `{"from":"16505551234","id":"wamid.11","timestamp":"1749416383","type":"reaction","reaction":{"message_id":"wamid.out3","emoji":"👍"}}`, "[reacted 👍]", "",
			func(t *testing.T, m Message) {
				if m.Reaction.MessageID != "wamid.out3" {
					t.Fatal(m.Reaction)
				}
			}},
		{"location", `{"from":"16505551234","id":"wamid.12","timestamp":"1749416383","type":"location","location":{"address":"1 Hacker Way, Menlo Park, CA 94025","latitude":37.483307,"longitude":-122.148981,"name":"Main Street Beach","url":"https://example.com"}}`, "[location: Main Street Beach, 1 Hacker Way, Menlo Park, CA 94025]", "", nil},
		{"bare location", `{"from":"16505551234","id":"wamid.12b","timestamp":"1749416383","type":"location","location":{"latitude":37.483307,"longitude":-122.148981}}`, "[location: 37.48331, -122.14898]", "", nil},
		{"contacts", `{"from":"16505551234","id":"wamid.13","timestamp":"1749416383","type":"contacts","contacts":[{"addresses":[{"city":"Menlo Park"}],"name":{"formatted_name":"Barbara J. Johnson","first_name":"Barbara"},"phones":[{"phone":"+1 (940) 555-1234","wa_id":"19405551234","type":"HOME"}]}]}`, "[contact: Barbara J. Johnson]", "",
			func(t *testing.T, m Message) {
				if m.Contacts[0].Phones[0].WaID != "19405551234" || !strings.Contains(string(m.Raw), "Menlo Park") {
					t.Fatalf("contacts %+v / raw %s", m.Contacts, m.Raw)
				}
			}},
		{"order", `{"from":"16505551234","id":"wamid.14","timestamp":"1749416383","type":"order","order":{"catalog_id":"194836987003835","text":"Ship fast","product_items":[{"product_retailer_id":"di9ozbzfi4","quantity":2,"item_price":30,"currency":"USD"},{"product_retailer_id":"x","quantity":"1","item_price":"9.5","currency":"USD"}]}}`, "[order: 2 items] Ship fast", "",
			func(t *testing.T, m Message) {
				if m.Order.ProductItems[0].Quantity != "2" || m.Order.ProductItems[1].ItemPrice != "9.5" {
					t.Fatalf("order %+v", m.Order)
				}
			}},
		{"unsupported", `{"from":"16505551234","id":"wamid.15","timestamp":"1749416383","type":"unsupported","errors":[{"code":131051,"title":"Message type unknown","message":"Message type unknown","error_data":{"details":"Message type is currently not supported."}}]}`, "[unsupported message: Message type unknown]", "",
			func(t *testing.T, m Message) {
				if len(m.Errors) != 1 || m.Errors[0].Code != CodeUnsupportedType || m.Errors[0].Details() != "Message type is currently not supported." {
					t.Fatalf("errors %+v", m.Errors)
				}
			}},
		{"forwarded text", `{"context":{"forwarded":true},"from":"16505551234","id":"wamid.16","timestamp":"1749416383","type":"text","text":{"body":"fwd"}}`, "fwd", "", nil},
		// Meta's "Media messages" reference: a document with a caption keeps its file name.
		{"document with caption", `{"from":"16505551234","id":"wamid.17","timestamp":"1749416383","type":"document","document":{"caption":"Lucky Shrub Invoice","filename":"lucky-shrub-invoice.pdf","mime_type":"application/pdf","sha256":"Y2FmZQ==","id":"1003383421387256"}}`, "Lucky Shrub Invoice", "",
			func(t *testing.T, m Message) {
				if m.Document.Filename != "lucky-shrub-invoice.pdf" {
					t.Fatalf("document %+v", m.Document)
				}
			}},
		// Meta's "Edit messages" reference: the new content of an earlier message.
		{"edit", `{"from":"16505551234","id":"wamid.18","timestamp":"1749416383","type":"edit","edit":{"original_message_id":"wamid.1","message":{"context":{"id":"wamid.1"},"type":"text","text":{"body":"Hello there, edited"}}}}`, "Hello there, edited", "",
			func(t *testing.T, m Message) {
				if m.Edit.OriginalMessageID != "wamid.1" || m.Edit.Message.Text.Body != "Hello there, edited" {
					t.Fatalf("edit %+v", m.Edit)
				}
			}},
		// Meta's "Revoke messages" reference.
		{"revoke", `{"from":"16505551234","id":"wamid.19","timestamp":"1749416383","type":"revoke","revoke":{"original_message_id":"wamid.1"}}`, "[deleted a message]", "",
			func(t *testing.T, m Message) {
				if m.Revoke.OriginalMessageID != "wamid.1" {
					t.Fatalf("revoke %+v", m.Revoke)
				}
			}},
		// Meta's "Reaction messages" reference: a removed reaction has no emoji field.
		{"reaction removed", `{"from":"16505551234","id":"wamid.20","timestamp":"1749416383","type":"reaction","reaction":{"message_id":"wamid.out3"}}`, "[removed a reaction]", "", nil},
		// Meta's "Interactive messages" reference, with errors[] for an interactive message that could not be processed.
		{"interactive with errors", `{"from":"16505551234","id":"wamid.21","timestamp":"1749416383","type":"interactive","errors":[{"code":131051,"title":"Message type unknown","message":"Message type unknown","error_data":{"details":"Message type is currently not supported."}}]}`, "[interactive message not delivered: Message type unknown]", "", nil},
		{"flow reply", `{"context":{"from":"15550783881","id":"wamid.flow"},"from":"16505551234","id":"wamid.22","timestamp":"1749416383","type":"interactive","interactive":{"type":"nfm_reply","nfm_reply":{"response_json":"{\"flow_token\":\"t\",\"size\":\"large\"}","body":"Sent","name":"flow"}}}`, "Sent", "wamid.flow", nil},
		// Meta's "Referral" (click-to-WhatsApp ad) example.
		{"referral", `{"referral":{"source_url":"https://fb.me/2ZulEu42P","source_id":"120226305854810726","source_type":"ad","headline":"Chat with us","body":"Free delivery on olive trees","media_type":"image","image_url":"https://scontent.xx.fbcdn.net/v/t45.1","ctwa_clid":"ARAkLkA8rmlFeiCktEJQ"},"from":"16505551234","id":"wamid.23","timestamp":"1749416383","type":"text","text":{"body":"Is this still on?"}}`, "Is this still on?", "",
			func(t *testing.T, m Message) {
				if m.Referral == nil || m.Referral.Headline != "Chat with us" || m.Referral.SourceType != "ad" {
					t.Fatalf("referral %+v", m.Referral)
				}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := oneInbound(t, inbound(tt.message))
			if in.Text != tt.text || in.ReplyTo != tt.replyTo {
				t.Fatalf("Text = %q, ReplyTo = %q; want %q, %q", in.Text, in.ReplyTo, tt.text, tt.replyTo)
			}
			if in.From != "16505551234" || in.ContactName != "Sheena Nelson" {
				t.Fatalf("From %q name %q", in.From, in.ContactName)
			}
			if !json.Valid(in.Raw) || !strings.Contains(string(in.Raw), in.MessageID) {
				t.Fatalf("raw %s", in.Raw)
			}
			if tt.check != nil {
				tt.check(t, in.Message)
			}
		})
	}
}

func TestUnknownTypeAndFieldsPreserved(t *testing.T) {
	msg := `{"from":"16505551234","id":"wamid.new","timestamp":"1749416383","type":"hologram","hologram":{"frames":3},"brand_new_field":{"x":[1,2]}}`
	in := oneInbound(t, inbound(msg))
	if in.Type != "hologram" || in.Text != "[hologram]" {
		t.Fatalf("type %q text %q", in.Type, in.Text)
	}
	if string(in.Raw) != msg {
		t.Fatalf("raw changed:\n got %s\nwant %s", in.Raw, msg)
	}
	// Unknown status fields survive too.
	st := mustEvents(t, envelope(`"statuses":[{"id":"wamid.s","status":"delivered","timestamp":"1","recipient_id":"1","future":{"a":1}}]`))[0].(StatusUpdate)
	if !strings.Contains(string(st.Raw), `"future":{"a":1}`) {
		t.Fatalf("status raw %s", st.Raw)
	}
}

func TestUserIDWithoutWaID(t *testing.T) {
	body := envelope(`"contacts":[{"profile":{"name":"Ana","username":"@ana"},"user_id":"US.13491208655302741918"}],
	 "messages":[{"from_user_id":"US.13491208655302741918","id":"wamid.u","timestamp":"1749416383","type":"text","text":{"body":"hola"}}]`)
	in := oneInbound(t, body)
	if in.From != "US.13491208655302741918" || in.WaID != "" || in.UserID != "US.13491208655302741918" ||
		in.ContactName != "Ana" || in.Username != "@ana" {
		t.Fatalf("%+v", in)
	}
	// A message with neither from nor from_user_id takes the lone contact's user id.
	body = envelope(`"contacts":[{"profile":{"name":"Ana"},"user_id":"BR.1502576394655843"}],
	 "messages":[{"id":"wamid.u2","timestamp":"1749416383","type":"text","text":{"body":"oi"}}]`)
	if in := oneInbound(t, body); in.From != "BR.1502576394655843" || in.ContactName != "Ana" {
		t.Fatalf("%+v", in)
	}
	// Both ids present: wa_id stays the primary From, the user id is kept alongside.
	body = envelope(`"contacts":[{"profile":{"name":"Bo"},"wa_id":"16505550000","user_id":"US.1"}],
	 "messages":[{"from":"16505550000","id":"wamid.u3","timestamp":"1749416383","type":"text","text":{"body":"hi"}}]`)
	if in := oneInbound(t, body); in.From != "16505550000" || in.UserID != "US.1" {
		t.Fatalf("%+v", in)
	}
}

func TestSystemMessageWithoutContacts(t *testing.T) {
	body := envelope(`"messages":[{"from":"16505551234","id":"wamid.sys","timestamp":"1749416383","type":"system",
	 "system":{"body":"User Sheena changed from 16505551234 to 16505559999","new_wa_id":"16505559999","type":"user_changed_number"}}]`)
	in := oneInbound(t, body)
	if in.From != "16505551234" || in.ContactName != "" || in.Text != "User Sheena changed from 16505551234 to 16505559999" ||
		in.Message.System.NewWaID != "16505559999" {
		t.Fatalf("%+v", in)
	}
}

func TestThousandChanges(t *testing.T) {
	var changes []string
	for i := range 1000 {
		if i%2 == 0 {
			changes = append(changes, fmt.Sprintf(`{"field":"messages","value":{"messaging_product":"whatsapp","metadata":{"display_phone_number":"15550783881","phone_number_id":"106540352242922"},"contacts":[{"profile":{"name":"C%d"},"wa_id":"1650555%04d"}],"messages":[{"from":"1650555%04d","id":"wamid.%d","timestamp":"1749416383","type":"text","text":{"body":"m%d"}}]}}`, i, i, i, i, i))
		} else {
			changes = append(changes, fmt.Sprintf(`{"field":"messages","value":{"messaging_product":"whatsapp","metadata":{"display_phone_number":"15550783881","phone_number_id":"106540352242922"},"statuses":[{"id":"wamid.out%d","status":"read","timestamp":"1749416383","recipient_id":"16505551234"}]}}`, i))
		}
	}
	body := `{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[` + strings.Join(changes, ",") + `]}]}`
	evs := mustEvents(t, body)
	if len(evs) != 1000 {
		t.Fatalf("%d events", len(evs))
	}
	for i, ev := range evs {
		switch e := ev.(type) {
		case InboundMessage:
			if i%2 != 0 || e.MessageID != fmt.Sprintf("wamid.%d", i) || e.ContactName != fmt.Sprintf("C%d", i) {
				t.Fatalf("event %d: %+v", i, e)
			}
		case StatusUpdate:
			if i%2 != 1 || e.MessageID != fmt.Sprintf("wamid.out%d", i) {
				t.Fatalf("event %d: %+v", i, e)
			}
		default:
			t.Fatalf("event %d is %T", i, ev)
		}
	}
}

func TestOtherKinds(t *testing.T) {
	wrap := func(field, value string) string {
		return `{"object":"whatsapp_business_account","entry":[{"id":"9","changes":[{"value":` + value + `,"field":"` + field + `"}]}]}`
	}
	t.Run("template quality", func(t *testing.T) {
		ev := mustEvents(t, wrap(FieldTemplateQuality, `{"previous_quality_score":"GREEN","new_quality_score":"YELLOW","message_template_id":806312974732579,"message_template_name":"welcome","message_template_language":"en_US"}`))[0]
		q := ev.(TemplateQuality)
		if q.TemplateID != "806312974732579" || q.PreviousScore != "GREEN" || q.NewScore != "YELLOW" || q.WABAID != "9" {
			t.Fatalf("%+v", q)
		}
	})
	t.Run("phone quality", func(t *testing.T) {
		q := mustEvents(t, wrap(FieldPhoneNumberQuality, `{"display_phone_number":"15550783881","event":"UPGRADE","current_limit":"TIER_10K"}`))[0].(PhoneNumberQuality)
		if q.Event != "UPGRADE" || q.CurrentLimit != "TIER_10K" {
			t.Fatalf("%+v", q)
		}
	})
	t.Run("unknown field", func(t *testing.T) {
		o := mustEvents(t, wrap("business_capability_update", `{"max_daily_conversation_per_phone":1000}`))[0].(OtherChange)
		if o.Field != "business_capability_update" || string(o.Raw) != `{"max_daily_conversation_per_phone":1000}` || o.Err != nil {
			t.Fatalf("%+v", o)
		}
	})
	// Meta's account_update reference examples.
	t.Run("account verified", func(t *testing.T) {
		a := mustEvents(t, wrap(FieldAccountUpdate, `{"phone_number":"15550783881","event":"VERIFIED_ACCOUNT"}`))[0].(AccountUpdated)
		if a.Event != "VERIFIED_ACCOUNT" || a.Phone != "15550783881" || a.WABAID != "9" {
			t.Fatalf("%+v", a)
		}
	})
	t.Run("account banned", func(t *testing.T) {
		a := mustEvents(t, wrap(FieldAccountUpdate, `{"event":"DISABLED_UPDATE","ban_info":{"waba_ban_state":["DISABLE"],"waba_ban_date":"2026-06-01"}}`))[0].(AccountUpdated)
		if a.Event != "DISABLED_UPDATE" || a.Detail != "ban: DISABLE; ban date 2026-06-01" {
			t.Fatalf("%+v", a)
		}
	})
	t.Run("account violation", func(t *testing.T) {
		a := mustEvents(t, wrap(FieldAccountUpdate, `{"event":"ACCOUNT_VIOLATION","violation_info":{"violation_type":"SCAM"}}`))[0].(AccountUpdated)
		if a.Detail != "violation: SCAM" {
			t.Fatalf("%+v", a)
		}
	})
	// Meta's phone_number_name_update reference example.
	t.Run("phone name", func(t *testing.T) {
		n := mustEvents(t, wrap(FieldPhoneNumberName, `{"display_phone_number":"15550783881","decision":"APPROVED","requested_verified_name":"Lucky Shrub","rejection_reason":null}`))[0].(PhoneNumberName)
		if n.Decision != "APPROVED" || n.RequestedName != "Lucky Shrub" || n.DisplayPhone != "15550783881" {
			t.Fatalf("%+v", n)
		}
	})
	t.Run("phone quality flagged", func(t *testing.T) {
		q := mustEvents(t, wrap(FieldPhoneNumberQuality, `{"display_phone_number":"15550783881","event":"FLAGGED","current_limit":"TIER_1K","old_limit":"TIER_10K"}`))[0].(PhoneNumberQuality)
		if q.Event != "FLAGGED" || q.CurrentLimit != "TIER_1K" {
			t.Fatalf("%+v", q)
		}
	})
	t.Run("value that does not decode is kept, not fatal", func(t *testing.T) {
		body := `{"object":"whatsapp_business_account","entry":[{"id":"9","changes":[
		 {"field":"messages","value":{"messages":"not an array"}},
		 {"field":"messages","value":{"metadata":{"phone_number_id":"1"},"statuses":[{"id":"w","status":"sent","timestamp":"1"}]}}]}]}`
		evs := mustEvents(t, body)
		if len(evs) != 2 {
			t.Fatalf("%d events", len(evs))
		}
		o := evs[0].(OtherChange)
		if o.Err == nil || !strings.Contains(string(o.Raw), "not an array") {
			t.Fatalf("%+v", o)
		}
		if _, ok := evs[1].(StatusUpdate); !ok {
			t.Fatalf("second change lost: %T", evs[1])
		}
	})
	t.Run("value errors", func(t *testing.T) {
		r := mustEvents(t, envelope(`"errors":[{"code":131000,"title":"Something went wrong","message":"Something went wrong","error_data":{"details":"x"},"href":"https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes/"}]`))[0].(ErrorReport)
		if len(r.Errors) != 1 || r.Errors[0].Code != 131000 || r.PhoneNumberID != "106540352242922" {
			t.Fatalf("%+v", r)
		}
	})
	t.Run("empty messages value", func(t *testing.T) {
		if _, ok := mustEvents(t, envelope(`"x":1`))[0].(OtherChange); !ok {
			t.Fatal("an empty messages change must still yield an event")
		}
	})
	t.Run("other object", func(t *testing.T) {
		o := mustEvents(t, `{"object":"page","entry":[{"id":"1","changes":[{"field":"feed","value":{}}]}]}`)[0].(OtherChange)
		if o.Err == nil {
			t.Fatal("non-WhatsApp object must be flagged")
		}
	})
}

func TestFailedStatusAndPricing(t *testing.T) {
	st := mustEvents(t, envelope(`"statuses":[{"id":"wamid.f","status":"failed","timestamp":"1750030073","recipient_id":"16505551234",
	 "errors":[{"code":131026,"title":"Message undeliverable","message":"Message undeliverable","error_data":{"details":"Message Undeliverable."},"href":"https://x"}]}]`))[0].(StatusUpdate)
	if st.Status != StatusFailed || len(st.Errors) != 1 || st.Errors[0].Code != CodeUndeliverable || st.Errors[0].Details() != "Message Undeliverable." || st.Pricing != nil {
		t.Fatalf("%+v", st)
	}
}

func TestParseWebhookErrors(t *testing.T) {
	for _, body := range []string{"", "   ", "null", "{}", "[]", `{"object":1}`, `{"object":"whatsapp_business_account","entry":{}}`, "{", `{"object":"whatsapp_business_account","entry":[{"changes":[{"field":5}]}]}`} {
		if _, err := ParseWebhook([]byte(body)); !errors.Is(err, ErrMalformedWebhook) {
			t.Errorf("ParseWebhook(%q) = %v, want ErrMalformedWebhook", body, err)
		}
	}
}

func TestTimestamp(t *testing.T) {
	tests := []struct {
		in   string
		want time.Time
		ok   bool
	}{
		{"1749416383", time.Date(2025, 6, 8, 20, 59, 43, 0, time.UTC), true},
		{"0", time.Unix(0, 0).UTC(), true},
		{"", time.Time{}, false},
		{"-5", time.Time{}, false},
		{"1.5", time.Time{}, false},
		{"99999999999999", time.Time{}, false},
	}
	for _, tt := range tests {
		got, err := ParseTimestamp(tt.in)
		if (err == nil) != tt.ok || !got.Equal(tt.want) || (tt.ok && got.Location() != time.UTC) {
			t.Errorf("ParseTimestamp(%q) = %v, %v", tt.in, got, err)
		}
	}
	// A numeric timestamp is accepted too.
	in := oneInbound(t, inbound(`{"from":"1","id":"w","timestamp":1749416383,"type":"text","text":{"body":"x"}}`))
	if in.Timestamp.Unix() != 1749416383 {
		t.Fatalf("numeric timestamp: %v", in.Timestamp)
	}
	if TimestampOf(time.Unix(1749416383, 0)) != "1749416383" {
		t.Fatal("TimestampOf")
	}
}

func TestStatusRankOutOfOrder(t *testing.T) {
	tests := []struct {
		name     string
		arrivals []string
		want     string
	}{
		{"in order", []string{"sent", "delivered", "read"}, "read"},
		{"read before delivered", []string{"sent", "read", "delivered"}, "read"},
		{"read without delivered", []string{"read"}, "read"},
		{"delivered before sent", []string{"delivered", "sent"}, "delivered"},
		{"failed after sent is applied", []string{"sent", "failed"}, "failed"},
		{"failed before sent stays failed", []string{"failed", "sent"}, "failed"},
		{"late failed does not undo delivered", []string{"sent", "delivered", "failed"}, "delivered"},
		{"delivered after failed wins", []string{"sent", "failed", "delivered"}, "delivered"},
		{"duplicates are no-ops", []string{"sent", "sent", "delivered", "delivered"}, "delivered"},
		{"unknown status ignored", []string{"sent", "deleted"}, "sent"},
		{"played after read", []string{"read", "played"}, "played"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cur := "accepted"
			for _, s := range tt.arrivals {
				if StatusAdvances(cur, s) {
					cur = s
				}
			}
			if cur != tt.want {
				t.Fatalf("ended at %q, want %q", cur, tt.want)
			}
		})
	}
	if !(StatusRank("read") > StatusRank("delivered") && StatusRank("delivered") > StatusRank("sent") && StatusRank("failed") > StatusRank("sent")) {
		t.Fatal("rank order")
	}
}

func TestChangeRoundTrip(t *testing.T) {
	// The simulator builds webhooks from typed values; they must parse back the same.
	w := Webhook{Object: ObjectWABA, Entry: []Entry{{ID: "7", Changes: []Change{
		{Field: FieldMessages, Messages: &MessagesValue{MessagingProduct: "whatsapp",
			Metadata: Metadata{PhoneNumberID: "1", DisplayPhoneNumber: "15550001111"},
			Contacts: []Contact{{Profile: Profile{Name: "Z"}, WaID: "4912345678"}},
			Messages: []Message{{From: "4912345678", ID: "wamid.z", Timestamp: "1700000000", Type: TypeText, Text: &Text{Body: "hey"}}}}},
		{Field: FieldTemplateStatus, TemplateStatus: &TemplateStatusUpdate{Event: "APPROVED", MessageTemplateID: "123456789012345678", MessageTemplateName: "n", MessageTemplateLanguage: "en", Reason: "NONE"}},
	}}}}
	b, err := json.Marshal(w)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"message_template_id":123456789012345678`) {
		t.Fatalf("template id must be an integer on the wire: %s", b)
	}
	evs := mustEvents(t, string(b))
	if in := evs[0].(InboundMessage); in.Text != "hey" || in.ContactName != "Z" {
		t.Fatalf("%+v", in)
	}
	if ts := evs[1].(TemplateStatus); ts.TemplateID != "123456789012345678" {
		t.Fatalf("%+v", ts)
	}
	// A parsed change re-encodes its value byte for byte.
	w2, _ := ParseWebhook(b)
	b2, _ := json.Marshal(w2)
	if string(b) != string(b2) {
		t.Fatalf("re-encode changed bytes:\n%s\n%s", b, b2)
	}
}
