package secrets

import (
	"bytes"
	"encoding/base64"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestSealOpenAndContextBinding(t *testing.T) {
	b, err := NewBox(bytes.Repeat([]byte{7}, 32))
	if err != nil {
		t.Fatal(err)
	}
	sealed, err := b.Seal([]byte("JBSWY3DPEHPK3PXP"), "member:1:totp")
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(sealed, []byte("JBSWY3DPEHPK3PXP")) {
		t.Fatal("ciphertext contains the plaintext")
	}
	again, _ := b.Seal([]byte("JBSWY3DPEHPK3PXP"), "member:1:totp")
	if bytes.Equal(sealed, again) {
		t.Error("two seals of the same value are equal: the nonce is not random")
	}
	got, err := b.Open(sealed, "member:1:totp")
	if err != nil || string(got) != "JBSWY3DPEHPK3PXP" {
		t.Fatalf("open: %q %v", got, err)
	}
	if _, err := b.Open(sealed, "member:2:totp"); !errors.Is(err, ErrDecrypt) {
		t.Errorf("a value moved to another row decrypted: %v", err)
	}
	sealed[len(sealed)-1] ^= 1
	if _, err := b.Open(sealed, "member:1:totp"); !errors.Is(err, ErrDecrypt) {
		t.Errorf("an altered value decrypted: %v", err)
	}
	other, _ := NewBox(bytes.Repeat([]byte{8}, 32))
	if _, err := other.Open(again, "member:1:totp"); !errors.Is(err, ErrDecrypt) {
		t.Errorf("another key decrypted: %v", err)
	}
	if _, err := NewBox([]byte("short")); err == nil {
		t.Error("a short key was accepted")
	}
}

func TestLoadKeyCreatesAPrivateKeyFileOnce(t *testing.T) {
	dir := t.TempDir()
	none := func(string) string { return "" }
	k1, err := LoadKey(dir, none)
	if err != nil {
		t.Fatal(err)
	}
	info, err := os.Stat(filepath.Join(dir, KeyFileName))
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode().Perm() != 0o600 {
		t.Errorf("key file mode %v, want 0600", info.Mode().Perm())
	}
	k2, err := LoadKey(dir, none)
	if err != nil || !bytes.Equal(k1, k2) {
		t.Errorf("second load gave another key: %v", err)
	}
	env := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{9}, 32))
	k3, err := LoadKey(dir, func(name string) string {
		if name == EnvKey {
			return env
		}
		return ""
	})
	if err != nil || !bytes.Equal(k3, bytes.Repeat([]byte{9}, 32)) {
		t.Errorf("the environment key was not used: %v", err)
	}
	if _, err := LoadKey(dir, func(string) string { return "not-base64!" }); err == nil {
		t.Error("a malformed environment key was accepted")
	}
}

func TestLast4(t *testing.T) {
	if got := Last4("EAAGm0PX4ZCpsBAabc1234"); got != "1234" {
		t.Errorf("Last4 = %q", got)
	}
	if got := Last4("abc"); got != "•••" {
		t.Errorf("Last4 of a short value = %q", got)
	}
}
