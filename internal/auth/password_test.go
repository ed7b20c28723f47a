package auth

import (
	"errors"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/argon2"
)

// ASVS 4.0.3 2.4.1/2.4.2, ASVS 5.0 11.4.2: argon2id, t=2, m ≥ 19 MiB, p=1, per-hash salt.
func TestHashPasswordStoresRequiredParameters(t *testing.T) {
	encoded, err := HashPassword("tulip-ribbon-kettle")
	if err != nil {
		t.Fatal(err)
	}
	if want := "$argon2id$v=19$m=19456,t=2,p=1$"; !strings.HasPrefix(encoded, want) {
		t.Fatalf("hash %q does not start with %q", encoded, want)
	}
	h, err := parsePHC(encoded)
	if err != nil {
		t.Fatalf("parse stored hash: %v", err)
	}
	want := PasswordParams{Memory: 19456, Time: 2, Threads: 1, SaltLen: 16, KeyLen: 32}
	if h.params != want {
		t.Fatalf("params = %+v, want %+v", h.params, want)
	}
	if DefaultPasswordParams != want {
		t.Fatalf("DefaultPasswordParams = %+v, want %+v", DefaultPasswordParams, want)
	}
}

func TestHashPasswordSaltsEachHash(t *testing.T) {
	a, err := HashPassword("tulip-ribbon-kettle")
	if err != nil {
		t.Fatal(err)
	}
	b, err := HashPassword("tulip-ribbon-kettle")
	if err != nil {
		t.Fatal(err)
	}
	if a == b {
		t.Fatalf("same password gave the same hash twice: %q", a)
	}
	ha, _ := parsePHC(a)
	hb, _ := parsePHC(b)
	if string(ha.salt) == string(hb.salt) {
		t.Fatal("same salt used twice")
	}
}

func TestVerifyPassword(t *testing.T) {
	const password = "tulip-ribbon-kettle"
	encoded, err := HashPassword(password)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		password string
		encoded  string
		want     bool
	}{
		{"right password", password, encoded, true},
		{"wrong password", "tulip-ribbon-kettle!", encoded, false},
		{"different case", strings.ToUpper(password), encoded, false},
		{"empty password", "", encoded, false},
		{"key altered", password, alterLastChar(encoded), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := VerifyPassword(tt.password, tt.encoded)
			if err != nil {
				t.Fatalf("VerifyPassword: %v", err)
			}
			if got != tt.want {
				t.Fatalf("VerifyPassword = %v, want %v", got, tt.want)
			}
		})
	}
}

// A tampered or corrupt stored hash is an error, never a panic and never a match.
func TestVerifyPasswordRejectsMalformedHash(t *testing.T) {
	const password = "tulip-ribbon-kettle"
	encoded, err := HashPassword(password)
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(encoded, "$")
	salt, key := parts[4], parts[5]
	phc := func(alg, version, costs, salt, key string) string {
		return strings.Join([]string{"", alg, version, costs, salt, key}, "$")
	}
	tests := []struct {
		name    string
		encoded string
	}{
		{"empty", ""},
		{"bcrypt", "$2a$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy"},
		{"argon2i", phc("argon2i", "v=19", "m=19456,t=2,p=1", salt, key)},
		{"old version", phc("argon2id", "v=16", "m=19456,t=2,p=1", salt, key)},
		{"missing version", strings.Join([]string{"", "argon2id", "m=19456,t=2,p=1", salt, key}, "$")},
		{"extra field", encoded + "$AAAA"},
		{"costs reordered", phc("argon2id", "v=19", "t=2,m=19456,p=1", salt, key)},
		{"cost not a number", phc("argon2id", "v=19", "m=lots,t=2,p=1", salt, key)},
		{"negative cost", phc("argon2id", "v=19", "m=19456,t=-2,p=1", salt, key)},
		{"threads overflow", phc("argon2id", "v=19", "m=19456,t=2,p=256", salt, key)},
		{"zero threads", phc("argon2id", "v=19", "m=19456,t=2,p=0", salt, key)},
		{"zero time", phc("argon2id", "v=19", "m=19456,t=0,p=1", salt, key)},
		{"memory too small", phc("argon2id", "v=19", "m=4,t=2,p=1", salt, key)},
		{"memory too large", phc("argon2id", "v=19", "m=4294967295,t=2,p=1", salt, key)},
		{"time too large", phc("argon2id", "v=19", "m=19456,t=100000,p=1", salt, key)},
		{"salt not base64", phc("argon2id", "v=19", "m=19456,t=2,p=1", "!!!!", key)},
		{"salt padded", phc("argon2id", "v=19", "m=19456,t=2,p=1", salt+"==", key)},
		{"salt too short", phc("argon2id", "v=19", "m=19456,t=2,p=1", salt[:8], key)},
		{"key empty", phc("argon2id", "v=19", "m=19456,t=2,p=1", salt, "")},
		{"key truncated", phc("argon2id", "v=19", "m=19456,t=2,p=1", salt, key[:10])},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ok, err := VerifyPassword(password, tt.encoded)
			if ok {
				t.Fatal("malformed hash verified")
			}
			if !errors.Is(err, ErrMalformedHash) {
				t.Fatalf("err = %v, want ErrMalformedHash", err)
			}
		})
	}
}

// Parameters come from the stored hash, so raising DefaultPasswordParams later keeps old hashes
// working, and NeedsRehash picks them out for upgrade at the next sign-in.
func TestVerifyUsesStoredParametersAndNeedsRehash(t *testing.T) {
	weaker := PasswordParams{Memory: 8 * 1024, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}
	old, err := NewVerifier(weaker)
	if err != nil {
		t.Fatal(err)
	}
	oldHash, err := old.Hash("tulip-ribbon-kettle")
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := VerifyPassword("tulip-ribbon-kettle", oldHash); err != nil || !ok {
		t.Fatalf("VerifyPassword(old hash) = %v, %v; want true, nil", ok, err)
	}
	current, err := HashPassword("tulip-ribbon-kettle")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		encoded string
		want    bool
	}{
		{"current parameters", current, false},
		{"weaker parameters", oldHash, true},
		{"unreadable", "not a hash", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := NeedsRehash(tt.encoded); got != tt.want {
				t.Fatalf("NeedsRehash = %v, want %v", got, tt.want)
			}
		})
	}
	if old.NeedsRehash(oldHash) {
		t.Fatal("a Verifier wants to re-hash its own hash")
	}
}

func TestNewVerifierRejectsUnsafeParameters(t *testing.T) {
	tests := []struct {
		name string
		edit func(*PasswordParams)
	}{
		{"zero threads", func(p *PasswordParams) { p.Threads = 0 }},
		{"zero time", func(p *PasswordParams) { p.Time = 0 }},
		{"too little memory", func(p *PasswordParams) { p.Memory = 7 }},
		{"too much memory", func(p *PasswordParams) { p.Memory = 1<<20 + 1 }},
		{"short salt", func(p *PasswordParams) { p.SaltLen = 8 }},
		{"short key", func(p *PasswordParams) { p.KeyLen = 8 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := DefaultPasswordParams
			tt.edit(&p)
			if _, err := NewVerifier(p); !errors.Is(err, ErrInvalidPasswordParams) {
				t.Fatalf("err = %v, want ErrInvalidPasswordParams", err)
			}
		})
	}
}

// ASVS 5.0 6.3.8: an unknown account still costs one argon2id derivation, with the same
// parameters as a real one, and never signs anyone in.
func TestVerifyOrDummyRunsOneDerivation(t *testing.T) {
	v, err := NewVerifier(DefaultPasswordParams)
	if err != nil {
		t.Fatal(err)
	}
	const password = "tulip-ribbon-kettle"
	encoded, err := v.Hash(password)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		password string
		encoded  string
		found    bool
		want     bool
	}{
		{"found, right password", password, encoded, true, true},
		{"found, wrong password", "wrong-password-123", encoded, true, false},
		{"found, malformed hash", password, "$argon2id$broken", true, false},
		{"not found", password, "", false, false},
		{"not found, hash passed anyway", password, encoded, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var calls []PasswordParams
			v.derive = func(pw, salt []byte, time, memory uint32, threads uint8, keyLen uint32) []byte {
				calls = append(calls, PasswordParams{Memory: memory, Time: time, Threads: threads,
					SaltLen: uint32(len(salt)), KeyLen: keyLen})
				return argon2.IDKey(pw, salt, time, memory, threads, keyLen)
			}
			if got := v.VerifyOrDummy(tt.password, tt.encoded, tt.found); got != tt.want {
				t.Fatalf("VerifyOrDummy = %v, want %v", got, tt.want)
			}
			if len(calls) != 1 {
				t.Fatalf("%d argon2id derivations, want exactly 1", len(calls))
			}
			if calls[0] != DefaultPasswordParams {
				t.Fatalf("derivation used %+v, want %+v", calls[0], DefaultPasswordParams)
			}
		})
	}
}

// The same property measured: a missing account costs about as much as a present one. It is
// measured in the process's CPU time, not on the wall clock, so other processes busy on the
// same machine do not decide it; the minimum of interleaved runs filters out our own GC.
func TestVerifyOrDummyTiming(t *testing.T) {
	v, err := NewVerifier(DefaultPasswordParams)
	if err != nil {
		t.Fatal(err)
	}
	encoded, err := v.Hash("tulip-ribbon-kettle")
	if err != nil {
		t.Fatal(err)
	}
	timeOne := func(found bool) time.Duration {
		start := processCPUTime(t)
		v.VerifyOrDummy("wrong-password-123", encoded, found)
		return processCPUTime(t) - start
	}
	foundMin, missingMin := time.Duration(1<<62), time.Duration(1<<62)
	for range 5 {
		foundMin = min(foundMin, timeOne(true))
		missingMin = min(missingMin, timeOne(false))
	}
	ratio := float64(missingMin) / float64(foundMin)
	t.Logf("found %v, not found %v, ratio %.2f", foundMin, missingMin, ratio)
	if ratio < 0.5 || ratio > 2.0 {
		t.Fatalf("not-found/found time ratio %.2f outside [0.5, 2.0]", ratio)
	}
}

func BenchmarkHashPassword(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := HashPassword("tulip-ribbon-kettle"); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerifyPassword(b *testing.B) {
	encoded, err := HashPassword("tulip-ribbon-kettle")
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if ok, err := VerifyPassword("tulip-ribbon-kettle", encoded); err != nil || !ok {
			b.Fatalf("VerifyPassword = %v, %v", ok, err)
		}
	}
}

// alterLastChar changes the final base64 character of a PHC string, keeping it well-formed.
func alterLastChar(s string) string {
	last := s[len(s)-1]
	repl := byte('A')
	if last == 'A' {
		repl = 'E'
	}
	return s[:len(s)-1] + string(repl)
}

// processCPUTime is the user and system CPU time this process has used so far.
func processCPUTime(t *testing.T) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		t.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
