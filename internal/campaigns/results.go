package campaigns

import (
	"context"
	"database/sql"
	"encoding/csv"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/switchboard/switchboard/internal/audit"
	"github.com/switchboard/switchboard/internal/authz"
	"github.com/switchboard/switchboard/internal/inbox"
)

// Results are a campaign's figures: what WhatsApp reported for its messages and what the
// customers did after.
type Results struct {
	Progress
	Delivered int // delivered or read
	Read      int
	Replied   int // wrote back after the message
	OptedOut  int // opted out after the message
	// Reasons counts failed and skipped recipients by reason, largest first.
	Reasons []Reason
}

// Reason is one cause of failure or of a recipient left out at sending time.
type Reason struct {
	State RecipientState
	Code  int
	Title string
	Count int
}

// resultsQuery derives each sent recipient's outcome from the message in the conversation (its
// status as Meta reported it) and what followed: an inbound message, an opt-out.
const resultsQuery = `SELECT
	count(CASE WHEN m.status IN ('delivered', 'read') THEN 1 END),
	count(CASE WHEN m.status = 'read' THEN 1 END),
	count(CASE WHEN EXISTS (SELECT 1 FROM messages i WHERE i.conversation_id = m.conversation_id AND i.direction = 'in'
		AND i.created_at > r.sent_at) THEN 1 END),
	count(CASE WHEN EXISTS (SELECT 1 FROM contact_consents cc WHERE cc.contact_id = r.contact_id AND cc.status = 'opted_out'
		AND cc.recorded_at >= r.sent_at) THEN 1 END),
	count(CASE WHEN m.status = 'failed' THEN 1 END)
	FROM campaign_recipients r JOIN messages m ON m.id = r.message_id
	WHERE r.campaign_id = ? AND r.state = 'sent'`

// Results computes a campaign's figures for a member who may see it.
func (s *Service) Results(ctx context.Context, p *authz.Principal, id int64) (Campaign, Results, error) {
	c, err := s.Get(ctx, p, id)
	if err != nil {
		return Campaign{}, Results{}, err
	}
	res, err := s.results(ctx, id)
	return c, res, err
}

func (s *Service) results(ctx context.Context, id int64) (Results, error) {
	pr, err := s.Progress(ctx, id)
	if err != nil {
		return Results{}, err
	}
	res := Results{Progress: pr}
	var failedLater int
	if err := s.db.R.QueryRowContext(ctx, resultsQuery, id).Scan(&res.Delivered, &res.Read, &res.Replied, &res.OptedOut, &failedLater); err != nil {
		return Results{}, fmt.Errorf("campaign results: %w", err)
	}
	// Accepted by Meta but failed on the way (131026, 131049, …): a failure, not a send.
	res.Sent -= failedLater
	res.Failed += failedLater
	rows, err := s.db.R.QueryContext(ctx, `SELECT r.state, coalesce(m.error_code, r.error_code, 0),
		CASE WHEN r.state = 'sent' THEN m.error_title ELSE r.error_title END, count(*)
		FROM campaign_recipients r LEFT JOIN messages m ON m.id = r.message_id
		WHERE r.campaign_id = ? AND (r.state IN ('failed', 'skipped') OR m.status = 'failed')
		GROUP BY 1, 2, 3 ORDER BY 4 DESC LIMIT 20`, id)
	if err != nil {
		return Results{}, fmt.Errorf("campaign failure reasons: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var r Reason
		if err := rows.Scan(&r.State, &r.Code, &r.Title, &r.Count); err != nil {
			return Results{}, err
		}
		if r.State == StateSent {
			r.State = StateFailed
		}
		res.Reasons = append(res.Reasons, r)
	}
	return res, rows.Err()
}

// Recipient is one row of a campaign's per-recipient status.
type Recipient struct {
	ID        int64
	ContactID int64
	Name      string
	Phone     string
	State     RecipientState
	Status    string // the message's status at Meta: accepted, sent, delivered, read, failed
	ErrorCode int
	Error     string
	SentAt    time.Time
	Replied   bool
}

// StatusLabel is the recipient's status for people.
func (r Recipient) StatusLabel() string {
	switch {
	case r.State == StateSent && r.Status != "" && r.Status != "pending" && r.Status != "accepted":
		return capital(r.Status)
	case r.State == StateSent:
		return "Sent"
	case r.State == StateSending:
		return "Sending"
	}
	return capital(string(r.State))
}

func capital(s string) string {
	if s == "" {
		return s
	}
	return string(s[0]-'a'+'A') + s[1:]
}

const recipientQuery = `SELECT r.id, r.contact_id, c.profile_name, coalesce(c.wa_id, ''), r.state, coalesce(m.status, ''),
	coalesce(m.error_code, r.error_code, 0), CASE WHEN r.state = 'sent' THEN coalesce(m.error_title, '') ELSE r.error_title END,
	coalesce(r.sent_at, 0),
	EXISTS (SELECT 1 FROM messages i WHERE i.conversation_id = m.conversation_id AND i.direction = 'in' AND i.created_at > r.sent_at)
	FROM campaign_recipients r JOIN contacts c ON c.id = r.contact_id LEFT JOIN messages m ON m.id = r.message_id
	WHERE r.campaign_id = ? AND r.id > ? ORDER BY r.id LIMIT ?`

// Recipients pages through a campaign's recipients after the id after.
func (s *Service) Recipients(ctx context.Context, p *authz.Principal, id, after int64, limit int) ([]Recipient, error) {
	if _, err := s.Get(ctx, p, id); err != nil {
		return nil, err
	}
	var out []Recipient
	err := s.eachRecipient(ctx, id, after, limit, func(r Recipient) error { out = append(out, r); return nil })
	return out, err
}

// eachRecipient calls fn for a page of recipients, read in full first: ExportCSV's fn writes to
// the client, and a reader held while a slow download drains is one every page view and every
// write transaction that reads may wait for.
func (s *Service) eachRecipient(ctx context.Context, id, after int64, limit int, fn func(Recipient) error) error {
	page, err := s.recipientPage(ctx, id, after, limit)
	if err != nil {
		return err
	}
	for _, r := range page {
		if err := fn(r); err != nil {
			return err
		}
	}
	return nil
}

func (s *Service) recipientPage(ctx context.Context, id, after int64, limit int) ([]Recipient, error) {
	rows, err := s.db.R.QueryContext(ctx, recipientQuery, id, after, limit)
	if err != nil {
		return nil, fmt.Errorf("campaign recipients: %w", err)
	}
	defer rows.Close()
	var out []Recipient
	for rows.Next() {
		var r Recipient
		var sentAt int64
		var replied sql.NullBool
		if err := rows.Scan(&r.ID, &r.ContactID, &r.Name, &r.Phone, &r.State, &r.Status, &r.ErrorCode, &r.Error, &sentAt, &replied); err != nil {
			return nil, fmt.Errorf("scan recipient: %w", err)
		}
		if r.Phone != "" {
			r.Phone = "+" + r.Phone
		}
		if sentAt > 0 {
			r.SentAt = time.UnixMilli(sentAt).UTC()
		}
		r.Replied = replied.Valid && replied.Bool
		out = append(out, r)
	}
	return out, rows.Err()
}

// CanExport reports whether p may download a campaign's recipients: reports.export or
// campaigns.manage.
func CanExport(p *authz.Principal) bool {
	return p.CanAny(authz.ReportsExport, authz.CampaignsManage)
}

// ExportCSV streams a campaign's per-recipient status to w as CSV, page by page, so a campaign
// of 100,000 recipients is never held in memory, and records the export in the activity log.
// Phone numbers are included only for members who may see them (contacts.view_pii).
func (s *Service) ExportCSV(ctx context.Context, p *authz.Principal, id int64, w io.Writer) error {
	if !CanExport(p) {
		return s.refuse(ctx, p, "campaign.exported", id, forbidden("Exporting needs the permission “%s” or “%s”.",
			authz.ReportsExport.Label(), authz.CampaignsManage.Label()))
	}
	// reports.export alone reads a campaign it could not open: within the member's numbers.
	c, err := s.get(ctx, s.db.R, id)
	if err != nil {
		return err
	}
	if !p.Numbers.SeesNumber(c.PhoneNumberID) {
		return ErrNotFound
	}
	pii := p.Can(authz.ContactsViewPII)
	cw := csv.NewWriter(w)
	header := []string{"contact_id", "name", "phone", "state", "message_status", "error_code", "error", "sent_at", "replied"}
	if err := cw.Write(header); err != nil {
		return err
	}
	rows := 0
	var after int64
	for {
		n := 0
		err := s.eachRecipient(ctx, id, after, 1000, func(r Recipient) error {
			n++
			after = r.ID
			phone, name := r.Phone, r.Name
			if !pii {
				phone, name = inbox.MaskPhone(r.Phone), inbox.MaskName(r.Name, r.Phone)
			}
			code := ""
			if r.ErrorCode != 0 {
				code = strconv.Itoa(r.ErrorCode)
			}
			sent := ""
			if !r.SentAt.IsZero() {
				sent = r.SentAt.Format(time.RFC3339)
			}
			return cw.Write([]string{strconv.FormatInt(r.ContactID, 10), safeCell(name), phone, string(r.State), r.Status, code,
				safeCell(r.Error), sent, strconv.FormatBool(r.Replied)})
		})
		if err != nil {
			return err
		}
		rows += n
		cw.Flush()
		if err := cw.Error(); err != nil {
			return err
		}
		if n < 1000 {
			break
		}
	}
	_, err = s.audit.Record(ctx, audit.Event{Actor: audit.PrincipalActor(p), Action: "campaign.exported", Target: target(id, c.Name),
		Changes: []audit.Change{{Field: "rows", After: rows}, {Field: "phone_numbers", After: pii}}})
	return err
}

// safeCell keeps a spreadsheet from reading a customer's name as a formula.
func safeCell(s string) string {
	if s != "" && (s[0] == '=' || s[0] == '+' || s[0] == '-' || s[0] == '@') {
		return "'" + s
	}
	return s
}
