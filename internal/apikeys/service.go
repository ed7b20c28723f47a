package apikeys

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/switchboard/switchboard/internal/alerts"
	"github.com/switchboard/switchboard/internal/audit"
	"github.com/switchboard/switchboard/internal/authz"
	"github.com/switchboard/switchboard/internal/clock"
	"github.com/switchboard/switchboard/internal/db"
	"github.com/switchboard/switchboard/internal/members"
)

// Policy is what the workspace allows; the settings store answers it.
type Policy interface {
	APIKeysAllowNoExpiry(ctx context.Context) (bool, error)
}

// Service creates, lists, revokes and authenticates API keys.
type Service struct {
	db      *db.DB
	store   *Store
	members *members.Store
	audit   *audit.Log
	alerts  *alerts.Service
	policy  Policy
	clock   clock.Clock
}

// NewService wires the service. alerts may be nil (no alert raised).
func NewService(d *db.DB, m *members.Store, log *audit.Log, al *alerts.Service, policy Policy, clk clock.Clock) *Service {
	return &Service{db: d, store: NewStore(d), members: m, audit: log, alerts: al, policy: policy, clock: clk}
}

// Store exposes the reads.
func (s *Service) Store() *Store { return s.store }

func (s *Service) now() time.Time { return s.clock.Now().UTC().Truncate(time.Millisecond) }

// Create makes a key for p and returns it with its secret, which is never available again.
// Nobody hands out more than they hold: every scope must be one of p's permissions, and the
// number scope within p's.
func (s *Service) Create(ctx context.Context, p *authz.Principal, in NewKey) (Key, string, error) {
	if !p.Can(authz.APIKeysManage) {
		return Key{}, "", forbidden("Creating API keys needs the api_keys.manage permission.")
	}
	if p.APIKeyID != 0 {
		// A key that makes keys would let a leaked key outlive its own revocation.
		return Key{}, "", forbidden("API keys are created on the Developers page, not with another key.")
	}
	k, err := s.validate(ctx, p, in)
	if err != nil {
		return Key{}, "", err
	}
	secret, hash, err := newSecret()
	if err != nil {
		return Key{}, "", err
	}
	k.Last4 = secret[len(secret)-4:]
	var raised alerts.Alert
	err = s.db.Tx(ctx, func(tx *sql.Tx) error {
		var epoch int64
		if err := tx.QueryRowContext(ctx, `SELECT session_epoch FROM members WHERE id = ?`, p.MemberID).Scan(&epoch); err != nil {
			return fmt.Errorf("read creator: %w", err)
		}
		if err := s.checkNumbersExist(ctx, tx, k.Numbers.IDs); err != nil {
			return err
		}
		if k.ID, err = s.store.insert(ctx, tx, k, hash, epoch); err != nil {
			return err
		}
		expires := "never"
		if !k.ExpiresAt.IsZero() {
			expires = k.ExpiresAt.Format(time.RFC3339)
		}
		if _, err := s.audit.Append(ctx, tx, audit.Event{Actor: audit.MemberActor(p.MemberID, p.Name), Action: "api_key.created",
			Target: keyTarget(k.ID), Changes: []audit.Change{
				{Field: "name", After: k.Name},
				{Field: "scopes", After: k.Scopes.IDs()},
				{Field: "numbers", After: scopeLabel(k.Numbers)},
				{Field: "expires_at", After: expires},
				{Field: "last4", After: k.Last4},
			}}); err != nil {
			return err
		}
		if s.alerts == nil {
			return nil
		}
		raised, err = s.alerts.Raise(ctx, tx, alerts.Alert{Kind: alerts.KindAPIKeyCreated,
			Title:   fmt.Sprintf("%s created the API key %q", p.Name, k.Name),
			Subject: alerts.Subject{Type: "api_key", ID: fmt.Sprint(k.ID)},
			Details: map[string]string{"key_name": k.Name, "created_by": p.Name, "scopes": strings.Join(k.Scopes.IDs(), " "), "expires": expires}})
		return err
	})
	if err != nil {
		return Key{}, "", err
	}
	if s.alerts != nil {
		_ = s.alerts.Notify(ctx, raised)
	}
	return k, secret, nil
}

func (s *Service) validate(ctx context.Context, p *authz.Principal, in NewKey) (Key, error) {
	fe := FieldErrors{}
	now := s.now()
	k := Key{Name: strings.TrimSpace(in.Name), CreatedBy: p.MemberID, CreatedByName: p.Name, CreatedAt: now,
		Numbers: authz.NumberScope{All: in.AllNumbers}}
	switch {
	case k.Name == "":
		fe["name"] = "Name the key after what uses it, such as “n8n order sync”."
	case utf8.RuneCountInString(k.Name) > maxNameRunes:
		fe["name"] = "Use at most 100 characters."
	case strings.IndexFunc(k.Name, func(r rune) bool { return r < 0x20 || r == 0x7f }) >= 0:
		fe["name"] = "The name contains a character that cannot be stored."
	}
	for _, id := range in.Scopes {
		perm, err := authz.Parse(id)
		if err != nil {
			fe["scopes"] = fmt.Sprintf("%q is not a permission.", id)
			break
		}
		k.Scopes = k.Scopes.With(perm)
	}
	if _, bad := fe["scopes"]; !bad {
		if k.Scopes.Len() == 0 {
			fe["scopes"] = "Choose at least one permission for the key."
		} else if missing := k.Scopes.Minus(p.Permissions); missing.Len() > 0 {
			fe["scopes"] = "A key can only have permissions you hold yourself; you do not hold " + strings.Join(missing.IDs(), ", ") + "."
		}
	}
	if !in.AllNumbers {
		k.Numbers.IDs = normaliseIDs(in.NumberIDs)
		if len(k.Numbers.IDs) == 0 {
			fe["numbers"] = "Choose all numbers or at least one number."
		}
	}
	if _, bad := fe["numbers"]; !bad && !p.Numbers.Covers(k.Numbers) {
		fe["numbers"] = "A key can only work in phone numbers you work in yourself."
	}
	switch {
	case in.NoExpiry:
		allowed, err := s.policy.APIKeysAllowNoExpiry(ctx)
		if err != nil {
			return Key{}, err
		}
		if !allowed {
			fe["expiry"] = "Keys that never expire are switched off for this workspace; choose at most one year."
		}
	case in.ExpiresIn < 0 || in.ExpiresIn > MaxExpiry:
		fe["expiry"] = "Choose an expiry between one day and one year."
	case in.ExpiresIn == 0:
		k.ExpiresAt = now.Add(DefaultExpiry)
	case in.ExpiresIn < 24*time.Hour:
		fe["expiry"] = "Choose an expiry between one day and one year."
	default:
		k.ExpiresAt = now.Add(in.ExpiresIn)
	}
	if len(fe) > 0 {
		return Key{}, fe
	}
	return k, nil
}

func (s *Service) checkNumbersExist(ctx context.Context, q db.Querier, ids []int64) error {
	for _, id := range ids {
		var n int
		if err := q.QueryRowContext(ctx, `SELECT count(*) FROM phone_numbers WHERE id = ?`, id).Scan(&n); err != nil {
			return fmt.Errorf("check phone number: %w", err)
		}
		if n == 0 {
			return FieldErrors{"numbers": "Choose connected phone numbers."}
		}
	}
	return nil
}

// Revoke stops a key at once. Any holder of api_keys.manage may revoke any key: taking access
// away is never an escalation, and a leaked key must be stoppable while its creator is away.
func (s *Service) Revoke(ctx context.Context, p *authz.Principal, id int64) error {
	if !p.Can(authz.APIKeysManage) {
		return forbidden("Revoking API keys needs the api_keys.manage permission.")
	}
	return s.db.Tx(ctx, func(tx *sql.Tx) error {
		k, err := scanKey(tx.QueryRowContext(ctx, `SELECT `+keyColumns+` FROM api_keys WHERE id = ?`, id))
		if err != nil {
			return err
		}
		if !k.RevokedAt.IsZero() {
			return nil
		}
		now := s.now()
		if _, err := tx.ExecContext(ctx, `UPDATE api_keys SET revoked_at = ?, revoked_by_name = ? WHERE id = ?`, now.UnixMilli(), p.Name, id); err != nil {
			return fmt.Errorf("revoke API key: %w", err)
		}
		_, err = s.audit.Append(ctx, tx, audit.Event{Actor: audit.PrincipalActor(p), Action: "api_key.revoked", Target: keyTarget(id),
			Changes: []audit.Change{{Field: "name", After: k.Name}, {Field: "status", Before: k.Status(now), After: "revoked"}}})
		return err
	})
}

// touchResolution bounds how often a busy key's last use is written.
const touchResolution = time.Minute

// Authenticate turns a secret into the principal of its key, loaded fresh: the key must be
// neither revoked nor expired, its creator active and their sessions not revoked since, and
// what it may do is its scopes and numbers narrowed by the creator's current ones.
func (s *Service) Authenticate(ctx context.Context, secret, addr string) (*authz.Principal, error) {
	hash, ok := hashSecret(secret)
	if !ok {
		return nil, ErrUnauthorized
	}
	k, err := s.store.byHash(ctx, hash)
	if errors.Is(err, ErrNotFound) {
		return nil, ErrUnauthorized
	}
	if err != nil {
		return nil, err
	}
	now := s.now()
	if k.Status(now) != "active" {
		return nil, ErrUnauthorized
	}
	creator, m, err := s.members.Principal(ctx, k.CreatedBy)
	if errors.Is(err, members.ErrNotFound) {
		return nil, ErrUnauthorized
	}
	if err != nil {
		return nil, err
	}
	if !m.Active() || m.SessionEpoch != k.CreatorEpoch {
		return nil, ErrUnauthorized
	}
	if now.Sub(k.LastUsedAt) >= touchResolution || k.LastUsedAddr != addr {
		if err := s.store.touch(ctx, k.ID, now, addr); err != nil {
			return nil, err
		}
	}
	return effective(k.Key, creator), nil
}

func keyTarget(id int64) audit.Target { return audit.NewTarget("api_key", id) }

func scopeLabel(n authz.NumberScope) string {
	if n.All {
		return "all"
	}
	return db.FormatIDs(n.IDs)
}

func normaliseIDs(ids []int64) []int64 {
	var out []int64
	for _, id := range ids {
		if id > 0 && !containsID(out, id) {
			out = append(out, id)
		}
	}
	return out
}

func containsID(ids []int64, id int64) bool {
	for _, x := range ids {
		if x == id {
			return true
		}
	}
	return false
}
