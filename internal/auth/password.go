// Package auth holds what proves a member is who they say: passwords, sign-in throttling, TOTP,
// recovery codes and re-authentication.
package auth

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/crypto/argon2"
)

// PasswordParams are the argon2id cost parameters. They are written into every stored hash (PHC
// string format), so they can be raised later without invalidating existing passwords: old hashes
// keep verifying with their own parameters and NeedsRehash tells when to re-hash at sign-in.
type PasswordParams struct {
	Memory  uint32 // KiB
	Time    uint32 // passes over memory
	Threads uint8  // lanes
	SaltLen uint32 // bytes
	KeyLen  uint32 // bytes
}

// DefaultPasswordParams are OWASP's minimum argon2id configuration (19 MiB, 2 passes, 1 lane),
// the one ASVS 4.0.3 2.4.4 / ASVS 5.0 11.4.2 point to, with a 16-byte salt and a 32-byte key.
// Treat it as a constant.
var DefaultPasswordParams = PasswordParams{Memory: 19 * 1024, Time: 2, Threads: 1, SaltLen: 16, KeyLen: 32}

// Bounds on parameters, both for a Verifier and for a hash read back from the database: a corrupt
// or hostile row must not make one sign-in allocate gigabytes or spin for minutes.
const (
	maxMemoryKiB = 1 << 20 // 1 GiB
	maxTime      = 32
	minSaltLen   = 16 // NIST SP 800-63B 5.1.1.2 asks for at least 32 bits; 128 is the usual floor
	maxSaltLen   = 64
	minKeyLen    = 16
	maxKeyLen    = 64
)

// ErrMalformedHash means a stored password hash cannot be parsed. It points at corrupt data, not at
// a wrong password.
var ErrMalformedHash = errors.New("malformed password hash")

// ErrInvalidPasswordParams means a Verifier was asked to use parameters outside the accepted bounds.
var ErrInvalidPasswordParams = errors.New("invalid password parameters")

// deriveFunc has the shape of argon2.IDKey; a Verifier holds one so tests can count derivations.
type deriveFunc func(password, salt []byte, time, memory uint32, threads uint8, keyLen uint32) []byte

// Verifier hashes and checks passwords with one set of parameters. Sign-in code should use
// VerifyOrDummy, so that an unknown account costs exactly as much as a known one (ASVS 5.0 6.3.8:
// no account enumeration by timing).
type Verifier struct {
	params PasswordParams
	derive deriveFunc
	// dummy is a hash with the Verifier's parameters that no password matches: its key is all
	// zeros, which argon2id does not output in practice. Checking a password against it costs one
	// derivation, the same as a real account, and needs no precomputation or lazy state.
	dummy phcHash
}

// NewVerifier returns a Verifier that hashes new passwords with p.
func NewVerifier(p PasswordParams) (*Verifier, error) {
	if err := p.validate(); err != nil {
		return nil, err
	}
	return newVerifier(p), nil
}

func newVerifier(p PasswordParams) *Verifier {
	return &Verifier{
		params: p,
		derive: argon2.IDKey,
		dummy:  phcHash{params: p, salt: make([]byte, p.SaltLen), key: make([]byte, p.KeyLen)},
	}
}

// Hash returns a PHC string for password with a fresh random salt.
func (v *Verifier) Hash(password string) (string, error) {
	salt := make([]byte, v.params.SaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("password salt: %w", err)
	}
	p := v.params
	key := v.derive([]byte(password), salt, p.Time, p.Memory, p.Threads, p.KeyLen)
	return encodePHC(p, salt, key), nil
}

// Verify reports whether password matches encoded, using the parameters stored in encoded. A wrong
// password is (false, nil); an error means the stored hash is unusable.
func (v *Verifier) Verify(password, encoded string) (bool, error) {
	h, err := parsePHC(encoded)
	if err != nil {
		return false, err
	}
	return v.check(password, h), nil
}

// DummyVerify spends the work of verifying a password against a hash made by this Verifier and
// discards the result. Use it where an account was not found.
func (v *Verifier) DummyVerify(password string) {
	v.check(password, v.dummy)
}

// VerifyOrDummy is the sign-in check: it reports whether password matches encoded when the account
// was found, and otherwise returns false after the same amount of work. It always runs exactly one
// argon2id derivation, also when the stored hash is malformed (then it counts as a wrong password;
// use Verify where corrupt data must be told apart).
func (v *Verifier) VerifyOrDummy(password, encoded string, found bool) bool {
	if found {
		if h, err := parsePHC(encoded); err == nil {
			return v.check(password, h)
		}
	}
	v.DummyVerify(password)
	return false
}

func (v *Verifier) check(password string, h phcHash) bool {
	p := h.params
	key := v.derive([]byte(password), h.salt, p.Time, p.Memory, p.Threads, p.KeyLen)
	return subtle.ConstantTimeCompare(key, h.key) == 1
}

// NeedsRehash reports whether encoded was made with other parameters than the Verifier's (or
// cannot be read), so the sign-in that just verified it should store a fresh hash.
func (v *Verifier) NeedsRehash(encoded string) bool {
	h, err := parsePHC(encoded)
	return err != nil || h.params != v.params
}

// HashPassword hashes password with DefaultPasswordParams.
func HashPassword(password string) (string, error) {
	return newVerifier(DefaultPasswordParams).Hash(password)
}

// VerifyPassword reports whether password matches encoded, with the parameters stored in encoded.
func VerifyPassword(password, encoded string) (bool, error) {
	return newVerifier(DefaultPasswordParams).Verify(password, encoded)
}

// NeedsRehash reports whether encoded was made with other parameters than DefaultPasswordParams.
func NeedsRehash(encoded string) bool {
	return newVerifier(DefaultPasswordParams).NeedsRehash(encoded)
}

func (p PasswordParams) validate() error {
	switch {
	case p.Threads < 1:
		return fmt.Errorf("%w: threads %d", ErrInvalidPasswordParams, p.Threads)
	case p.Memory < 8*uint32(p.Threads) || p.Memory > maxMemoryKiB:
		// argon2 needs at least 8 KiB per lane.
		return fmt.Errorf("%w: memory %d KiB", ErrInvalidPasswordParams, p.Memory)
	case p.Time < 1 || p.Time > maxTime:
		return fmt.Errorf("%w: time %d", ErrInvalidPasswordParams, p.Time)
	case p.SaltLen < minSaltLen || p.SaltLen > maxSaltLen:
		return fmt.Errorf("%w: salt length %d", ErrInvalidPasswordParams, p.SaltLen)
	case p.KeyLen < minKeyLen || p.KeyLen > maxKeyLen:
		return fmt.Errorf("%w: key length %d", ErrInvalidPasswordParams, p.KeyLen)
	}
	return nil
}

// b64 is the PHC string format's base64: standard alphabet, no padding, and strict, so one hash has
// exactly one spelling.
var b64 = base64.RawStdEncoding.Strict()

func encodePHC(p PasswordParams, salt, key []byte) string {
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, p.Memory, p.Time, p.Threads, b64.EncodeToString(salt), b64.EncodeToString(key))
}

type phcHash struct {
	params    PasswordParams
	salt, key []byte
}

// parsePHC reads "$argon2id$v=19$m=19456,t=2,p=1$<salt>$<key>" and nothing looser.
func parsePHC(encoded string) (phcHash, error) {
	var h phcHash
	parts := strings.Split(encoded, "$")
	if len(parts) != 6 || parts[0] != "" {
		return h, fmt.Errorf("%w: want 5 '$'-separated fields", ErrMalformedHash)
	}
	if parts[1] != "argon2id" {
		return h, fmt.Errorf("%w: algorithm %q", ErrMalformedHash, parts[1])
	}
	if parts[2] != "v="+strconv.Itoa(argon2.Version) {
		return h, fmt.Errorf("%w: version %q", ErrMalformedHash, parts[2])
	}
	m, t, p, err := parseCosts(parts[3])
	if err != nil {
		return h, err
	}
	if h.salt, err = b64.DecodeString(parts[4]); err != nil {
		return h, fmt.Errorf("%w: salt: %w", ErrMalformedHash, err)
	}
	if h.key, err = b64.DecodeString(parts[5]); err != nil {
		return h, fmt.Errorf("%w: key: %w", ErrMalformedHash, err)
	}
	h.params = PasswordParams{
		Memory: m, Time: t, Threads: p,
		SaltLen: uint32(len(h.salt)), KeyLen: uint32(len(h.key)),
	}
	if err := h.params.validate(); err != nil {
		return h, fmt.Errorf("%w: %w", ErrMalformedHash, err)
	}
	return h, nil
}

// parseCosts reads "m=<KiB>,t=<passes>,p=<lanes>" in that order, as the argon2 PHC format writes it.
func parseCosts(s string) (m, t uint32, p uint8, err error) {
	fields := strings.Split(s, ",")
	if len(fields) != 3 {
		return 0, 0, 0, fmt.Errorf("%w: parameters %q", ErrMalformedHash, s)
	}
	var vals [3]uint64
	for i, name := range []string{"m", "t", "p"} {
		v, ok := strings.CutPrefix(fields[i], name+"=")
		bits := 32
		if name == "p" {
			bits = 8
		}
		n, perr := strconv.ParseUint(v, 10, bits)
		if !ok || perr != nil {
			return 0, 0, 0, fmt.Errorf("%w: parameter %q", ErrMalformedHash, fields[i])
		}
		vals[i] = n
	}
	return uint32(vals[0]), uint32(vals[1]), uint8(vals[2]), nil
}
