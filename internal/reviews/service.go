package reviews

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/switchboard/switchboard/internal/alerts"
	"github.com/switchboard/switchboard/internal/audit"
	"github.com/switchboard/switchboard/internal/authz"
	"github.com/switchboard/switchboard/internal/clock"
	"github.com/switchboard/switchboard/internal/db"
	"github.com/switchboard/switchboard/internal/members"
	"github.com/switchboard/switchboard/internal/settings"
)

// Reminder tells a reviewer that an access review waits for their decisions. It is the seam for
// e-mail: the outbox being built in internal/mail is meant to implement it and be set at wiring.
// Until then Reminders is nil, no reminder leaves the server, and the Reviews page and the
// alerts page show what is waiting.
type Reminder interface {
	RemindReviewer(ctx context.Context, n ReminderNote) error
}

// ReminderNote is what a reminder says.
type ReminderNote struct {
	MemberID   int64
	Name       string
	CampaignID int64
	Title      string
	DueAt      time.Time
	Waiting    int // members still without a decision
}

// Service runs access reviews.
type Service struct {
	db       *db.DB
	audit    *audit.Log
	clock    clock.Clock
	members  *members.Service
	settings *settings.Store
	alerts   *alerts.Service
	// Reminders, when set at wiring, is told of reviewers whose review is due soon.
	Reminders Reminder
}

// NewService wires the access-review service.
func NewService(d *db.DB, log *audit.Log, clk clock.Clock, m *members.Service, st *settings.Store, al *alerts.Service) *Service {
	return &Service{db: d, audit: log, clock: clk, members: m, settings: st, alerts: al}
}

// Limits on what a campaign carries.
const (
	maxTitle   = 120
	maxComment = 1000
	// RemindBefore is how long before the due date reviewers are reminded.
	RemindBefore = 3 * 24 * time.Hour
)

// Settings returns the access-review settings.
func (s *Service) Settings(ctx context.Context) (Settings, error) {
	return readSettings(ctx, s.db.R)
}

func readSettings(ctx context.Context, q db.Querier) (Settings, error) {
	var st Settings
	var next int64
	var reviewers string
	err := q.QueryRowContext(ctx, `SELECT inactive_days, schedule_months, due_days, next_run_at, reviewer_ids
		FROM access_review_settings WHERE id = 1`).Scan(&st.InactiveDays, &st.ScheduleMonths, &st.DueDays, &next, &reviewers)
	if err != nil {
		return Settings{}, fmt.Errorf("read access review settings: %w", err)
	}
	st.NextRunAt, st.ReviewerIDs = fromMillis(next), db.ParseIDs(reviewers)
	return st, nil
}

// SaveSettings stores new settings. Turning the schedule on (or changing its interval) starts it
// over: the first scheduled campaign opens one interval from now.
func (s *Service) SaveSettings(ctx context.Context, actor *authz.Principal, next Settings) error {
	fe := FieldErrors{}
	if next.InactiveDays < 1 || next.InactiveDays > 365 {
		fe.Add("inactive_days", "Choose between 1 and 365 days.")
	}
	if next.ScheduleMonths < 0 || next.ScheduleMonths > 12 {
		fe.Add("schedule_months", "Choose an interval between 1 and 12 months, or no schedule.")
	}
	if next.DueDays < 1 || next.DueDays > 90 {
		fe.Add("due_days", "Choose between 1 and 90 days.")
	}
	if err := fe.Err(); err != nil {
		return err
	}
	// Checked before the transaction: reviewers reads through the reader pool.
	if len(next.ReviewerIDs) > 0 {
		if _, err := s.reviewers(ctx, next.ReviewerIDs); err != nil {
			return err
		}
	}
	return s.db.Tx(ctx, func(tx *sql.Tx) error {
		cur, err := readSettings(ctx, tx)
		if err != nil {
			return err
		}
		next.NextRunAt = cur.NextRunAt
		if next.ScheduleMonths == 0 {
			next.NextRunAt = time.Time{}
		} else if next.ScheduleMonths != cur.ScheduleMonths || cur.NextRunAt.IsZero() {
			next.NextRunAt = s.clock.Now().AddDate(0, next.ScheduleMonths, 0)
		}
		var changes []audit.Change
		add := func(field string, before, after any) {
			if before != after {
				changes = append(changes, audit.Change{Field: field, Before: before, After: after})
			}
		}
		add("inactive_days", cur.InactiveDays, next.InactiveDays)
		add("schedule_months", cur.ScheduleMonths, next.ScheduleMonths)
		add("due_days", cur.DueDays, next.DueDays)
		add("reviewers", db.FormatIDs(cur.ReviewerIDs), db.FormatIDs(next.ReviewerIDs))
		if len(changes) == 0 {
			return nil
		}
		if _, err := tx.ExecContext(ctx, `UPDATE access_review_settings SET inactive_days = ?, schedule_months = ?,
			due_days = ?, next_run_at = ?, reviewer_ids = ?, updated_at = ? WHERE id = 1`,
			next.InactiveDays, next.ScheduleMonths, next.DueDays, millis(next.NextRunAt), db.FormatIDs(next.ReviewerIDs),
			millis(s.clock.Now())); err != nil {
			return fmt.Errorf("save access review settings: %w", err)
		}
		_, err = s.audit.Append(ctx, tx, audit.Event{Action: "access_review.settings_changed",
			Target: audit.Target{Type: "settings", ID: "access_reviews"}, Changes: changes})
		return err
	})
}

// Open starts a campaign on behalf of actor (nil: the schedule, recorded as the system).
func (s *Service) Open(ctx context.Context, actor *authz.Principal, in CampaignInput) (Campaign, error) {
	pl, err := s.plan(ctx, in)
	if err != nil {
		return Campaign{}, err
	}
	var c Campaign
	err = s.db.Tx(ctx, func(tx *sql.Tx) error {
		var err error
		c, err = s.open(ctx, tx, actor, pl)
		return err
	})
	return c, err
}

// openPlan is what opening a campaign reads, through the reader pool and before the write
// transaction: a read through the reader pool inside it would hold the writer while it waits for
// a reader.
type openPlan struct {
	in        CampaignInput
	reviewers []Reviewer
	scoped    []members.Member
	flags     map[int64][]Flag
	scope     string
	numbers   map[int64]string
}

func (s *Service) plan(ctx context.Context, in CampaignInput) (openPlan, error) {
	now := s.clock.Now()
	in.Title = strings.TrimSpace(in.Title)
	fe := FieldErrors{}
	if in.Title == "" {
		fe.Add("title", "Give the review a title, such as “Q3 access review”.")
	} else if utf8.RuneCountInString(in.Title) > maxTitle || strings.ContainsAny(in.Title, "\r\n\x00") {
		fe.Add("title", fmt.Sprintf("Use one line of at most %d characters.", maxTitle))
	}
	if !in.AllMembers && len(in.RoleIDs) == 0 && len(in.NumberIDs) == 0 {
		fe.Add("scope", "Choose everyone, or at least one role or phone number.")
	}
	if !in.DueAt.After(now) {
		fe.Add("due", "Choose a due date in the future.")
	}
	if len(in.ReviewerIDs) == 0 {
		fe.Add("reviewers", "Choose at least one reviewer.")
	}
	reviewers, err := s.reviewers(ctx, in.ReviewerIDs)
	var ve *members.ValidationError
	if errors.As(err, &ve) {
		fe.Add(ve.Field, ve.Message)
	} else if err != nil {
		return openPlan{}, err
	}
	list, err := s.members.Store().List(ctx)
	if err != nil {
		return openPlan{}, err
	}
	ov, err := s.Overview(ctx)
	if err != nil {
		return openPlan{}, err
	}
	flags := map[int64][]Flag{}
	for _, a := range ov.Members {
		flags[a.Member.ID] = a.Flags
	}
	var scoped []members.Member
	for _, m := range list {
		if m.Active() && inScope(m, in) {
			scoped = append(scoped, m)
		}
	}
	if len(fe) == 0 && len(scoped) == 0 {
		fe.Add("scope", "No active member falls in this scope.")
	}
	// A reviewer never reviews themselves: every member under review needs another reviewer.
	if len(fe) == 0 {
		for _, m := range scoped {
			if len(reviewers) == 1 && reviewers[0].MemberID == m.ID {
				fe.Add("reviewers", m.Name+" is the only reviewer and is under review; nobody reviews themselves, so add another reviewer.")
			}
		}
	}
	if err := fe.Err(); err != nil {
		return openPlan{}, err
	}
	scope, err := s.scopeLabel(ctx, in)
	if err != nil {
		return openPlan{}, err
	}
	numbers, err := s.numberNames(ctx)
	if err != nil {
		return openPlan{}, err
	}
	return openPlan{in: in, reviewers: reviewers, scoped: scoped, flags: flags, scope: scope, numbers: numbers}, nil
}

func (s *Service) open(ctx context.Context, tx *sql.Tx, actor *authz.Principal, pl openPlan) (Campaign, error) {
	now := s.clock.Now()
	in, reviewers, scoped, flags, scope, numbers := pl.in, pl.reviewers, pl.scoped, pl.flags, pl.scope, pl.numbers
	actorName := "Scheduled review"
	if actor != nil {
		actorName = actor.Name
	}
	res, err := tx.ExecContext(ctx, `INSERT INTO access_review_campaigns (title, scope_all, scope_role_ids, scope_number_ids,
		scope_label, due_at, status, created_by_name, created_at) VALUES (?, ?, ?, ?, ?, ?, 'open', ?, ?)`,
		in.Title, in.AllMembers, db.FormatIDs(in.RoleIDs), db.FormatIDs(in.NumberIDs), scope, millis(in.DueAt), actorName, millis(now))
	if err != nil {
		return Campaign{}, fmt.Errorf("insert access review: %w", err)
	}
	id, err := res.LastInsertId()
	if err != nil {
		return Campaign{}, err
	}
	for _, r := range reviewers {
		if _, err := tx.ExecContext(ctx, `INSERT INTO access_review_reviewers (campaign_id, member_id, name) VALUES (?, ?, ?)`,
			id, r.MemberID, r.Name); err != nil {
			return Campaign{}, fmt.Errorf("add reviewer: %w", err)
		}
	}
	for _, m := range scoped {
		if _, err := tx.ExecContext(ctx, `INSERT INTO access_review_items (campaign_id, member_id, member_name, member_email,
			role_name, numbers, flags) VALUES (?, ?, ?, ?, ?, ?, ?)`,
			id, m.ID, m.Name, m.Email, m.RoleName, scopeText(m, numbers), joinFlags(flags[m.ID])); err != nil {
			return Campaign{}, fmt.Errorf("add member to review: %w", err)
		}
	}
	names := make([]string, len(reviewers))
	for i, r := range reviewers {
		names[i] = r.Name
	}
	ev := audit.Event{Action: "access_review.opened", Target: campaignTarget(id), Changes: []audit.Change{
		{Field: "title", After: in.Title}, {Field: "scope", After: scope}, {Field: "reviewers", After: strings.Join(names, ", ")},
		{Field: "members", After: len(scoped)}, {Field: "due", After: in.DueAt.UTC().Format(time.DateOnly)},
	}}
	if actor == nil {
		ev.Actor = scheduleActor()
	}
	if _, err := s.audit.Append(ctx, tx, ev); err != nil {
		return Campaign{}, err
	}
	return Campaign{ID: id, Title: in.Title, ScopeLabel: scope, DueAt: in.DueAt, Status: StatusOpen, CreatedByName: actorName,
		CreatedAt: now, Reviewers: reviewers, Total: len(scoped)}, nil
}

// scheduleActor is how the schedule appears in the activity log.
func scheduleActor() audit.Actor { return audit.SystemActor("access review schedule") }

// reviewers loads the chosen reviewers: active members holding access_reviews.manage, since
// the review pages need it.
func (s *Service) reviewers(ctx context.Context, ids []int64) ([]Reviewer, error) {
	var out []Reviewer
	seen := map[int64]bool{}
	for _, id := range ids {
		if seen[id] {
			continue
		}
		seen[id] = true
		p, m, err := s.members.Store().Principal(ctx, id)
		if errors.Is(err, members.ErrNotFound) {
			return nil, &members.ValidationError{Field: "reviewers", Message: "One of the chosen reviewers is not a member."}
		}
		if err != nil {
			return nil, err
		}
		if !m.Active() || !p.Can(authz.AccessReviewsManage) {
			return nil, &members.ValidationError{Field: "reviewers",
				Message: m.Name + " cannot review: reviewers must be active and hold the access_reviews.manage permission."}
		}
		out = append(out, Reviewer{MemberID: m.ID, Name: m.Name})
	}
	return out, nil
}

// EligibleReviewers lists the active members who may review.
func (s *Service) EligibleReviewers(ctx context.Context) ([]Reviewer, error) {
	list, err := s.members.Store().List(ctx)
	if err != nil {
		return nil, err
	}
	perms, err := s.rolePermissions(ctx)
	if err != nil {
		return nil, err
	}
	var out []Reviewer
	for _, m := range list {
		if m.Active() && perms[m.RoleID].Has(authz.AccessReviewsManage) {
			out = append(out, Reviewer{MemberID: m.ID, Name: m.Name})
		}
	}
	return out, nil
}

func (s *Service) scopeLabel(ctx context.Context, in CampaignInput) (string, error) {
	if in.AllMembers {
		return "Everyone", nil
	}
	var parts []string
	if len(in.RoleIDs) > 0 {
		roles, err := s.members.Store().Roles(ctx)
		if err != nil {
			return "", err
		}
		var names []string
		for _, r := range roles {
			for _, id := range in.RoleIDs {
				if r.ID == id {
					names = append(names, r.Name)
				}
			}
		}
		if len(names) != len(in.RoleIDs) {
			return "", &members.ValidationError{Field: "scope", Message: "One of the chosen roles does not exist."}
		}
		parts = append(parts, "Roles: "+strings.Join(names, ", "))
	}
	if len(in.NumberIDs) > 0 {
		numbers, err := s.numberNames(ctx)
		if err != nil {
			return "", err
		}
		var names []string
		for _, id := range in.NumberIDs {
			n, ok := numbers[id]
			if !ok {
				return "", &members.ValidationError{Field: "scope", Message: "One of the chosen phone numbers does not exist."}
			}
			names = append(names, n)
		}
		parts = append(parts, "Numbers: "+strings.Join(names, ", "))
	}
	return strings.Join(parts, "; "), nil
}

// numberNames names the phone numbers for the snapshot of each member's scope.
func (s *Service) numberNames(ctx context.Context) (map[int64]string, error) {
	rows, err := s.db.R.QueryContext(ctx, `SELECT id, CASE WHEN coalesce(nullif(label, ''), verified_name) <> ''
		THEN coalesce(nullif(label, ''), verified_name) || ' (' || display_phone_number || ')'
		ELSE display_phone_number END FROM phone_numbers`)
	if err != nil {
		return nil, fmt.Errorf("phone numbers: %w", err)
	}
	defer rows.Close()
	out := map[int64]string{}
	for rows.Next() {
		var id int64
		var name string
		if err := rows.Scan(&id, &name); err != nil {
			return nil, err
		}
		out[id] = name
	}
	return out, rows.Err()
}

func scopeText(m members.Member, numbers map[int64]string) string {
	if m.AllNumbers {
		return "All numbers"
	}
	if len(m.NumberIDs) == 0 {
		return "No numbers"
	}
	names := make([]string, 0, len(m.NumberIDs))
	for _, id := range m.NumberIDs {
		names = append(names, numbers[id])
	}
	return strings.Join(names, ", ")
}

func campaignTarget(id int64) audit.Target { return audit.NewTarget("access_review", id) }

// Campaigns lists campaigns, open ones first, newest first.
func (s *Service) Campaigns(ctx context.Context) ([]Campaign, error) {
	rows, err := s.db.R.QueryContext(ctx, `SELECT `+campaignColumns+` FROM access_review_campaigns c
		ORDER BY c.status = 'closed', c.id DESC LIMIT 100`)
	if err != nil {
		return nil, fmt.Errorf("list access reviews: %w", err)
	}
	defer rows.Close()
	var out []Campaign
	for rows.Next() {
		c, err := scanCampaign(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

const campaignColumns = `c.id, c.title, c.scope_label, c.due_at, c.status, c.created_by_name, c.created_at,
	coalesce(c.closed_at, 0), c.closed_by_name,
	(SELECT count(*) FROM access_review_items i WHERE i.campaign_id = c.id),
	(SELECT count(*) FROM access_review_items i WHERE i.campaign_id = c.id AND i.decision <> ''),
	coalesce((SELECT group_concat(r.member_id || ':' || r.name, char(31)) FROM access_review_reviewers r WHERE r.campaign_id = c.id), '')`

func scanCampaign(row interface{ Scan(...any) error }) (Campaign, error) {
	var c Campaign
	var due, created, closed int64
	var reviewers string
	err := row.Scan(&c.ID, &c.Title, &c.ScopeLabel, &due, &c.Status, &c.CreatedByName, &created, &closed, &c.ClosedByName,
		&c.Total, &c.Decided, &reviewers)
	if errors.Is(err, sql.ErrNoRows) {
		return Campaign{}, ErrNotFound
	}
	if err != nil {
		return Campaign{}, fmt.Errorf("scan access review: %w", err)
	}
	c.DueAt, c.CreatedAt, c.ClosedAt = fromMillis(due), fromMillis(created), fromMillis(closed)
	for _, r := range strings.Split(reviewers, "\x1f") {
		id, name, ok := strings.Cut(r, ":")
		if !ok {
			continue
		}
		n, _ := strconv.ParseInt(id, 10, 64)
		c.Reviewers = append(c.Reviewers, Reviewer{MemberID: n, Name: name})
	}
	return c, nil
}

// Campaign returns one campaign with its items.
func (s *Service) Campaign(ctx context.Context, id int64) (Campaign, []Item, error) {
	c, err := scanCampaign(s.db.R.QueryRowContext(ctx, `SELECT `+campaignColumns+` FROM access_review_campaigns c WHERE c.id = ?`, id))
	if err != nil {
		return Campaign{}, nil, err
	}
	items, err := s.items(ctx, s.db.R, id)
	return c, items, err
}

const itemColumns = `id, campaign_id, member_id, member_name, member_email, role_name, numbers, flags, decision,
	new_role_name, comment, change, coalesce(decided_by, 0), decided_by_name, coalesce(decided_at, 0)`

func scanItem(row interface{ Scan(...any) error }) (Item, error) {
	var it Item
	var flags string
	var decided int64
	err := row.Scan(&it.ID, &it.CampaignID, &it.MemberID, &it.MemberName, &it.MemberEmail, &it.RoleName, &it.Numbers, &flags,
		&it.Decision, &it.NewRoleName, &it.Comment, &it.Change, &it.DecidedBy, &it.DecidedByName, &decided)
	if errors.Is(err, sql.ErrNoRows) {
		return Item{}, ErrNotFound
	}
	if err != nil {
		return Item{}, fmt.Errorf("scan review item: %w", err)
	}
	it.Flags, it.DecidedAt = splitFlags(flags), fromMillis(decided)
	return it, nil
}

func (s *Service) items(ctx context.Context, q db.Querier, campaignID int64) ([]Item, error) {
	rows, err := q.QueryContext(ctx, `SELECT `+itemColumns+` FROM access_review_items WHERE campaign_id = ?
		ORDER BY member_name COLLATE NOCASE, id`, campaignID)
	if err != nil {
		return nil, fmt.Errorf("list review items: %w", err)
	}
	defer rows.Close()
	var out []Item
	for rows.Next() {
		it, err := scanItem(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, it)
	}
	return out, rows.Err()
}
