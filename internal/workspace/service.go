package workspace

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/switchboard/switchboard/internal/audit"
	"github.com/switchboard/switchboard/internal/clock"
	"github.com/switchboard/switchboard/internal/db"
	"github.com/switchboard/switchboard/internal/secrets"
	"github.com/switchboard/switchboard/internal/whatsapp"
)

// ErrNotFound is a WABA or phone number that does not exist.
var ErrNotFound = errors.New("not found")

// Service connects WhatsApp Business Accounts and keeps their phone numbers in step with Meta.
type Service struct {
	db     *db.DB
	store  *Store
	audit  *audit.Log
	box    *secrets.Box
	client *whatsapp.Client
	clock  clock.Clock

	// appSecrets caches the decrypted app secrets: every webhook checks its signature against
	// them, and a query plus decryption per webhook was 6 % of the ingest CPU. Connect and
	// Update drop it; only this process changes WABAs.
	mu         sync.Mutex
	appSecrets [][]byte
}

// NewService wires the workspace service.
func NewService(d *db.DB, store *Store, log *audit.Log, box *secrets.Box, client *whatsapp.Client, clk clock.Clock) *Service {
	return &Service{db: d, store: store, audit: log, box: box, client: client, clock: clk}
}

// Store gives read access.
func (s *Service) Store() *Store { return s.store }

// WABA is a connected WhatsApp Business Account as shown to administrators: secrets only by
// their last four characters.
type WABA struct {
	ID               int64
	WABAID           string
	Name             string
	AccessTokenLast4 string
	AppSecretLast4   string
	VerifyTokenLast4 string
	HasAccessToken   bool
	HasAppSecret     bool
	HasVerifyToken   bool
	CreatedAt        time.Time
}

// WABAInput is the connection form. Empty secrets on an update keep the stored ones: secrets are
// write-only and never sent back to the browser.
type WABAInput struct {
	WABAID      string
	Name        string
	AccessToken string
	AppSecret   string
	VerifyToken string
}

var numericID = regexp.MustCompile(`^[0-9]{5,25}$`)

// FieldErrors are form errors by field name.
type FieldErrors map[string]string

func (fe FieldErrors) Error() string { return fmt.Sprintf("%d invalid fields", len(fe)) }

func (in *WABAInput) validate(creating bool) FieldErrors {
	in.WABAID, in.Name = strings.TrimSpace(in.WABAID), strings.TrimSpace(in.Name)
	in.AccessToken, in.AppSecret, in.VerifyToken = strings.TrimSpace(in.AccessToken), strings.TrimSpace(in.AppSecret), strings.TrimSpace(in.VerifyToken)
	fe := FieldErrors{}
	if !numericID.MatchString(in.WABAID) {
		fe["waba_id"] = "Enter the WhatsApp Business Account ID: the number shown in Meta's WhatsApp Manager."
	}
	if len(in.Name) > 100 || strings.ContainsAny(in.Name, "\r\n") {
		fe["name"] = "Use at most 100 characters on one line."
	}
	if creating && in.AccessToken == "" {
		fe["access_token"] = "Enter the access token of a system user with whatsapp_business_messaging and whatsapp_business_management."
	}
	if creating && in.AppSecret == "" {
		fe["app_secret"] = "Enter the app secret: it is how Switchboard knows webhooks come from Meta."
	}
	if creating && len(in.VerifyToken) < 16 {
		fe["verify_token"] = "Choose a verify token of at least 16 characters and enter the same in Meta's webhook settings."
	}
	if !creating && in.VerifyToken != "" && len(in.VerifyToken) < 16 {
		fe["verify_token"] = "Use at least 16 characters."
	}
	return fe
}

func secretContext(ref int64, what string) string {
	return "waba:" + strconv.FormatInt(ref, 10) + ":" + what
}

// Connect adds a WABA with its credentials, encrypted.
func (s *Service) Connect(ctx context.Context, in WABAInput) (WABA, error) {
	if fe := in.validate(true); len(fe) > 0 {
		return WABA{}, fe
	}
	// After the commit, so that no reader caches the secrets as they were before it.
	defer s.forgetSecrets()
	var w WABA
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM wabas WHERE waba_id = ?`, in.WABAID).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return FieldErrors{"waba_id": "This WhatsApp Business Account is already connected."}
		}
		now := s.clock.Now().UnixMilli()
		res, err := tx.ExecContext(ctx, `INSERT INTO wabas (waba_id, name, created_at, updated_at) VALUES (?, ?, ?, ?)`, in.WABAID, in.Name, now, now)
		if err != nil {
			return fmt.Errorf("connect WABA: %w", err)
		}
		ref, err := res.LastInsertId()
		if err != nil {
			return err
		}
		if err := s.storeSecrets(ctx, tx, ref, in); err != nil {
			return err
		}
		_, err = s.audit.Append(ctx, tx, audit.Event{Action: "waba.connected", Target: audit.NewTarget("waba", ref), Changes: []audit.Change{
			{Field: "waba_id", After: in.WABAID}, {Field: "name", After: in.Name},
			{Field: "access_token_last4", After: secrets.Last4(in.AccessToken)},
			{Field: "app_secret_last4", After: secrets.Last4(in.AppSecret)},
		}})
		w.ID = ref
		return err
	})
	if err != nil {
		return WABA{}, err
	}
	return s.store.WABA(ctx, w.ID)
}

// Update changes a WABA's name or replaces any of its secrets.
func (s *Service) Update(ctx context.Context, ref int64, in WABAInput) error {
	cur, err := s.store.WABA(ctx, ref)
	if err != nil {
		return err
	}
	in.WABAID = cur.WABAID
	if fe := in.validate(false); len(fe) > 0 {
		return fe
	}
	defer s.forgetSecrets()
	return s.db.Tx(ctx, func(tx *sql.Tx) error {
		var changes []audit.Change
		if in.Name != cur.Name {
			if _, err := tx.ExecContext(ctx, `UPDATE wabas SET name = ?, updated_at = ? WHERE id = ?`, in.Name, s.clock.Now().UnixMilli(), ref); err != nil {
				return err
			}
			changes = append(changes, audit.Change{Field: "name", Before: cur.Name, After: in.Name})
		}
		if in.AccessToken != "" {
			changes = append(changes, audit.Change{Field: "access_token_last4", Before: cur.AccessTokenLast4, After: secrets.Last4(in.AccessToken)})
		}
		if in.AppSecret != "" {
			changes = append(changes, audit.Change{Field: "app_secret_last4", Before: cur.AppSecretLast4, After: secrets.Last4(in.AppSecret)})
		}
		if in.VerifyToken != "" {
			changes = append(changes, audit.Change{Field: "verify_token_last4", Before: cur.VerifyTokenLast4, After: secrets.Last4(in.VerifyToken)})
		}
		if len(changes) == 0 {
			return nil
		}
		if err := s.storeSecrets(ctx, tx, ref, in); err != nil {
			return err
		}
		_, err := s.audit.Append(ctx, tx, audit.Event{Action: "waba.updated", Target: audit.NewTarget("waba", ref), Changes: changes})
		return err
	})
}

func (s *Service) storeSecrets(ctx context.Context, q db.Querier, ref int64, in WABAInput) error {
	for _, sec := range []struct{ column, value string }{
		{"access_token", in.AccessToken}, {"app_secret", in.AppSecret}, {"verify_token", in.VerifyToken},
	} {
		if sec.value == "" {
			continue
		}
		sealed, err := s.box.Seal([]byte(sec.value), secretContext(ref, sec.column))
		if err != nil {
			return err
		}
		// Column names come from the fixed list above, never from input.
		if _, err := q.ExecContext(ctx, `UPDATE wabas SET `+sec.column+`_enc = ?, `+sec.column+`_last4 = ?, updated_at = ? WHERE id = ?`,
			sealed, secrets.Last4(sec.value), s.clock.Now().UnixMilli(), ref); err != nil {
			return fmt.Errorf("store %s: %w", sec.column, err)
		}
	}
	return nil
}

// Credentials decrypts what the Cloud API client needs for a WABA.
func (s *Service) Credentials(ctx context.Context, ref int64) (whatsapp.Credentials, error) {
	var tok, sec []byte
	err := s.db.R.QueryRowContext(ctx, `SELECT access_token_enc, app_secret_enc FROM wabas WHERE id = ?`, ref).Scan(&tok, &sec)
	if errors.Is(err, sql.ErrNoRows) {
		return whatsapp.Credentials{}, ErrNotFound
	}
	if err != nil {
		return whatsapp.Credentials{}, fmt.Errorf("read credentials: %w", err)
	}
	var c whatsapp.Credentials
	if tok != nil {
		t, err := s.box.Open(tok, secretContext(ref, "access_token"))
		if err != nil {
			return whatsapp.Credentials{}, err
		}
		c.Token = string(t)
	}
	if sec != nil {
		a, err := s.box.Open(sec, secretContext(ref, "app_secret"))
		if err != nil {
			return whatsapp.Credentials{}, err
		}
		c.AppSecret = string(a)
	}
	return c, nil
}

// CredentialsForNumber finds the WABA of a phone number (Meta's id) and its credentials.
func (s *Service) CredentialsForNumber(ctx context.Context, phoneNumberID string) (whatsapp.Credentials, error) {
	var ref int64
	err := s.db.R.QueryRowContext(ctx, `SELECT waba_ref FROM phone_numbers WHERE phone_number_id = ?`, phoneNumberID).Scan(&ref)
	if errors.Is(err, sql.ErrNoRows) {
		return whatsapp.Credentials{}, ErrNotFound
	}
	if err != nil {
		return whatsapp.Credentials{}, err
	}
	return s.Credentials(ctx, ref)
}

// CredentialsForWABA finds a WABA by Meta's id and returns its credentials.
func (s *Service) CredentialsForWABA(ctx context.Context, wabaID string) (whatsapp.Credentials, error) {
	var ref int64
	err := s.db.R.QueryRowContext(ctx, `SELECT id FROM wabas WHERE waba_id = ?`, wabaID).Scan(&ref)
	if errors.Is(err, sql.ErrNoRows) {
		return whatsapp.Credentials{}, ErrNotFound
	}
	if err != nil {
		return whatsapp.Credentials{}, err
	}
	return s.Credentials(ctx, ref)
}

// AppSecrets returns every connected app secret, to check a webhook's signature against: Meta
// signs with the secret of the app the webhook is for, and a workspace may connect several.
func (s *Service) AppSecrets(ctx context.Context) ([][]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.appSecrets != nil {
		return s.appSecrets, nil
	}
	all, err := s.openAll(ctx, "app_secret")
	if err != nil {
		return nil, err
	}
	if all == nil {
		all = [][]byte{}
	}
	s.appSecrets = all
	return all, nil
}

func (s *Service) forgetSecrets() {
	s.mu.Lock()
	s.appSecrets = nil
	s.mu.Unlock()
}

// VerifyTokens returns every configured webhook verify token.
func (s *Service) VerifyTokens(ctx context.Context) ([]string, error) {
	raw, err := s.openAll(ctx, "verify_token")
	if err != nil {
		return nil, err
	}
	out := make([]string, len(raw))
	for i, r := range raw {
		out[i] = string(r)
	}
	return out, nil
}

func (s *Service) openAll(ctx context.Context, what string) ([][]byte, error) {
	rows, err := s.db.R.QueryContext(ctx, `SELECT id, `+what+`_enc FROM wabas WHERE `+what+`_enc IS NOT NULL`)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", what, err)
	}
	defer rows.Close()
	var out [][]byte
	for rows.Next() {
		var ref int64
		var sealed []byte
		if err := rows.Scan(&ref, &sealed); err != nil {
			return nil, err
		}
		v, err := s.box.Open(sealed, secretContext(ref, what))
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// SyncNumbers fetches the WABA's phone numbers from Meta and stores them; labels and the
// enabled switch are the workspace's own and are kept.
func (s *Service) SyncNumbers(ctx context.Context, ref int64) (int, error) {
	w, err := s.store.WABA(ctx, ref)
	if err != nil {
		return 0, err
	}
	creds, err := s.Credentials(ctx, ref)
	if err != nil {
		return 0, err
	}
	numbers, err := s.client.ListPhoneNumbers(ctx, creds, w.WABAID)
	if err != nil {
		return 0, err
	}
	err = s.db.Tx(ctx, func(tx *sql.Tx) error {
		now := s.clock.Now().UnixMilli()
		for _, n := range numbers {
			if _, err := tx.ExecContext(ctx, `INSERT INTO phone_numbers (waba_ref, phone_number_id, display_phone_number, verified_name,
				quality_rating, messaging_limit, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
				ON CONFLICT (phone_number_id) DO UPDATE SET display_phone_number = excluded.display_phone_number,
				verified_name = excluded.verified_name, quality_rating = excluded.quality_rating,
				messaging_limit = excluded.messaging_limit, updated_at = excluded.updated_at`,
				ref, n.ID, n.DisplayPhoneNumber, n.VerifiedName, orDefault(n.QualityRating, "UNKNOWN"), string(n.MessagingLimit), now, now); err != nil {
				return fmt.Errorf("store phone number: %w", err)
			}
		}
		_, err := s.audit.Append(ctx, tx, audit.Event{Action: "waba.numbers_synced", Target: audit.NewTarget("waba", ref),
			Changes: []audit.Change{{Field: "numbers", After: len(numbers)}}})
		return err
	})
	return len(numbers), err
}

// TestConnection calls the Cloud API with the stored token and says whether it works.
func (s *Service) TestConnection(ctx context.Context, ref int64) error {
	w, err := s.store.WABA(ctx, ref)
	if err != nil {
		return err
	}
	creds, err := s.Credentials(ctx, ref)
	if err != nil {
		return err
	}
	_, err = s.client.ListPhoneNumbers(ctx, creds, w.WABAID)
	outcome := audit.OutcomeSuccess
	if err != nil {
		outcome = audit.OutcomeFailed
	}
	if _, aerr := s.audit.Record(ctx, audit.Event{Action: "waba.connection_tested", Target: audit.NewTarget("waba", ref), Outcome: outcome}); aerr != nil {
		return aerr
	}
	return err
}

// SetNumber labels a phone number and switches it on or off.
func (s *Service) SetNumber(ctx context.Context, id int64, label string, enabled bool) error {
	label = strings.TrimSpace(label)
	if len(label) > 60 || strings.ContainsAny(label, "\r\n") {
		return FieldErrors{"label": "Use at most 60 characters on one line."}
	}
	return s.db.Tx(ctx, func(tx *sql.Tx) error {
		var curLabel string
		var curEnabled bool
		err := tx.QueryRowContext(ctx, `SELECT label, enabled FROM phone_numbers WHERE id = ?`, id).Scan(&curLabel, &curEnabled)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		}
		if err != nil {
			return err
		}
		if curLabel == label && curEnabled == enabled {
			return nil
		}
		if _, err := tx.ExecContext(ctx, `UPDATE phone_numbers SET label = ?, enabled = ?, updated_at = ? WHERE id = ?`,
			label, enabled, s.clock.Now().UnixMilli(), id); err != nil {
			return err
		}
		_, err = s.audit.Append(ctx, tx, audit.Event{Action: "phone_number.updated", Target: audit.NewTarget("phone_number", id),
			Changes: []audit.Change{{Field: "label", Before: curLabel, After: label}, {Field: "enabled", Before: curEnabled, After: enabled}}})
		return err
	})
}

func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
}
