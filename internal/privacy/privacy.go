// Package privacy carries out what the GDPR asks of a workspace about its customers: a
// subject-access export of everything held about one contact, erasure of it, retention jobs
// that delete old messages, media and webhook bodies, and the records of processing that say
// what is stored, where and for how long.
//
// The activity log and erasure. The log is a hash chain: rewriting an event breaks every hash
// after it, so erasure never touches it. Instead, the log never holds a customer's personal data
// in the first place: events name a customer only by internal ids (target "contact 42" or
// "conversation 17", a contact_id field), never by number, name or message text (consent
// wording lives in the consent history, a revealed number is not written, searches are not
// logged with their words). An id is a pseudonym whose key is the contacts table: erasure
// deletes the contact row, its conversations and everything that joins the id to a person, so
// what stays in the chain ("conversation 17 was closed by Ada") no longer leads to anyone, and
// `switchboard audit verify` still passes. TestErasureLeavesNoTrace checks both halves: the
// customer's number, name and words are found nowhere in the database file, its WAL or the media
// directory, and the chain verifies.
package privacy

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/switchboard/switchboard/internal/audit"
	"github.com/switchboard/switchboard/internal/authz"
	"github.com/switchboard/switchboard/internal/clock"
	"github.com/switchboard/switchboard/internal/db"
	"github.com/switchboard/switchboard/internal/inbox"
)

// Errors the web layer maps to answers.
var (
	ErrNotFound  = errors.New("not found")
	ErrForbidden = errors.New("forbidden")
)

// FieldError is input refused, with a message for the form.
type FieldError struct {
	Field   string
	Message string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Message }

// Service is the privacy area.
type Service struct {
	db       *db.DB
	audit    *audit.Log
	clk      clock.Clock
	inbox    *inbox.Service
	mediaDir string
	logger   *slog.Logger
	// pruneWebhooks is the inbox's rule for deleting webhook bodies (SetWebhookPruner).
	pruneWebhooks WebhookPruner
}

// New returns the privacy service; mediaDir is where media files are kept (DATA/media).
func New(d *db.DB, log *audit.Log, clk clock.Clock, ib *inbox.Service, mediaDir string, logger *slog.Logger) *Service {
	if logger == nil {
		logger = slog.Default()
	}
	return &Service{db: d, audit: log, clk: clk, inbox: ib, mediaDir: mediaDir, logger: logger}
}

// Settings are the workspace's privacy settings. Days of 0 keep forever.
type Settings struct {
	ErasureFourEyes bool
	MessagesDays    int
	MediaDays       int
	WebhookDays     int
	// ActivityDays is the activity log's retention (internal/audit), shown and saved here too.
	ActivityDays int
	UpdatedAt    time.Time
}

const maxDays = 36500

// Settings reads the privacy settings.
func (s *Service) Settings(ctx context.Context) (Settings, error) {
	var st Settings
	var updated int64
	if err := s.db.R.QueryRowContext(ctx, `SELECT erasure_four_eyes, messages_days, media_days, webhook_days, updated_at
		FROM privacy_settings WHERE id = 1`).Scan(&st.ErasureFourEyes, &st.MessagesDays, &st.MediaDays, &st.WebhookDays, &updated); err != nil {
		return Settings{}, fmt.Errorf("privacy: read settings: %w", err)
	}
	st.UpdatedAt = time.UnixMilli(updated).UTC()
	days, err := s.audit.RetentionDays(ctx)
	if err != nil {
		return Settings{}, err
	}
	st.ActivityDays = days
	return st, nil
}

// SaveSettings stores st with a privacy.settings_changed event naming what changed. The
// activity log's retention goes through internal/audit, which writes its own event.
func (s *Service) SaveSettings(ctx context.Context, p *authz.Principal, st Settings) error {
	if !p.Can(authz.WorkspaceSettingsManage) {
		return ErrForbidden
	}
	for _, f := range []struct {
		field string
		v     int
		min   int
	}{{"messages_days", st.MessagesDays, 0}, {"media_days", st.MediaDays, 0}, {"webhook_days", st.WebhookDays, 1}, {"activity_days", st.ActivityDays, 0}} {
		if f.v < f.min || f.v > maxDays {
			msg := fmt.Sprintf("Enter a number of days from %d to %d (0 keeps forever).", f.min, maxDays)
			if f.min == 1 {
				msg = fmt.Sprintf("Enter a number of days from 1 to %d.", maxDays)
			}
			return &FieldError{f.field, msg}
		}
	}
	if st.ActivityDays != 0 && st.ActivityDays < audit.MinRetentionDays {
		return &FieldError{"activity_days", fmt.Sprintf("Keep the activity log for at least %d days, or forever (0).", audit.MinRetentionDays)}
	}
	if st.MediaDays > st.MessagesDays && st.MessagesDays > 0 {
		// Media belong to messages: deleting a message deletes its media, so media cannot be
		// kept longer than the messages they came with.
		return &FieldError{"media_days", "Media cannot be kept longer than messages: choose at most the messages' number of days."}
	}
	before, err := s.Settings(ctx)
	if err != nil {
		return err
	}
	err = s.db.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `UPDATE privacy_settings SET erasure_four_eyes = ?, messages_days = ?, media_days = ?,
			webhook_days = ?, updated_at = ? WHERE id = 1`, st.ErasureFourEyes, st.MessagesDays, st.MediaDays, st.WebhookDays,
			s.clk.Now().UnixMilli()); err != nil {
			return fmt.Errorf("privacy: save settings: %w", err)
		}
		var cs []audit.Change
		add := func(field string, a, b any) {
			if a != b {
				cs = append(cs, audit.Change{Field: field, Before: a, After: b})
			}
		}
		add("erasure_four_eyes", before.ErasureFourEyes, st.ErasureFourEyes)
		add("messages_days", before.MessagesDays, st.MessagesDays)
		add("media_days", before.MediaDays, st.MediaDays)
		add("webhook_days", before.WebhookDays, st.WebhookDays)
		if len(cs) == 0 {
			return nil
		}
		_, err := s.audit.Append(ctx, tx, audit.Event{Actor: audit.PrincipalActor(p), Action: "privacy.settings_changed",
			Target: audit.Target{Type: "settings", ID: "privacy"}, Changes: cs})
		return err
	})
	if err != nil {
		return err
	}
	if st.ActivityDays != before.ActivityDays {
		return s.audit.SetRetention(audit.WithActor(ctx, audit.PrincipalActor(p)), st.ActivityDays)
	}
	return nil
}

// FindContact finds the contact p may act on by its phone number (any formatting) or, when
// number is empty, by id. A contact outside p's number scope is ErrNotFound, as in the inbox.
// Looking up by a full number needs contacts.view_pii, like the inbox's search.
func (s *Service) FindContact(ctx context.Context, p *authz.Principal, number string, id int64) (inbox.Contact, error) {
	if number != "" {
		if !p.Can(authz.ContactsViewPII) {
			return inbox.Contact{}, &FieldError{"number", "Finding a customer by phone number needs the permission to see customers' numbers (contacts.view_pii)."}
		}
		digits := ""
		for _, r := range number {
			switch {
			case r >= '0' && r <= '9':
				digits += string(r)
			case r == '+' || r == ' ' || r == '-' || r == '(' || r == ')' || r == '.':
			default:
				return inbox.Contact{}, &FieldError{"number", "Enter a phone number in international form, such as +49 151 1234 5678."}
			}
		}
		if len(digits) < 6 || len(digits) > 15 {
			return inbox.Contact{}, &FieldError{"number", "Enter a phone number in international form, such as +49 151 1234 5678."}
		}
		err := s.db.R.QueryRowContext(ctx, `SELECT id FROM contacts WHERE wa_id = ?`, digits).Scan(&id)
		if errors.Is(err, sql.ErrNoRows) {
			return inbox.Contact{}, ErrNotFound
		}
		if err != nil {
			return inbox.Contact{}, fmt.Errorf("privacy: find contact: %w", err)
		}
	}
	c, err := s.inbox.Contact(ctx, p, id)
	if errors.Is(err, inbox.ErrNotFound) || errors.Is(err, sql.ErrNoRows) {
		return inbox.Contact{}, ErrNotFound
	}
	return c, err
}

func contactTarget(id int64) audit.Target {
	return audit.Target{Type: "contact", ID: strconv.FormatInt(id, 10)}
}

// tableExists reports whether a table is in the schema: notes and media arrive by their own
// migrations, and the steps for them run only where they exist.
func tableExists(ctx context.Context, q db.Querier, name string) (bool, error) {
	var n int
	if err := q.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?`, name).Scan(&n); err != nil {
		return false, fmt.Errorf("privacy: schema: %w", err)
	}
	return n > 0, nil
}

// Counts says how many conversations and messages are stored for contact id.
func (s *Service) Counts(ctx context.Context, id int64) (conversations, messages int, err error) {
	err = s.db.R.QueryRowContext(ctx, `SELECT (SELECT count(*) FROM conversations WHERE contact_id = ?),
		(SELECT count(*) FROM messages m JOIN conversations c ON c.id = m.conversation_id WHERE c.contact_id = ?)`, id, id).Scan(&conversations, &messages)
	if err != nil {
		err = fmt.Errorf("privacy: count: %w", err)
	}
	return conversations, messages, err
}
