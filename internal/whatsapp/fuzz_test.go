package whatsapp

import (
	"encoding/json"
	"testing"
)

// FuzzParseWebhook feeds arbitrary bodies through the path a verified webhook takes: parse,
// flatten, summarise, re-encode. None of it may panic, whatever Meta (or a holder of the app
// secret) sends. Run with: go test -run=^$ -fuzz=FuzzParseWebhook ./internal/whatsapp
func FuzzParseWebhook(f *testing.F) {
	for _, seed := range []string{
		specIncoming,
		envelope(`"statuses":[` + specStatus + `]`),
		`{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"message_template_status_update","value":` + specTemplateStatus + `}]}]}`,
		inbound(`{"from":"1","id":"w","timestamp":"1","type":"interactive","interactive":{"type":"list_reply","list_reply":{"id":"a","title":"b"}}}`),
		inbound(`{"from":"1","id":"w","timestamp":"1","type":"order","order":{"catalog_id":"1","product_items":[{"quantity":"x"}]}}`),
		inbound(`{"from":"1","id":"w","timestamp":"1","type":"location","location":{"latitude":1e308,"longitude":-1e308}}`),
		inbound(`{"from":"1","id":"w","timestamp":"1","type":"` + "\xff\xfe" + `"}`),
		envelope(`"contacts":[{"user_id":"US.1"}],"messages":[{"id":"w","type":"text","text":null}]`),
		envelope(`"messages":[{"type":"system","system":{}}],"errors":[{"code":1,"error_data":"x"}]`),
		`{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"phone_number_quality_update","value":{"current_limit":{"a":1}}}]}]}`,
		`{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"messages","value":null},{"field":"x"}]}]}`,
		`{"object":"x","entry":null}`,
		`{"object":"whatsapp_business_account","entry":[{"changes":[{"field":"message_template_quality_update","value":{"message_template_id":-1.5e9}}]}]}`,
		``, `null`, `[]`, `{"object":""}`, `{`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		w, err := ParseWebhook(body)
		if err != nil {
			return
		}
		for _, ev := range w.Events() {
			switch e := ev.(type) {
			case InboundMessage:
				_ = e.Message.Summary()
				_ = e.Message.Media()
				_, _ = e.Message.Timestamp.Time()
			case StatusUpdate:
				_ = StatusRank(e.Status)
				for _, er := range e.Errors {
					_ = er.Details()
				}
			}
		}
		if _, err := json.Marshal(w); err != nil {
			// Re-encoding a parsed webhook only fails on values json.Valid accepted on input
			// but Marshal refuses; that would be a bug in Change.MarshalJSON.
			t.Fatalf("re-encode: %v", err)
		}
	})
}
