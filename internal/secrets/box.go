// Package secrets encrypts what must be stored but never shown again (TOTP seeds, the Cloud API
// access token, app secrets) with AES-256-GCM under a key that lives outside the database, so a
// copy of the database file alone discloses none of them.
package secrets

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// KeyFileName is the key file created in the data directory when no key is given.
const KeyFileName = "secret.key"

// EnvKey names the environment variable that may carry the key (base64 of 32 bytes).
const EnvKey = "SWITCHBOARD_SECRET_KEY"

// ErrDecrypt means a value was not encrypted with this key or was altered.
var ErrDecrypt = errors.New("secrets: cannot decrypt (wrong key or altered value)")

// Box seals and opens values with one key.
type Box struct {
	aead cipher.AEAD
}

// NewBox makes a box from a 32-byte key.
func NewBox(key []byte) (*Box, error) {
	if len(key) != 32 {
		return nil, fmt.Errorf("secrets: key must be 32 bytes, got %d", len(key))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("secrets: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("secrets: %w", err)
	}
	return &Box{aead: aead}, nil
}

// Seal encrypts plaintext. context binds the ciphertext to where it is stored (for example
// "member:7:totp"), so a value copied into another row does not decrypt there.
func (b *Box) Seal(plaintext []byte, context string) ([]byte, error) {
	nonce := make([]byte, b.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return nil, fmt.Errorf("secrets: nonce: %w", err)
	}
	return b.aead.Seal(nonce, nonce, plaintext, []byte(context)), nil
}

// Open decrypts what Seal produced with the same context.
func (b *Box) Open(sealed []byte, context string) ([]byte, error) {
	n := b.aead.NonceSize()
	if len(sealed) < n+b.aead.Overhead() {
		return nil, ErrDecrypt
	}
	out, err := b.aead.Open(nil, sealed[:n], sealed[n:], []byte(context))
	if err != nil {
		return nil, ErrDecrypt
	}
	return out, nil
}

// LoadKey returns the key from the environment variable, or from the key file in dataDir,
// creating that file (mode 0600) with a fresh random key on first start.
func LoadKey(dataDir string, getenv func(string) string) ([]byte, error) {
	key, err := ReadKey(dataDir, getenv)
	if !errors.Is(err, os.ErrNotExist) {
		return key, err
	}
	path := filepath.Join(dataDir, KeyFileName)
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return nil, fmt.Errorf("secrets: %w", err)
	}
	key = make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return nil, fmt.Errorf("secrets: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, fmt.Errorf("secrets: create %s: %w", path, err)
	}
	if _, err := f.WriteString(base64.StdEncoding.EncodeToString(key) + "\n"); err != nil {
		f.Close()
		return nil, fmt.Errorf("secrets: write %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return nil, err
	}
	return key, nil
}

// ReadKey is LoadKey without creating a key: commands that only read (audit verify) must not
// leave a new key behind. The error wraps os.ErrNotExist when there is no key.
func ReadKey(dataDir string, getenv func(string) string) ([]byte, error) {
	if v := strings.TrimSpace(getenv(EnvKey)); v != "" {
		key, err := base64.StdEncoding.DecodeString(v)
		if err != nil || len(key) != 32 {
			return nil, fmt.Errorf("%s must be the base64 encoding of 32 random bytes (for example: openssl rand -base64 32)", EnvKey)
		}
		return key, nil
	}
	path := filepath.Join(dataDir, KeyFileName)
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("secrets: read %s: %w", path, err)
	}
	key, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(data)))
	if err != nil || len(key) != 32 {
		return nil, fmt.Errorf("secrets: %s is not a valid key file", path)
	}
	return key, nil
}

// Last4 is what may be shown of a secret after it is saved.
func Last4(s string) string {
	if len(s) <= 4 {
		return strings.Repeat("•", len(s))
	}
	return s[len(s)-4:]
}
