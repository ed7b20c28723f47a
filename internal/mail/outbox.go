// Package mail delivers Switchboard's e-mail: invitations, password reset links, security alerts
// and the administrator's test message. A request never talks to the mail server. It writes the
// message to the outbox in the transaction of the change the message is about (so the mail goes
// out if and only if the change commits), and a background Worker delivers it over SMTP with
// retries and growing back-off. Once the server has accepted a message its row is marked sent,
// so nothing is delivered twice in normal operation; a crash in the instant between the server's
// acceptance and that mark can repeat one message, with the same Message-ID, which mail clients
// and the tests recognise.
package mail

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/switchboard/switchboard/internal/clock"
	"github.com/switchboard/switchboard/internal/db"
	"github.com/switchboard/switchboard/internal/secrets"
)

// Kinds of mail, as stored and shown in the activity log.
const (
	KindInvitation     = "invitation"
	KindPasswordReset  = "password_reset"
	KindAlert          = "alert"
	KindTest           = "test"
	KindReviewReminder = "review_reminder"
)

// Message is one e-mail to one recipient, with a plain-text and an HTML part.
type Message struct {
	Kind    string
	To      string
	Subject string
	Text    string
	HTML    string
}

// Queued is an outbox row due for delivery.
type Queued struct {
	ID        int64
	MessageID string // without angle brackets
	Message
	Attempts int
}

// Outbox stores messages until they are delivered.
type Outbox struct {
	db     *db.DB
	box    *secrets.Box
	clock  clock.Clock
	domain string
	kick   chan struct{}
}

// NewOutbox returns the outbox. domain ends every Message-ID (the from-address's domain);
// bodies are sealed with box, because a reset or invitation link is a credential.
func NewOutbox(d *db.DB, box *secrets.Box, clk clock.Clock, domain string) *Outbox {
	if domain == "" {
		domain = "switchboard.invalid"
	}
	return &Outbox{db: d, box: box, clock: clk, domain: domain, kick: make(chan struct{}, 1)}
}

type body struct {
	Text string `json:"text"`
	HTML string `json:"html"`
}

func sealContext(messageID string) string { return "mail:" + messageID }

// Enqueue writes m to the outbox through q, the caller's write transaction, and returns the
// row's id and its Message-ID. The message leaves only if that transaction commits.
func (o *Outbox) Enqueue(ctx context.Context, q db.Querier, m Message) (int64, string, error) {
	if m.To == "" || m.Subject == "" || m.Kind == "" {
		return 0, "", errors.New("mail: a message needs a kind, a recipient and a subject")
	}
	if strings.ContainsAny(m.To+m.Subject, "\r\n") {
		return 0, "", errors.New("mail: line break in a header")
	}
	mid := strings.ToLower(rand.Text()) + "@" + o.domain
	plain, err := json.Marshal(body{Text: m.Text, HTML: m.HTML})
	if err != nil {
		return 0, "", err
	}
	sealed, err := o.box.Seal(plain, sealContext(mid))
	if err != nil {
		return 0, "", err
	}
	now := o.clock.Now().UnixMilli()
	res, err := q.ExecContext(ctx, `INSERT INTO mail_outbox (message_id, kind, recipient, subject, body, created_at, next_attempt_at)
		VALUES (?, ?, ?, ?, ?, ?, ?)`, mid, m.Kind, m.To, m.Subject, sealed, now, now)
	if err != nil {
		return 0, "", fmt.Errorf("queue mail: %w", err)
	}
	id, err := res.LastInsertId()
	if err != nil {
		return 0, "", err
	}
	o.Kick()
	return id, mid, nil
}

// Kick wakes the worker early; it also polls, so a kick lost before a commit costs a second.
func (o *Outbox) Kick() {
	select {
	case o.kick <- struct{}{}:
	default:
	}
}

// due returns up to limit messages whose next attempt is due, oldest first.
func (o *Outbox) due(ctx context.Context, limit int) ([]Queued, error) {
	rows, err := o.db.R.QueryContext(ctx, `SELECT id, message_id, kind, recipient, subject, body, attempts FROM mail_outbox
		WHERE sent_at IS NULL AND given_up_at IS NULL AND next_attempt_at <= ? ORDER BY next_attempt_at, id LIMIT ?`,
		o.clock.Now().UnixMilli(), limit)
	if err != nil {
		return nil, fmt.Errorf("read outbox: %w", err)
	}
	defer rows.Close()
	var out []Queued
	for rows.Next() {
		var qd Queued
		var sealed []byte
		if err := rows.Scan(&qd.ID, &qd.MessageID, &qd.Kind, &qd.To, &qd.Subject, &sealed, &qd.Attempts); err != nil {
			return nil, err
		}
		plain, err := o.box.Open(sealed, sealContext(qd.MessageID))
		if err != nil {
			return nil, fmt.Errorf("outbox message %d: %w", qd.ID, err)
		}
		var b body
		if err := json.Unmarshal(plain, &b); err != nil {
			return nil, fmt.Errorf("outbox message %d: %w", qd.ID, err)
		}
		qd.Text, qd.HTML = b.Text, b.HTML
		out = append(out, qd)
	}
	return out, rows.Err()
}

// Status is the outbox at a glance, for the settings page.
type Status struct {
	Waiting   int
	Sent      int
	GivenUp   int
	LastError string // of the most recent failed attempt still waiting or given up, "" if none
}

// Status counts the outbox's rows.
func (o *Outbox) Status(ctx context.Context) (Status, error) {
	var st Status
	err := o.db.R.QueryRowContext(ctx, `SELECT
		count(*) FILTER (WHERE sent_at IS NULL AND given_up_at IS NULL),
		count(*) FILTER (WHERE sent_at IS NOT NULL),
		count(*) FILTER (WHERE given_up_at IS NOT NULL)
		FROM mail_outbox`).Scan(&st.Waiting, &st.Sent, &st.GivenUp)
	if err != nil {
		return Status{}, fmt.Errorf("outbox status: %w", err)
	}
	err = o.db.R.QueryRowContext(ctx, `SELECT last_error FROM mail_outbox WHERE sent_at IS NULL AND last_error <> ''
		ORDER BY id DESC LIMIT 1`).Scan(&st.LastError)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return Status{}, fmt.Errorf("outbox status: %w", err)
	}
	return st, nil
}

// Prune removes rows delivered or given up before cutoff.
func (o *Outbox) Prune(ctx context.Context, cutoff time.Time) (int64, error) {
	res, err := o.db.W.ExecContext(ctx, `DELETE FROM mail_outbox WHERE coalesce(sent_at, given_up_at) < ?`, millis(cutoff))
	if err != nil {
		return 0, fmt.Errorf("prune outbox: %w", err)
	}
	return res.RowsAffected()
}

func millis(t time.Time) int64 { return t.UnixMilli() }
