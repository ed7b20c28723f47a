package mail

import (
	"bytes"
	"context"
	"database/sql"
	htmltemplate "html/template"
	"strings"
	texttemplate "text/template"
	"time"

	"github.com/switchboard/switchboard/internal/audit"
	"github.com/switchboard/switchboard/internal/db"
)

// Mailer writes Switchboard's messages to the outbox. Each Send method takes the caller's
// transaction, so the message commits with the change it is about. Links are the plain
// addresses of this instance: no tracking parameters, no remote images.
type Mailer struct {
	db     *db.DB
	outbox *Outbox
	audit  *audit.Log
	base   string
}

// NewMailer returns a mailer whose links start with baseURL (the instance's public origin).
func NewMailer(d *db.DB, o *Outbox, log *audit.Log, baseURL string) *Mailer {
	return &Mailer{db: d, outbox: o, audit: log, base: strings.TrimRight(baseURL, "/")}
}

// Outbox is where the mailer queues.
func (m *Mailer) Outbox() *Outbox { return m.outbox }

func when(t time.Time) string { return t.UTC().Format("2 January 2006 at 15:04 UTC") }

// SendInvitation queues an invitation to join the workspace; path is the invitation's page
// (/invitations/TOKEN).
func (m *Mailer) SendInvitation(ctx context.Context, q db.Querier, to, invitedBy, roleName, path string, expires time.Time) error {
	return m.queue(ctx, q, KindInvitation, to, "You are invited to Switchboard", map[string]any{
		"InvitedBy": invitedBy, "Role": roleName, "Link": m.base + path, "Expires": when(expires),
	})
}

// SendPasswordReset queues a password reset link; issuedBy is the administrator who issued it,
// "" when the member asked for it on the sign-in page.
func (m *Mailer) SendPasswordReset(ctx context.Context, q db.Querier, to, name, issuedBy, path string, expires time.Time) error {
	return m.queue(ctx, q, KindPasswordReset, to, "Reset your Switchboard password", map[string]any{
		"Name": name, "IssuedBy": issuedBy, "Email": to, "Link": m.base + path, "Expires": when(expires),
	})
}

// Alert is what an alert e-mail says.
type Alert struct {
	Title    string
	Kind     string // the kind's label
	Severity string
	At       time.Time
}

// SendAlert queues one message about a new security alert to each address in to.
func (m *Mailer) SendAlert(ctx context.Context, q db.Querier, to []string, a Alert) error {
	for _, addr := range to {
		if _, err := m.SendAlertTo(ctx, q, addr, a); err != nil {
			return err
		}
	}
	return nil
}

// SendAlertTo queues the message about a new security alert to one address and returns its
// outbox row, so the alert can show whether it was delivered.
func (m *Mailer) SendAlertTo(ctx context.Context, q db.Querier, to string, a Alert) (int64, error) {
	return m.queueID(ctx, q, KindAlert, to, "Security alert: "+oneLine(a.Kind), map[string]any{
		"Title": a.Title, "Kind": a.Kind, "Severity": a.Severity, "At": when(a.At),
		"Link": m.base + "/alerts", "Account": m.base + "/account",
	})
}

// ReviewReminder is what an access-review reminder says.
type ReviewReminder struct {
	Name    string
	Title   string
	Due     time.Time
	Waiting int
	Path    string // the review's page, /reviews/ID
}

// SendReviewReminder queues a reminder to a reviewer whose access review is due soon.
func (m *Mailer) SendReviewReminder(ctx context.Context, q db.Querier, to string, r ReviewReminder) error {
	return m.queue(ctx, q, KindReviewReminder, to, "Access review due: "+oneLine(r.Title), map[string]any{
		"Name": r.Name, "Title": r.Title, "Due": when(r.Due), "Waiting": r.Waiting, "Link": m.base + r.Path,
	})
}

// SendTest queues a test message to the member who asked for it, with an activity event.
func (m *Mailer) SendTest(ctx context.Context, to, requestedBy string) error {
	return m.db.Tx(ctx, func(tx *sql.Tx) error {
		id, err := m.queueID(ctx, tx, KindTest, to, "Switchboard test e-mail", map[string]any{
			"RequestedBy": requestedBy, "At": when(m.outbox.clock.Now()), "Link": m.base + "/settings/security",
		})
		if err != nil {
			return err
		}
		_, err = m.audit.Append(ctx, tx, audit.Event{Action: "mail.test_requested", Target: audit.NewTarget("mail", id),
			Changes: []audit.Change{{Field: "to", After: to}}})
		return err
	})
}

func (m *Mailer) queue(ctx context.Context, q db.Querier, kind, to, subject string, data map[string]any) error {
	_, err := m.queueID(ctx, q, kind, to, subject, data)
	return err
}

func (m *Mailer) queueID(ctx context.Context, q db.Querier, kind, to, subject string, data map[string]any) (int64, error) {
	data["Subject"] = subject
	var text, html bytes.Buffer
	if err := textTemplates.ExecuteTemplate(&text, kind, data); err != nil {
		return 0, err
	}
	if err := htmlTemplates.ExecuteTemplate(&html, "layout", map[string]any{"Kind": kind, "Data": data}); err != nil {
		return 0, err
	}
	id, _, err := m.outbox.Enqueue(ctx, q, Message{Kind: kind, To: to, Subject: oneLine(subject), Text: text.String(), HTML: html.String()})
	return id, err
}

// oneLine keeps a header to one line whatever a name or title holds.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

var textTemplates = texttemplate.Must(texttemplate.New("mail").Parse(`
{{- define "footer"}}
-- 
Switchboard · this message was sent automatically; replies are not read.
{{end -}}

{{- define "invitation" -}}
Hello,

{{.InvitedBy}} invited you to join their team's WhatsApp workspace on Switchboard as {{.Role}}.

Accept the invitation and choose your password:
{{.Link}}

The link works once, until {{.Expires}}. If you did not expect this invitation, ignore this
e-mail: nothing happens without the link.
{{template "footer"}}{{end -}}

{{- define "password_reset" -}}
Hello {{.Name}},

{{if .IssuedBy}}{{.IssuedBy}}, an administrator of your workspace, issued a link to reset the password of your Switchboard account ({{.Email}}).{{else}}Someone asked to reset the password of your Switchboard account ({{.Email}}). If it was you, choose a new password here:{{end}}
{{.Link}}

The link works once, until {{.Expires}}. Resetting your password signs you out everywhere.
Two-factor authentication stays on: you will still be asked for a code when you sign in.

If you did not ask for this, ignore this e-mail: your password stays as it is.
{{template "footer"}}{{end -}}

{{- define "alert" -}}
Security alert ({{.Severity}}): {{.Kind}}

{{.Title}}
Raised {{.At}}.

See and acknowledge it on the alerts page:
{{.Link}}

You get these e-mails because you can see security alerts. Turn them off on your account page:
{{.Account}}
{{template "footer"}}{{end -}}

{{- define "review_reminder" -}}
Hello {{.Name}},

The access review "{{.Title}}" is due {{.Due}}. {{.Waiting}} member(s) still wait for your decision: keep, change role or revoke.

Open the review:
{{.Link}}
{{template "footer"}}{{end -}}

{{- define "test" -}}
This is a test e-mail from Switchboard, requested by {{.RequestedBy}} on {{.At}}.

If you can read it, e-mail delivery works: invitations, password reset links and security
alerts will arrive too.

{{.Link}}
{{template "footer"}}{{end -}}
`))

// The HTML part: one table-free column with inline styles (mail clients ignore style sheets),
// system fonts, no images, no remote resources.
var htmlTemplates = htmltemplate.Must(htmltemplate.New("mail").Parse(`
{{- define "button"}}<p style="margin:24px 0"><a href="{{.}}" style="display:inline-block;background:#0b6e4f;color:#ffffff;text-decoration:none;font-weight:600;padding:12px 20px;border-radius:6px">{{end -}}
{{- define "layout" -}}
<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width"><title>{{.Data.Subject}}</title></head>
<body style="margin:0;padding:0;background:#f4f5f7;color:#1d2433;font-family:-apple-system,BlinkMacSystemFont,'Segoe UI',Roboto,Helvetica,Arial,sans-serif;font-size:16px;line-height:1.5">
<div style="max-width:560px;margin:0 auto;padding:24px 16px">
<p style="font-weight:700;font-size:18px;margin:0 0 16px">Switchboard</p>
<div style="background:#ffffff;border:1px solid #dfe3e8;border-radius:8px;padding:24px">
{{- if eq .Kind "invitation"}}{{template "invitation" .Data}}{{end -}}
{{- if eq .Kind "password_reset"}}{{template "password_reset" .Data}}{{end -}}
{{- if eq .Kind "alert"}}{{template "alert" .Data}}{{end -}}
{{- if eq .Kind "test"}}{{template "test" .Data}}{{end -}}
{{- if eq .Kind "review_reminder"}}{{template "review_reminder" .Data}}{{end -}}
</div>
<p style="color:#5b6472;font-size:13px;margin:16px 0 0">This message was sent automatically; replies are not read.</p>
</div></body></html>
{{- end}}

{{- define "invitation"}}
<h1 style="font-size:20px;margin:0 0 12px">You are invited</h1>
<p>{{.InvitedBy}} invited you to join their team's WhatsApp workspace on Switchboard as <strong>{{.Role}}</strong>.</p>
{{template "button" .Link}}Accept the invitation</a></p>
<p style="color:#5b6472;font-size:14px">The link works once, until {{.Expires}}. If the button does not work, copy this address into your browser:<br><span style="word-break:break-all">{{.Link}}</span></p>
<p style="color:#5b6472;font-size:14px">If you did not expect this invitation, ignore this e-mail: nothing happens without the link.</p>
{{- end}}

{{- define "password_reset"}}
<h1 style="font-size:20px;margin:0 0 12px">Reset your password</h1>
<p>Hello {{.Name}},</p>
{{if .IssuedBy}}<p>{{.IssuedBy}}, an administrator of your workspace, issued a link to reset the password of your Switchboard account ({{.Email}}).</p>
{{else}}<p>Someone asked to reset the password of your Switchboard account ({{.Email}}). If it was you, choose a new password:</p>{{end}}
{{template "button" .Link}}Choose a new password</a></p>
<p style="color:#5b6472;font-size:14px">The link works once, until {{.Expires}}. Resetting your password signs you out everywhere. Two-factor authentication stays on: you will still be asked for a code when you sign in.</p>
<p style="color:#5b6472;font-size:14px">If the button does not work, copy this address into your browser:<br><span style="word-break:break-all">{{.Link}}</span></p>
<p style="color:#5b6472;font-size:14px">If you did not ask for this, ignore this e-mail: your password stays as it is.</p>
{{- end}}

{{- define "alert"}}
<h1 style="font-size:20px;margin:0 0 12px">Security alert: {{.Kind}}</h1>
<p><strong>{{.Title}}</strong></p>
<p style="color:#5b6472;font-size:14px">Severity: {{.Severity}}. Raised {{.At}}.</p>
{{template "button" .Link}}Open the alerts page</a></p>
<p style="color:#5b6472;font-size:14px">You get these e-mails because you can see security alerts. Turn them off on <a href="{{.Account}}" style="color:#0b6e4f">your account page</a>.</p>
{{- end}}

{{- define "review_reminder"}}
<h1 style="font-size:20px;margin:0 0 12px">Access review due {{.Due}}</h1>
<p>Hello {{.Name}}, the access review <strong>{{.Title}}</strong> has {{.Waiting}} member(s) waiting for your decision.</p>
{{template "button" .Link}}Open the review</a></p>
{{- end}}

{{- define "test"}}
<h1 style="font-size:20px;margin:0 0 12px">E-mail delivery works</h1>
<p>This is a test e-mail from Switchboard, requested by {{.RequestedBy}} on {{.At}}.</p>
<p>Invitations, password reset links and security alerts will arrive too.</p>
<p style="color:#5b6472;font-size:14px"><a href="{{.Link}}" style="color:#0b6e4f">Security settings</a></p>
{{- end}}
`))
