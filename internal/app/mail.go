package app

import (
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/switchboard/switchboard/internal/alerts"
	"github.com/switchboard/switchboard/internal/config"
	"github.com/switchboard/switchboard/internal/db"
	"github.com/switchboard/switchboard/internal/mail"
	"github.com/switchboard/switchboard/internal/members"
	"github.com/switchboard/switchboard/internal/reviews"
)

// alertMail e-mails a new alert to the members who may see alerts and have not opted out, in
// the transaction that raises it.
type alertMail struct {
	store  *members.Store
	mailer *mail.Mailer
}

func (m alertMail) AlertRaised(ctx context.Context, q db.Querier, a alerts.Alert, chosen []int64) ([]alerts.MailDelivery, error) {
	var to []string
	if chosen == nil {
		all, err := m.store.AlertMailRecipients(ctx, q)
		if err != nil {
			return nil, err
		}
		to = all
	} else {
		some, err := m.store.AlertMailRecipientsAmong(ctx, q, chosen)
		if err != nil {
			return nil, err
		}
		for _, r := range some {
			to = append(to, r.Email)
		}
	}
	var out []alerts.MailDelivery
	for _, addr := range to {
		id, err := m.mailer.SendAlertTo(ctx, q, addr, mail.Alert{Title: a.Title, Kind: a.Kind.Label(), Severity: string(a.Severity), At: a.CreatedAt})
		if err != nil {
			return nil, err
		}
		out = append(out, alerts.MailDelivery{Recipient: addr, MailID: id})
	}
	return out, nil
}

// mailDomain ends Message-IDs: the domain of the from-address.
func mailDomain(c config.SMTP) string {
	_, domain, _ := strings.Cut(c.From.Address, "@")
	return domain
}

// MailSender is how the server's worker reaches the mail server; tests replace it to trust
// their own certificate authority.
func (a *App) MailSender() mail.Sender {
	if a.mailSender != nil {
		return a.mailSender
	}
	return mail.NewSMTP(a.Config.SMTP)
}

// startMailWorker delivers the outbox until ctx ends, when there is a mail server. The function
// it returns waits, at shutdown, a moment for the worker to record a delivery in flight; a
// message whose mark is lost to a stalled server is delivered again at the next start, with the
// same Message-ID.
func (a *App) startMailWorker(ctx context.Context) (wait func()) {
	if a.Mail == nil {
		return func() {}
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		mail.NewWorker(a.Mail.Outbox(), a.MailSender(), a.Audit, mail.WorkerOptions{Logger: a.Logger}).Run(ctx)
	}()
	return func() {
		select {
		case <-done:
		case <-time.After(3 * time.Second):
			a.Logger.Warn("mail delivery still in flight at shutdown")
		}
	}
}

// reviewMail e-mails access-review reminders (reviews.Reminder) to reviewers with an address.
type reviewMail struct {
	db     *db.DB
	store  *members.Store
	mailer *mail.Mailer
}

func (m reviewMail) RemindReviewer(ctx context.Context, n reviews.ReminderNote) error {
	rev, err := m.store.ByID(ctx, n.MemberID)
	if err != nil || !rev.Active() {
		return err
	}
	return m.mailer.SendReviewReminder(ctx, m.db.W, rev.Email, mail.ReviewReminder{Name: rev.Name, Title: n.Title, Due: n.DueAt,
		Waiting: n.Waiting, Path: "/reviews/" + strconv.FormatInt(n.CampaignID, 10)})
}
