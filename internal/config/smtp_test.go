package config

import (
	"strings"
	"testing"
	"time"
)

func TestParseSMTP(t *testing.T) {
	const from = "Switchboard <switchboard@example.com>"
	for _, tc := range []struct {
		url  string
		want SMTP
	}{
		{"smtp://mailer:p%40ss@mail.example.com", SMTP{Host: "mail.example.com", Port: 587, TLS: SMTPStartTLS, Username: "mailer", Password: "p@ss", Timeout: DefaultSMTPTimeout}},
		{"smtp://mailer:pw@mail.example.com:2525?tls=starttls&timeout=30s", SMTP{Host: "mail.example.com", Port: 2525, TLS: SMTPStartTLS, Username: "mailer", Password: "pw", Timeout: 30 * time.Second}},
		{"smtps://mailer:pw@mail.example.com", SMTP{Host: "mail.example.com", Port: 465, TLS: SMTPImplicitTLS, Username: "mailer", Password: "pw", Timeout: DefaultSMTPTimeout}},
		{"smtp://mail.example.com?tls=tls", SMTP{Host: "mail.example.com", Port: 465, TLS: SMTPImplicitTLS, Timeout: DefaultSMTPTimeout}},
		{"smtp://relay.internal?tls=none", SMTP{Host: "relay.internal", Port: 25, TLS: SMTPNoTLS, Timeout: DefaultSMTPTimeout}},
		{"smtp://u:p@127.0.0.1:1025?tls=none", SMTP{Host: "127.0.0.1", Port: 1025, TLS: SMTPNoTLS, Username: "u", Password: "p", Timeout: DefaultSMTPTimeout}},
	} {
		got, err := ParseSMTP(tc.url, from)
		if err != nil {
			t.Errorf("%s: %v", tc.url, err)
			continue
		}
		if got.From.Address != "switchboard@example.com" || got.From.Name != "Switchboard" {
			t.Errorf("%s: from %+v", tc.url, got.From)
		}
		got.From = tc.want.From
		if got != tc.want {
			t.Errorf("%s:\n got %+v\nwant %+v", tc.url, got, tc.want)
		}
	}
	if s, err := ParseSMTP("", ""); err != nil || s.Enabled() {
		t.Errorf("no URL: %+v, %v", s, err)
	}
}

func TestParseSMTPRefusals(t *testing.T) {
	const from = "switchboard@example.com"
	for _, tc := range []struct{ url, from, mention string }{
		{"http://mail.example.com", from, "scheme"},
		{"smtp://", from, "no host"},
		{"smtp://mail.example.com?tls=maybe", from, "tls="},
		{"smtps://mail.example.com?tls=starttls", from, "implicit"},
		{"smtp://mail.example.com:99999", from, "port"},
		{"smtp://mail.example.com?timeout=1h", from, "timeout"},
		{"smtp://mail.example.com?tsl=none", from, "unknown parameter"},
		{"smtp://u:topsecret@mail.example.com?tls=none", from, "clear text"},
		{"smtp://mail.example.com", "", "--smtp-from"},
		{"smtp://mail.example.com", "not an address", "--smtp-from"},
		{"", from, "--smtp-url is not"},
		{"smtp://u:topsecret@mail example.com", from, "not a URL"},
	} {
		_, err := ParseSMTP(tc.url, tc.from)
		if err == nil {
			t.Errorf("%q accepted", tc.url)
			continue
		}
		if !strings.Contains(err.Error(), tc.mention) {
			t.Errorf("%q: error %q does not mention %q", tc.url, err, tc.mention)
		}
		if strings.Contains(err.Error(), "topsecret") {
			t.Errorf("%q: the error repeats the password: %v", tc.url, err)
		}
	}
}

func TestSMTPStringHidesThePassword(t *testing.T) {
	s, err := ParseSMTP("smtp://mailer:topsecret@mail.example.com", "a@example.com")
	if err != nil {
		t.Fatal(err)
	}
	if got := s.String(); strings.Contains(got, "topsecret") || !strings.Contains(got, "mail.example.com:587") {
		t.Errorf("String() = %q", got)
	}
}
