package campaigns

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/switchboard/switchboard/internal/alerts"
	"github.com/switchboard/switchboard/internal/audit"
	"github.com/switchboard/switchboard/internal/authz"
	"github.com/switchboard/switchboard/internal/clock"
	"github.com/switchboard/switchboard/internal/consent"
	"github.com/switchboard/switchboard/internal/db"
	"github.com/switchboard/switchboard/internal/inbox"
	"github.com/switchboard/switchboard/internal/templates"
)

// Options tune sending. Zero values take the defaults.
type Options struct {
	// Throughput is messages per second per number when Meta's figure is not known: 80 by
	// default, Meta's standard throughput.
	Throughput float64
	// Workers is how many sends may wait on Meta at once (per process).
	Workers int
	// ReconcileAfter is how long a send left in flight by a crash waits for its status webhook
	// before it is sent again (see runner.go).
	ReconcileAfter time.Duration
	// Poll is how often the runner looks for work when it has none.
	Poll   time.Duration
	Logger *slog.Logger
}

func (o *Options) defaults() {
	if o.Throughput <= 0 {
		o.Throughput = 80
	}
	if o.Workers <= 0 {
		o.Workers = 32
	}
	if o.ReconcileAfter <= 0 {
		o.ReconcileAfter = 5 * time.Minute
	}
	if o.Poll <= 0 {
		o.Poll = 500 * time.Millisecond
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
}

// Service creates, approves and steers campaigns; Runner sends them.
type Service struct {
	db        *db.DB
	audit     *audit.Log
	clock     clock.Clock
	inbox     *inbox.Service
	templates *templates.Service
	consent   *consent.Service
	alerts    *alerts.Service
	opts      Options
	wake      chan struct{}
}

// NewService wires the campaigns service.
func NewService(d *db.DB, log *audit.Log, clk clock.Clock, ib *inbox.Service, tpl *templates.Service,
	cs *consent.Service, al *alerts.Service, opts Options) *Service {
	opts.defaults()
	return &Service{db: d, audit: log, clock: clk, inbox: ib, templates: tpl, consent: cs, alerts: al, opts: opts,
		wake: make(chan struct{}, 1)}
}

func (s *Service) now() time.Time { return s.clock.Now().UTC() }

// poke tells the runner that something changed (a campaign approved or resumed).
func (s *Service) poke() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// Draft is what a member fills in to create a campaign.
type Draft struct {
	Name          string
	TemplateID    int64
	PhoneNumberID int64
	Segment       Segment
	Bindings      map[string]Binding
	// StartAt is the local wall time in TimeZone ("2026-12-24T09:00"); empty starts as soon as
	// the campaign is approved.
	StartAt  string
	TimeZone string
}

const maxName = 120

// canSee reports whether p may see campaigns at all.
func canSee(p *authz.Principal) bool {
	return p.CanAny(authz.CampaignsManage, authz.CampaignsApprove)
}

// prepared is a draft checked against the workspace.
type prepared struct {
	tpl       templates.Template
	marketing bool
	startAt   time.Time
}

// check validates d for p: an approved template of the number's account, a number within p's
// scope, bindings for every variable, a start time in the future.
func (s *Service) check(ctx context.Context, p *authz.Principal, d *Draft) (prepared, error) {
	fe := FieldErrors{}
	var out prepared
	d.Name = strings.TrimSpace(d.Name)
	if d.Name == "" {
		fe["name"] = "Give the campaign a name your team will recognise."
	} else if utf8.RuneCountInString(d.Name) > maxName {
		fe["name"] = fmt.Sprintf("Use at most %d characters.", maxName)
	}
	d.Segment = d.Segment.validate(fe)
	if err := s.resolveSegment(ctx, &d.Segment, fe); err != nil {
		return out, err
	}
	if d.PhoneNumberID == 0 || !p.Numbers.SeesNumber(d.PhoneNumberID) {
		fe["phone_number"] = "Choose one of the numbers you work on."
	}
	var wabaID string
	var enabled bool
	if _, bad := fe["phone_number"]; !bad {
		err := s.db.R.QueryRowContext(ctx, `SELECT w.waba_id, p.enabled AND w.disconnected_at IS NULL FROM phone_numbers p
			JOIN wabas w ON w.id = p.waba_ref WHERE p.id = ?`, d.PhoneNumberID).Scan(&wabaID, &enabled)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			fe["phone_number"] = "Choose one of the numbers you work on."
		case err != nil:
			return out, fmt.Errorf("read phone number: %w", err)
		case !enabled:
			fe["phone_number"] = "This number is switched off or its account is disconnected."
		}
	}
	t, err := s.templates.Get(ctx, p, d.TemplateID)
	switch {
	case errors.Is(err, templates.ErrNotFound), errors.Is(err, templates.ErrForbidden), d.TemplateID == 0:
		fe["template"] = "Choose one of the approved templates."
	case err != nil:
		return out, err
	case !t.Sendable():
		fe["template"] = "This template cannot be sent: Meta has not approved it, or it is paused or deleted."
	case wabaID != "" && t.WABAID != wabaID:
		fe["template"] = "This template belongs to another WhatsApp Business Account than the number."
	default:
		out.tpl = t
		out.marketing, err = s.templates.Store().IsMarketing(ctx, s.db.R, t.WABAID, t.Name, t.Language)
		if err != nil {
			return out, err
		}
		d.Bindings = checkBindings(t, d.Bindings, fe)
	}
	d.TimeZone = strings.TrimSpace(d.TimeZone)
	if d.TimeZone == "" {
		d.TimeZone = "UTC"
	}
	loc, err := time.LoadLocation(d.TimeZone)
	if err != nil {
		fe["time_zone"] = "Choose a time zone from the list."
		loc = time.UTC
	}
	if d.StartAt = strings.TrimSpace(d.StartAt); d.StartAt != "" {
		at, err := time.ParseInLocation("2006-01-02T15:04", d.StartAt, loc)
		switch {
		case err != nil:
			fe["start_at"] = "Enter a date and time, such as 2026-12-24 09:00."
		case !at.After(s.now()):
			fe["start_at"] = "Choose a time in the future, or leave it empty to start once approved."
		default:
			out.startAt = at.UTC()
		}
	}
	if len(fe) > 0 {
		return out, fe
	}
	return out, nil
}

// checkBindings keeps one binding per variable of the template's body and text header (header
// variables are keyed "header:KEY"), and names the missing ones.
func checkBindings(t templates.Template, in map[string]Binding, fe FieldErrors) map[string]Binding {
	out := map[string]Binding{}
	for _, key := range variableKeys(t) {
		b, ok := in[key]
		b.Value = strings.TrimSpace(b.Value)
		switch {
		case !ok || b.Source == "":
			fe["var_"+key] = "Choose where the value of " + placeholder(key) + " comes from."
		case b.Source == SourceFixed && b.Value == "":
			fe["var_"+key] = "Enter the text for " + placeholder(key) + "."
		case b.Source != SourceFixed && b.Source != SourceName && b.Source != SourceFirstName && b.Source != SourcePhone:
			fe["var_"+key] = "Choose one of the listed sources for " + placeholder(key) + "."
		case strings.ContainsAny(b.Value, "\n\r\t"):
			fe["var_"+key] = "The text for " + placeholder(key) + " cannot contain line breaks or tabs."
		case b.Source == SourceName || b.Source == SourceFirstName:
			if b.Value == "" {
				// A contact without a profile name still needs a value: Meta refuses empty ones.
				b.Value = "there"
			}
		}
		out[key] = b
	}
	return out
}

func placeholder(key string) string {
	if k, ok := strings.CutPrefix(key, "header:"); ok {
		return "header {{" + k + "}}"
	}
	return "{{" + key + "}}"
}

// variableKeys lists the template's variables a campaign binds: text header ones as
// "header:KEY", then the body's.
func variableKeys(t templates.Template) []string {
	if t.Live == nil {
		return nil
	}
	var keys []string
	if t.Live.Content.Header.Format == templates.HeaderText {
		for _, k := range templates.Variables(t.Live.Content.Header.Text) {
			keys = append(keys, "header:"+k)
		}
	}
	return append(keys, templates.Variables(t.Live.Content.Body.Text)...)
}

// VariableKeys lists the variables of a template a campaign must bind, for the form.
func VariableKeys(t templates.Template) []string { return variableKeys(t) }

// Preview is a draft's segment size and the message as its first recipients would read it.
type Preview struct {
	Size    SegmentSize
	Samples []Sample
}

// Sample is one recipient's message.
type Sample struct {
	Name  string
	Phone string
	Text  string
}

// Preview counts d's segment and renders the message for a few recipients. It needs
// campaigns.manage; it changes nothing.
func (s *Service) Preview(ctx context.Context, p *authz.Principal, d Draft) (Preview, error) {
	if !p.Can(authz.CampaignsManage) {
		return Preview{}, forbidden("Creating campaigns needs the permission “%s”.", authz.CampaignsManage.Label())
	}
	pr, err := s.check(ctx, p, &d)
	if err != nil {
		return Preview{}, err
	}
	out := Preview{Size: SegmentSize{Marketing: pr.marketing}}
	err = selectContacts(ctx, s.db.R, p.Numbers, d.Segment, func(c Contact) error {
		out.Size.Matched++
		switch leftOut(c, pr.marketing) {
		case reasonNoConsent:
			out.Size.LeftOutConsent++
		case reasonOptedOut:
			out.Size.LeftOutOptedOut++
		default:
			out.Size.Recipients++
			if len(out.Samples) < 3 {
				_, shown, err := buildMessage(pr.tpl, d.Bindings, c)
				if err != nil {
					return err
				}
				out.Samples = append(out.Samples, Sample{Name: c.Name, Phone: formatPhone(c.WaID), Text: shown})
			}
		}
		return nil
	})
	return out, err
}

// Create stores a campaign awaiting approval with its recipients, chosen now: the approver sees
// exactly who will receive it. Consent is checked again at each send, so a STOP that arrives in
// between still counts.
func (s *Service) Create(ctx context.Context, p *authz.Principal, d Draft) (Campaign, error) {
	if !p.Can(authz.CampaignsManage) {
		return Campaign{}, s.refuse(ctx, p, "campaign.created", 0, forbidden("Creating campaigns needs the permission “%s”.", authz.CampaignsManage.Label()))
	}
	pr, err := s.check(ctx, p, &d)
	if err != nil {
		return Campaign{}, err
	}
	seg, _ := json.Marshal(d.Segment)
	binds, _ := json.Marshal(d.Bindings)
	var id int64
	err = s.db.Tx(ctx, func(tx *sql.Tx) error {
		now := s.now().UnixMilli()
		category := "UTILITY"
		if pr.marketing {
			category = "MARKETING"
		}
		res, err := tx.ExecContext(ctx, `INSERT INTO campaigns (name, template_id, template_name, template_language, template_category,
			phone_number_id, segment, bindings, status, time_zone, start_at, created_by, created_by_name, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, d.Name, pr.tpl.ID, pr.tpl.Name, pr.tpl.Language, category,
			d.PhoneNumberID, string(seg), string(binds), StatusAwaitingApproval, d.TimeZone, nullTime(pr.startAt),
			p.MemberID, p.Name, now, now)
		if err != nil {
			return fmt.Errorf("store campaign: %w", err)
		}
		if id, err = res.LastInsertId(); err != nil {
			return err
		}
		ins, err := tx.PrepareContext(ctx, `INSERT INTO campaign_recipients (campaign_id, contact_id) VALUES (?, ?)`)
		if err != nil {
			return err
		}
		defer ins.Close()
		var size SegmentSize
		err = selectContacts(ctx, tx, p.Numbers, d.Segment, func(c Contact) error {
			switch leftOut(c, pr.marketing) {
			case reasonNoConsent:
				size.LeftOutConsent++
			case reasonOptedOut:
				size.LeftOutOptedOut++
			default:
				size.Recipients++
				if _, err := ins.ExecContext(ctx, id, c.ID); err != nil {
					return fmt.Errorf("store recipient: %w", err)
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
		if size.Recipients == 0 {
			return FieldErrors{"segment": "No contact in this segment may receive the template: " + size.Summary() + "."}
		}
		if _, err := tx.ExecContext(ctx, `UPDATE campaigns SET recipients = ?, left_out_consent = ?, left_out_opted_out = ? WHERE id = ?`,
			size.Recipients, size.LeftOutConsent, size.LeftOutOptedOut, id); err != nil {
			return err
		}
		changes := []audit.Change{{Field: "template", After: pr.tpl.Name}, {Field: "phone_number_id", After: d.PhoneNumberID},
			{Field: "segment", After: d.Segment.Describe()}, {Field: "recipients", After: size.Recipients},
			{Field: "left_out_no_consent", After: size.LeftOutConsent}, {Field: "left_out_opted_out", After: size.LeftOutOptedOut}}
		if !pr.startAt.IsZero() {
			changes = append(changes, audit.Change{Field: "start_at", After: pr.startAt.Format(time.RFC3339)})
		}
		_, err = s.audit.Append(ctx, tx, audit.Event{Actor: audit.PrincipalActor(p), Action: "campaign.created",
			Target: target(id, d.Name), Changes: changes})
		return err
	})
	if err != nil {
		return Campaign{}, err
	}
	return s.get(ctx, s.db.R, id)
}

// Approve starts a campaign awaiting approval: at its start time, or now. Four eyes: only a
// holder of campaigns.approve who did not create it, and who works on its number.
func (s *Service) Approve(ctx context.Context, p *authz.Principal, id int64) (Campaign, error) {
	const action = "campaign.approved"
	c, err := s.Get(ctx, p, id)
	if err != nil {
		return Campaign{}, err
	}
	switch {
	case !p.Can(authz.CampaignsApprove):
		return Campaign{}, s.refuse(ctx, p, action, id, forbidden("Starting a campaign needs the permission “%s”.", authz.CampaignsApprove.Label()))
	case c.CreatedBy == p.MemberID:
		return Campaign{}, s.refuse(ctx, p, action, id, forbidden("You created this campaign, so someone else must approve it: four eyes see every broadcast."))
	case !p.Numbers.SeesNumber(c.PhoneNumberID):
		return Campaign{}, s.refuse(ctx, p, action, id, forbidden("This campaign sends from a number you do not work on."))
	}
	err = s.db.Tx(ctx, func(tx *sql.Tx) error {
		now := s.now()
		next := StatusRunning
		if c.StartAt.After(now) {
			next = StatusScheduled
		}
		res, err := tx.ExecContext(ctx, `UPDATE campaigns SET status = ?, approved_by = ?, approved_by_name = ?, approved_at = ?,
			started_at = CASE WHEN ? = 'running' THEN ? ELSE started_at END, updated_at = ? WHERE id = ? AND status = ?`,
			next, p.MemberID, p.Name, now.UnixMilli(), next, now.UnixMilli(), now.UnixMilli(), id, StatusAwaitingApproval)
		if err != nil {
			return fmt.Errorf("approve campaign: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return ErrState
		}
		_, err = s.audit.Append(ctx, tx, audit.Event{Actor: audit.PrincipalActor(p), Action: action, Target: target(id, c.Name),
			Changes: []audit.Change{{Field: "status", Before: string(StatusAwaitingApproval), After: string(next)},
				{Field: "author", After: c.CreatedByName}}})
		return err
	})
	if err != nil {
		return Campaign{}, err
	}
	s.poke()
	return s.get(ctx, s.db.R, id)
}

// Pause stops sending until resumed (campaigns.manage or campaigns.approve).
func (s *Service) Pause(ctx context.Context, p *authz.Principal, id int64) error {
	return s.steer(ctx, p, id, "campaign.paused", []Status{StatusRunning, StatusScheduled}, StatusPaused, "Paused by "+p.Name)
}

// Resume continues a paused campaign. A pause by WhatsApp (quality, limits) is lifted only by
// someone who may approve campaigns, since sending on may harm the number.
func (s *Service) Resume(ctx context.Context, p *authz.Principal, id int64) error {
	if !p.Can(authz.CampaignsApprove) {
		return s.refuse(ctx, p, "campaign.resumed", id, forbidden("Resuming a campaign needs the permission “%s”.", authz.CampaignsApprove.Label()))
	}
	return s.steer(ctx, p, id, "campaign.resumed", []Status{StatusPaused}, StatusRunning, "")
}

// Cancel ends a campaign for good: recipients not sent yet get nothing.
func (s *Service) Cancel(ctx context.Context, p *authz.Principal, id int64) error {
	return s.steer(ctx, p, id, "campaign.cancelled", []Status{StatusAwaitingApproval, StatusScheduled, StatusRunning, StatusPaused},
		StatusCancelled, "")
}

func (s *Service) steer(ctx context.Context, p *authz.Principal, id int64, action string, from []Status, to Status, reason string) error {
	c, err := s.Get(ctx, p, id)
	if err != nil {
		return err
	}
	if !p.Numbers.SeesNumber(c.PhoneNumberID) {
		return s.refuse(ctx, p, action, id, forbidden("This campaign sends from a number you do not work on."))
	}
	ok := false
	for _, f := range from {
		ok = ok || c.Status == f
	}
	if !ok {
		return ErrState
	}
	err = s.db.Tx(ctx, func(tx *sql.Tx) error {
		now := s.now().UnixMilli()
		set := `status = ?, pause_reason = ?, updated_at = ?`
		if to == StatusCancelled {
			set += `, finished_at = ` + strconv.FormatInt(now, 10)
		}
		if to == StatusRunning {
			set += `, wait_until = NULL, started_at = coalesce(started_at, ` + strconv.FormatInt(now, 10) + `)`
		}
		res, err := tx.ExecContext(ctx, `UPDATE campaigns SET `+set+` WHERE id = ? AND status = ?`, to, reason, now, id, c.Status)
		if err != nil {
			return fmt.Errorf("change campaign: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return ErrState
		}
		_, err = s.audit.Append(ctx, tx, audit.Event{Actor: audit.PrincipalActor(p), Action: action, Target: target(id, c.Name),
			Changes: []audit.Change{{Field: "status", Before: string(c.Status), After: string(to)}}})
		return err
	})
	if err == nil {
		s.poke()
	}
	return err
}

// Get returns a campaign to a member who may see campaigns and works on its number.
func (s *Service) Get(ctx context.Context, p *authz.Principal, id int64) (Campaign, error) {
	if !canSee(p) {
		return Campaign{}, ErrForbidden
	}
	c, err := s.get(ctx, s.db.R, id)
	if err != nil {
		return Campaign{}, err
	}
	if !p.Numbers.SeesNumber(c.PhoneNumberID) {
		return Campaign{}, ErrNotFound
	}
	return c, nil
}

// List returns the campaigns on the member's numbers, newest first.
func (s *Service) List(ctx context.Context, p *authz.Principal) ([]Campaign, error) {
	if !canSee(p) {
		return nil, ErrForbidden
	}
	rows, err := s.db.R.QueryContext(ctx, `SELECT `+campaignColumns+` FROM campaigns c JOIN phone_numbers pn ON pn.id = c.phone_number_id
		ORDER BY c.id DESC LIMIT 200`)
	if err != nil {
		return nil, fmt.Errorf("list campaigns: %w", err)
	}
	defer rows.Close()
	var out []Campaign
	for rows.Next() {
		c, err := scanCampaign(rows)
		if err != nil {
			return nil, err
		}
		if p.Numbers.SeesNumber(c.PhoneNumberID) {
			out = append(out, c)
		}
	}
	return out, rows.Err()
}

// Progress counts the recipients by state.
func (s *Service) Progress(ctx context.Context, id int64) (Progress, error) {
	rows, err := s.db.R.QueryContext(ctx, `SELECT state, count(*) FROM campaign_recipients WHERE campaign_id = ? GROUP BY state`, id)
	if err != nil {
		return Progress{}, fmt.Errorf("campaign progress: %w", err)
	}
	defer rows.Close()
	var pr Progress
	for rows.Next() {
		var st RecipientState
		var n int
		if err := rows.Scan(&st, &n); err != nil {
			return Progress{}, err
		}
		pr.Total += n
		switch st {
		case StateQueued:
			pr.Queued = n
		case StateSending:
			pr.Sending = n
		case StateSent:
			pr.Sent = n
		case StateFailed:
			pr.Failed = n
		case StateSkipped:
			pr.Skipped = n
		}
	}
	return pr, rows.Err()
}

// refuse records a denied action and returns cause.
func (s *Service) refuse(ctx context.Context, p *authz.Principal, action string, id int64, cause error) error {
	ev := audit.Event{Actor: audit.PrincipalActor(p), Action: action, Outcome: audit.OutcomeDenied,
		Changes: []audit.Change{{Field: "reason", After: cause.Error()}}}
	if id != 0 {
		ev.Target = target(id, "")
	}
	if _, err := s.audit.Record(ctx, ev); err != nil {
		return errors.Join(cause, err)
	}
	return cause
}

func target(id int64, name string) audit.Target {
	return audit.Target{Type: "campaign", ID: strconv.FormatInt(id, 10), Name: name}
}

func nullTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UnixMilli()
}

const campaignColumns = `c.id, c.name, c.template_id, c.template_name, c.template_language, c.template_category,
	c.phone_number_id, coalesce(nullif(pn.label, ''), nullif(pn.verified_name, ''), pn.display_phone_number), c.segment, c.bindings,
	c.status, c.time_zone, c.start_at, c.pause_reason, c.wait_until, coalesce(c.created_by, 0), c.created_by_name,
	coalesce(c.approved_by, 0), c.approved_by_name, c.approved_at, c.started_at, c.finished_at, c.recipients,
	c.left_out_consent, c.left_out_opted_out, c.created_at, c.updated_at`

func (s *Service) get(ctx context.Context, q db.Querier, id int64) (Campaign, error) {
	c, err := scanCampaign(q.QueryRowContext(ctx, `SELECT `+campaignColumns+` FROM campaigns c
		JOIN phone_numbers pn ON pn.id = c.phone_number_id WHERE c.id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return Campaign{}, ErrNotFound
	}
	return c, err
}

func scanCampaign(row interface{ Scan(...any) error }) (Campaign, error) {
	var (
		c                                                     Campaign
		seg, binds                                            string
		startAt, waitUntil, approvedAt, startedAt, finishedAt sql.NullInt64
		createdAt, updatedAt                                  int64
	)
	err := row.Scan(&c.ID, &c.Name, &c.TemplateID, &c.TemplateName, &c.TemplateLanguage, &c.TemplateCategory,
		&c.PhoneNumberID, &c.PhoneNumberName, &seg, &binds, &c.Status, &c.TimeZone, &startAt, &c.PauseReason, &waitUntil,
		&c.CreatedBy, &c.CreatedByName, &c.ApprovedBy, &c.ApprovedByName, &approvedAt, &startedAt, &finishedAt,
		&c.Recipients, &c.LeftOutConsent, &c.LeftOutOptedOut, &createdAt, &updatedAt)
	if err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return Campaign{}, err
		}
		return Campaign{}, fmt.Errorf("scan campaign: %w", err)
	}
	_ = json.Unmarshal([]byte(seg), &c.Segment)
	_ = json.Unmarshal([]byte(binds), &c.Bindings)
	c.StartAt, c.WaitUntil, c.ApprovedAt = fromNull(startAt), fromNull(waitUntil), fromNull(approvedAt)
	c.StartedAt, c.FinishedAt = fromNull(startedAt), fromNull(finishedAt)
	c.CreatedAt, c.UpdatedAt = time.UnixMilli(createdAt).UTC(), time.UnixMilli(updatedAt).UTC()
	return c, nil
}

func fromNull(n sql.NullInt64) time.Time {
	if !n.Valid {
		return time.Time{}
	}
	return time.UnixMilli(n.Int64).UTC()
}

// resolveSegment checks the segment's labels and custom field against the workspace and keeps
// their names, so that the campaign still says what it chose after a label is renamed.
func (s *Service) resolveSegment(ctx context.Context, seg *Segment, fe FieldErrors) error {
	seg.LabelNames = nil
	for _, id := range seg.LabelIDs {
		var name string
		err := s.db.R.QueryRowContext(ctx, `SELECT name FROM labels WHERE id = ?`, id).Scan(&name)
		if errors.Is(err, sql.ErrNoRows) {
			fe["labels"] = "Choose labels from the list."
			continue
		}
		if err != nil {
			return fmt.Errorf("read label: %w", err)
		}
		seg.LabelNames = append(seg.LabelNames, name)
	}
	seg.FieldValue = strings.TrimSpace(seg.FieldValue)
	seg.FieldLabel = ""
	switch {
	case seg.FieldID == 0 && seg.FieldValue != "":
		fe["field"] = "Choose the custom field the value belongs to."
	case seg.FieldID != 0:
		err := s.db.R.QueryRowContext(ctx, `SELECT label FROM contact_fields WHERE id = ?`, seg.FieldID).Scan(&seg.FieldLabel)
		if errors.Is(err, sql.ErrNoRows) {
			fe["field"] = "Choose a custom field from the list."
		} else if err != nil {
			return fmt.Errorf("read contact field: %w", err)
		}
		if seg.FieldValue == "" {
			fe["field_value"] = "Enter the value the field must have."
		}
	}
	return nil
}

// Choice is a label or custom field a segment may use.
type Choice struct {
	ID   int64
	Name string
}

// SegmentChoices lists the labels and contact custom fields for the segment form.
func (s *Service) SegmentChoices(ctx context.Context, p *authz.Principal) (labels, fields []Choice, err error) {
	if !p.Can(authz.CampaignsManage) {
		return nil, nil, ErrForbidden
	}
	read := func(query string) ([]Choice, error) {
		rows, err := s.db.R.QueryContext(ctx, query)
		if err != nil {
			return nil, fmt.Errorf("segment choices: %w", err)
		}
		defer rows.Close()
		var out []Choice
		for rows.Next() {
			var c Choice
			if err := rows.Scan(&c.ID, &c.Name); err != nil {
				return nil, err
			}
			out = append(out, c)
		}
		return out, rows.Err()
	}
	if labels, err = read(`SELECT id, name FROM labels ORDER BY name COLLATE NOCASE`); err != nil {
		return nil, nil, err
	}
	fields, err = read(`SELECT id, label FROM contact_fields ORDER BY position, id`)
	return labels, fields, err
}
