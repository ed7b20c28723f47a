package whatsapp

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/url"
	"strings"
	"testing"
)

func TestVerifySignature(t *testing.T) {
	secret := []byte("app-secret")
	body := []byte(`{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[]}]}`)
	good := Sign(secret, body)

	flipped := bytes.Clone(body)
	flipped[10] ^= 0x01

	// The same JSON decoded and encoded again: equal as data, different as bytes.
	var v any
	if err := json.Unmarshal([]byte(`{ "object": "whatsapp_business_account", "entry": [] }`), &v); err != nil {
		t.Fatal(err)
	}
	pretty := []byte(`{ "object": "whatsapp_business_account", "entry": [] }`)
	reencoded, _ := json.Marshal(v)

	tests := []struct {
		name   string
		secret []byte
		body   []byte
		header string
		want   error
	}{
		{"good", secret, body, good, nil},
		{"uppercase hex still decodes", secret, body, "sha256=" + strings.ToUpper(strings.TrimPrefix(good, "sha256=")), nil},
		{"one flipped byte", secret, flipped, good, ErrSignatureMismatch},
		{"re-encoded JSON", secret, reencoded, Sign(secret, pretty), ErrSignatureMismatch},
		{"wrong secret", []byte("other"), body, good, ErrSignatureMismatch},
		{"missing header", secret, body, "", ErrSignatureMissing},
		{"no prefix", secret, body, strings.TrimPrefix(good, "sha256="), ErrSignatureMalformed},
		{"sha1 prefix", secret, body, "sha1=" + strings.TrimPrefix(good, "sha256="), ErrSignatureMalformed},
		{"not hex", secret, body, "sha256=" + strings.Repeat("zz", 32), ErrSignatureMalformed},
		{"short", secret, body, good[:len(good)-2], ErrSignatureMalformed},
		{"long", secret, body, good + "00", ErrSignatureMalformed},
		{"no app secret", nil, body, good, ErrNoAppSecret},
		{"empty secret cannot be forged", nil, body, Sign(nil, body), ErrNoAppSecret},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := VerifySignature(tt.secret, tt.body, tt.header)
			if !errors.Is(err, tt.want) || (tt.want == nil && err != nil) {
				t.Fatalf("VerifySignature = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestVerifyChallenge(t *testing.T) {
	q := func(mode, token, challenge string) url.Values {
		return url.Values{"hub.mode": {mode}, "hub.verify_token": {token}, "hub.challenge": {challenge}}
	}
	tests := []struct {
		name   string
		query  url.Values
		stored string
		want   string
		ok     bool
	}{
		{"match", q("subscribe", "tok", "1158201444"), "tok", "1158201444", true},
		{"challenge unchanged", q("subscribe", "tok", "a b+c"), "tok", "a b+c", true},
		{"wrong token", q("subscribe", "tokx", "1"), "tok", "", false},
		{"prefix of token", q("subscribe", "to", "1"), "tok", "", false},
		{"wrong mode", q("unsubscribe", "tok", "1"), "tok", "", false},
		{"no challenge", q("subscribe", "tok", ""), "tok", "", false},
		{"unconfigured token never matches", q("subscribe", "", "1"), "", "", false},
		{"empty query", url.Values{}, "tok", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := VerifyChallenge(tt.query, tt.stored)
			if got != tt.want || ok != tt.ok {
				t.Fatalf("VerifyChallenge = %q, %v; want %q, %v", got, ok, tt.want, tt.ok)
			}
		})
	}
}

func TestAppSecretProof(t *testing.T) {
	// HMAC-SHA256(key="secret", message="token"), computed with openssl.
	const want = "e941110e3d2bfe82621f0e3e1434730d7305d106c5f68c87165d0b27a4611a4a"
	if got := AppSecretProof("token", "secret"); got != want {
		t.Fatalf("AppSecretProof = %q, want %q", got, want)
	}
}
