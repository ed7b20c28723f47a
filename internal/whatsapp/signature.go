package whatsapp

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"net/url"
	"strings"
)

// SignatureHeader is the header in which Meta signs every webhook POST.
const SignatureHeader = "X-Hub-Signature-256"

const signaturePrefix = "sha256="

// Webhook signature failures. The handler answers 401 to all of them and stores nothing; they
// are distinct so that logs and metrics can tell a misconfigured app secret (mismatch on every
// request) from a client that is not Meta (missing or malformed).
var (
	ErrSignatureMissing   = errors.New("whatsapp: webhook signature missing")
	ErrSignatureMalformed = errors.New("whatsapp: webhook signature malformed")
	ErrSignatureMismatch  = errors.New("whatsapp: webhook signature mismatch")
	// ErrNoAppSecret: with an empty key anyone can compute a valid HMAC, so an unconfigured
	// secret must refuse everything rather than accept forgeries.
	ErrNoAppSecret = errors.New("whatsapp: no app secret configured")
)

// VerifySignature checks X-Hub-Signature-256 (`sha256=<lowercase hex>`) against an HMAC-SHA256
// of the raw body keyed with the app secret. It must run on the bytes exactly as received, before
// any parsing: re-encoded JSON has different bytes and fails. The comparison is constant-time
// (hmac.Equal) so that the signature cannot be guessed byte by byte from response times.
func VerifySignature(appSecret []byte, body []byte, header string) error {
	if len(appSecret) == 0 {
		return ErrNoAppSecret
	}
	if header == "" {
		return ErrSignatureMissing
	}
	hexSig, ok := strings.CutPrefix(header, signaturePrefix)
	if !ok || len(hexSig) != sha256.Size*2 {
		return ErrSignatureMalformed
	}
	got, err := hex.DecodeString(hexSig)
	if err != nil {
		return ErrSignatureMalformed
	}
	if !hmac.Equal(got, signBytes(appSecret, body)) {
		return ErrSignatureMismatch
	}
	return nil
}

// Sign returns the X-Hub-Signature-256 value Meta would send for body. The simulator signs its
// webhooks with it; tests use it to build valid requests.
func Sign(appSecret []byte, body []byte) string {
	return signaturePrefix + hex.EncodeToString(signBytes(appSecret, body))
}

func signBytes(key, body []byte) []byte {
	m := hmac.New(sha256.New, key)
	m.Write(body)
	return m.Sum(nil)
}

// VerifyChallenge answers Meta's subscription handshake:
// GET ?hub.mode=subscribe&hub.challenge=C&hub.verify_token=T. When T equals the stored verify
// token it returns C, to be written back unchanged with 200; otherwise ok is false and the
// handler answers 403. An empty stored token never matches, so an unconfigured workspace cannot
// be subscribed by whoever guesses the URL.
func VerifyChallenge(query url.Values, verifyToken string) (challenge string, ok bool) {
	if verifyToken == "" || query.Get("hub.mode") != "subscribe" {
		return "", false
	}
	challenge = query.Get("hub.challenge")
	if challenge == "" {
		return "", false
	}
	// Compare digests so that neither the content nor the length of the token leaks by timing.
	want := sha256.Sum256([]byte(verifyToken))
	got := sha256.Sum256([]byte(query.Get("hub.verify_token")))
	if subtle.ConstantTimeCompare(want[:], got[:]) != 1 {
		return "", false
	}
	return challenge, true
}

// AppSecretProof is Graph's optional appsecret_proof: hex HMAC-SHA256 of the access token keyed
// with the app secret. It proves a call comes from the app's own server, so a leaked token alone
// cannot be used when the app requires it.
func AppSecretProof(token, appSecret string) string {
	return hex.EncodeToString(signBytes([]byte(appSecret), []byte(token)))
}
