package whatsapp

import (
	"net/url"
	"testing"
)

func TestCallLogRedaction(t *testing.T) {
	u, _ := url.Parse("https://lookaside.fbsbx.com/whatsapp_business/attachments/?mid=123&ext=1&hash=ATsecret&access_token=EAAGtoken&fields=id,name&limit=25")
	if got, want := RedactedPath(u), "/whatsapp_business/attachments/?access_token=…&ext=…&fields=id,name&hash=…&limit=25&mid=…"; got != want {
		t.Errorf("path %q, want %q", got, want)
	}
	for in, want := range map[string]string{
		"(#131026) Message undeliverable to 4915112341234": "(#131026) Message undeliverable to •••1234",
		"Invalid parameter": "Invalid parameter",
		"code 100, 2 items": "code 100, 2 items",
	} {
		if got := RedactedText(in); got != want {
			t.Errorf("RedactedText(%q) = %q, want %q", in, got, want)
		}
	}
}
