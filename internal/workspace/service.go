package workspace

import (
	"context"
	"database/sql"
	"encoding/json"
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
	DisconnectedAt   time.Time // zero while connected
	Numbers          int       // phone numbers fetched for it
}

// WABAInput is the connection form. Empty secrets on an update keep the stored ones: secrets are
// write-only and never sent back to the browser.
type WABAInput struct {
	WABAID      string
	Name        string
	AccessToken string
	AppSecret   string
	VerifyToken string
	// SaveUntested stores the account even though the Cloud API refused its credentials: the
	// administrator saw the refusal and chose "Save anyway".
	SaveUntested bool `json:"save_untested"`
}

// ConnectionTestError is the Cloud API's refusal of the credentials of an account being
// connected. Nothing was stored; Connect with SaveUntested stores it anyway.
type ConnectionTestError struct{ Err error }

func (e *ConnectionTestError) Error() string { return "connection test failed: " + e.Err.Error() }
func (e *ConnectionTestError) Unwrap() error { return e.Err }

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

// Connect adds a WABA with its credentials, encrypted. The credentials are tried against the
// Cloud API first: an account whose token Meta refuses is not stored (a *ConnectionTestError)
// unless in.SaveUntested says the administrator chose to keep it anyway. Connecting an account
// that was disconnected brings back its row, numbers and conversations.
func (s *Service) Connect(ctx context.Context, in WABAInput) (WABA, error) {
	if fe := in.validate(true); len(fe) > 0 {
		return WABA{}, fe
	}
	var exists int
	if err := s.db.R.QueryRowContext(ctx, `SELECT count(*) FROM wabas WHERE waba_id = ? AND disconnected_at IS NULL`, in.WABAID).Scan(&exists); err != nil {
		return WABA{}, err
	}
	if exists > 0 {
		return WABA{}, FieldErrors{"waba_id": "This WhatsApp Business Account is already connected."}
	}
	tested := "passed"
	if _, err := s.client.ListPhoneNumbers(ctx, whatsapp.Credentials{Token: in.AccessToken, AppSecret: in.AppSecret}, in.WABAID); err != nil {
		if !in.SaveUntested {
			if _, aerr := s.audit.Record(ctx, audit.Event{Action: "waba.connection_tested", Target: audit.Target{Type: "meta_waba", ID: in.WABAID},
				Outcome: audit.OutcomeFailed}); aerr != nil {
				return WABA{}, aerr
			}
			return WABA{}, &ConnectionTestError{Err: err}
		}
		tested = "failed, saved anyway"
	}
	// After the commit, so that no reader caches the secrets as they were before it.
	defer s.forgetSecrets()
	var w WABA
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		now := s.clock.Now().UnixMilli()
		var ref int64
		err := tx.QueryRowContext(ctx, `SELECT id FROM wabas WHERE waba_id = ? AND disconnected_at IS NOT NULL`, in.WABAID).Scan(&ref)
		reconnected := err == nil
		switch {
		case reconnected:
			_, err = tx.ExecContext(ctx, `UPDATE wabas SET disconnected_at = NULL, name = ?, updated_at = ? WHERE id = ?`, in.Name, now, ref)
		case errors.Is(err, sql.ErrNoRows):
			var res sql.Result
			res, err = tx.ExecContext(ctx, `INSERT INTO wabas (waba_id, name, created_at, updated_at) VALUES (?, ?, ?, ?)`, in.WABAID, in.Name, now, now)
			if err == nil {
				ref, err = res.LastInsertId()
			}
		}
		if err != nil {
			return fmt.Errorf("connect WABA: %w", err)
		}
		if err := s.storeSecrets(ctx, tx, ref, in); err != nil {
			return err
		}
		changes := []audit.Change{
			{Field: "waba_id", After: in.WABAID}, {Field: "name", After: in.Name},
			{Field: "access_token_last4", After: secrets.Last4(in.AccessToken)},
			{Field: "app_secret_last4", After: secrets.Last4(in.AppSecret)},
			{Field: "connection_test", After: tested},
		}
		if reconnected {
			changes = append(changes, audit.Change{Field: "disconnected", Before: true, After: false})
		}
		_, err = s.audit.Append(ctx, tx, audit.Event{Action: "waba.connected", Target: audit.NewTarget("waba", ref), Changes: changes})
		w.ID = ref
		return err
	})
	if err != nil {
		return WABA{}, err
	}
	return s.store.WABA(ctx, w.ID)
}

// Disconnect removes a WABA from service without erasing what happened in it: its secrets are
// wiped (so its webhooks no longer pass the signature check and nothing can call Meta for it),
// its phone numbers are no longer served (not listed, nothing sent, no new messages stored), and
// its conversations stay in the inbox, read-only, with their history. Connecting the same
// account again undoes it.
func (s *Service) Disconnect(ctx context.Context, ref int64) error {
	cur, err := s.store.WABA(ctx, ref)
	if err != nil {
		return err
	}
	defer s.forgetSecrets()
	return s.db.Tx(ctx, func(tx *sql.Tx) error {
		now := s.clock.Now().UnixMilli()
		if _, err := tx.ExecContext(ctx, `UPDATE wabas SET disconnected_at = ?, updated_at = ?,
			access_token_enc = NULL, app_secret_enc = NULL, verify_token_enc = NULL,
			access_token_last4 = '', app_secret_last4 = '', verify_token_last4 = '' WHERE id = ?`, now, now, ref); err != nil {
			return fmt.Errorf("disconnect WABA: %w", err)
		}
		_, err := s.audit.Append(ctx, tx, audit.Event{Action: "waba.disconnected", Target: audit.NewTarget("waba", ref), Changes: []audit.Change{
			{Field: "waba_id", Before: cur.WABAID}, {Field: "name", Before: cur.Name},
			{Field: "phone_numbers_served", Before: cur.Numbers, After: 0},
			{Field: "access_token_last4", Before: cur.AccessTokenLast4, After: ""},
			{Field: "app_secret_last4", Before: cur.AppSecretLast4, After: ""},
		}})
		return err
	})
}

// NumberServed says whether a phone number (our id) belongs to a connected account: the
// conversations of a disconnected account's numbers are kept read-only.
func (s *Service) NumberServed(ctx context.Context, id int64) (bool, error) {
	var n int
	err := s.db.R.QueryRowContext(ctx, `SELECT count(*) FROM phone_numbers p JOIN wabas w ON w.id = p.waba_ref
		WHERE p.id = ? AND w.disconnected_at IS NULL`, id).Scan(&n)
	return n > 0, err
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
	err := s.db.R.QueryRowContext(ctx, `SELECT access_token_enc, app_secret_enc FROM wabas WHERE id = ? AND disconnected_at IS NULL`, ref).Scan(&tok, &sec)
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
	err := s.db.R.QueryRowContext(ctx, `SELECT p.waba_ref FROM phone_numbers p JOIN wabas w ON w.id = p.waba_ref
		WHERE p.phone_number_id = ? AND w.disconnected_at IS NULL`, phoneNumberID).Scan(&ref)
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
	err := s.db.R.QueryRowContext(ctx, `SELECT id FROM wabas WHERE waba_id = ? AND disconnected_at IS NULL`, wabaID).Scan(&ref)
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

// pendingLifetime bounds how long a refused connection waits for "Save anyway".
const pendingLifetime = 15 * time.Minute

type pendingConnection struct {
	Input   WABAInput `json:"input"`
	Created int64     `json:"created"`
}

// SealPending encrypts a connection the Cloud API refused, so the page can offer "Save anyway"
// without sending the secrets back to the browser: the caller keeps the sealed value on the
// server side (the member's session).
func (s *Service) SealPending(in WABAInput) ([]byte, error) {
	b, err := json.Marshal(pendingConnection{Input: in, Created: s.clock.Now().UnixMilli()})
	if err != nil {
		return nil, err
	}
	return s.box.Seal(b, "pending-waba")
}

// ErrPendingExpired is a "Save anyway" for a refused connection that is gone or too old.
var ErrPendingExpired = errors.New("the refused connection is no longer waiting: enter it again")

// OpenPending decrypts a connection sealed by SealPending, refusing one older than 15 minutes.
func (s *Service) OpenPending(sealed []byte) (WABAInput, error) {
	if len(sealed) == 0 {
		return WABAInput{}, ErrPendingExpired
	}
	b, err := s.box.Open(sealed, "pending-waba")
	if err != nil {
		return WABAInput{}, ErrPendingExpired
	}
	var p pendingConnection
	if err := json.Unmarshal(b, &p); err != nil {
		return WABAInput{}, ErrPendingExpired
	}
	if s.clock.Now().Sub(time.UnixMilli(p.Created)) > pendingLifetime {
		return WABAInput{}, ErrPendingExpired
	}
	return p.Input, nil
}
