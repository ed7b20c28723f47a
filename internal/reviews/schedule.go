package reviews

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"

	"github.com/switchboard/switchboard/internal/alerts"
	"github.com/switchboard/switchboard/internal/members"
)

// RunSchedule is the periodic part of access reviews, called by the server's maintenance with
// the injected clock: it opens the scheduled campaign when its time has come (with an alert),
// reminds reviewers of campaigns due within RemindBefore, and raises an alert for campaigns past
// their due date. It reports whether it opened a campaign.
func (s *Service) RunSchedule(ctx context.Context) (bool, error) {
	opened, err := s.openScheduled(ctx)
	if err != nil {
		return opened, err
	}
	return opened, errors.Join(s.remind(ctx), s.flagOverdue(ctx))
}

func (s *Service) openScheduled(ctx context.Context) (bool, error) {
	now := s.clock.Now()
	st, err := s.Settings(ctx)
	if err != nil {
		return false, err
	}
	if st.ScheduleMonths == 0 || st.NextRunAt.IsZero() || now.Before(st.NextRunAt) {
		return false, nil
	}
	next := st.NextRunAt
	for !next.After(now) { // a server that was down for a while opens one campaign, not several
		next = next.AddDate(0, st.ScheduleMonths, 0)
	}
	reviewerIDs := st.ReviewerIDs
	if len(reviewerIDs) == 0 {
		eligible, err := s.EligibleReviewers(ctx)
		if err != nil {
			return false, err
		}
		for _, r := range eligible {
			reviewerIDs = append(reviewerIDs, r.MemberID)
		}
	}
	in := CampaignInput{Title: "Scheduled access review " + now.Format("January 2006"), AllMembers: true,
		ReviewerIDs: reviewerIDs, DueAt: now.AddDate(0, 0, st.DueDays)}
	// Read before the transaction (see openPlan).
	pl, planErr := s.plan(ctx, in)
	var fe members.FieldErrors
	if planErr != nil && !errors.As(planErr, &fe) {
		return false, planErr
	}
	var c Campaign
	err = s.db.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `UPDATE access_review_settings SET next_run_at = ? WHERE id = 1`, millis(next)); err != nil {
			return fmt.Errorf("advance access review schedule: %w", err)
		}
		if planErr != nil {
			// Nothing to open against (no reviewer, only one reviewer under review): say so
			// where administrators look, and try again at the next interval.
			msg := "The scheduled access review could not open: "
			for _, m := range fe {
				msg += m + " "
			}
			_, err := s.alerts.Raise(ctx, tx, alerts.Alert{Kind: alerts.KindAccessReviewOpened, Severity: alerts.SeverityWarning,
				Title: msg, Subject: alerts.Subject{Type: "access_review_schedule"}})
			return err
		}
		var openErr error
		if c, openErr = s.open(ctx, tx, nil, pl); openErr != nil {
			return openErr
		}
		_, err := s.alerts.Raise(ctx, tx, alerts.Alert{Kind: alerts.KindAccessReviewOpened,
			Title:   "The scheduled access review “" + c.Title + "” opened for " + strconv.Itoa(c.Total) + " members, due " + c.DueAt.Format("2 January 2006") + ".",
			Subject: alerts.Subject{Type: "access_review", ID: strconv.FormatInt(c.ID, 10)}})
		return err
	})
	if err != nil || c.ID == 0 {
		return false, err
	}
	return true, s.remindCampaign(ctx, c, false)
}

// remind tells the reviewers of campaigns due within RemindBefore, once per campaign.
func (s *Service) remind(ctx context.Context) error {
	if s.Reminders == nil {
		return nil
	}
	now := s.clock.Now()
	rows, err := s.db.R.QueryContext(ctx, `SELECT id FROM access_review_campaigns
		WHERE status = 'open' AND reminded_at IS NULL AND due_at <= ?`, millis(now.Add(RemindBefore)))
	if err != nil {
		return fmt.Errorf("campaigns to remind: %w", err)
	}
	ids, err := collectIDs(rows)
	if err != nil {
		return err
	}
	for _, id := range ids {
		c, _, err := s.Campaign(ctx, id)
		if err != nil {
			return err
		}
		if err := s.remindCampaign(ctx, c, true); err != nil {
			return err
		}
	}
	return nil
}

func (s *Service) remindCampaign(ctx context.Context, c Campaign, markReminded bool) error {
	if s.Reminders == nil {
		return nil
	}
	_, items, err := s.Campaign(ctx, c.ID)
	if err != nil {
		return err
	}
	var errs []error
	for _, r := range c.Reviewers {
		waiting := 0
		for _, it := range items {
			if it.Decision == DecisionNone && it.MemberID != r.MemberID {
				waiting++
			}
		}
		if waiting == 0 {
			continue
		}
		errs = append(errs, s.Reminders.RemindReviewer(ctx, ReminderNote{MemberID: r.MemberID, Name: r.Name, CampaignID: c.ID,
			Title: c.Title, DueAt: c.DueAt, Waiting: waiting}))
	}
	if markReminded {
		if _, err := s.db.W.ExecContext(ctx, `UPDATE access_review_campaigns SET reminded_at = ? WHERE id = ?`,
			millis(s.clock.Now()), c.ID); err != nil {
			errs = append(errs, fmt.Errorf("mark reminded: %w", err))
		}
	}
	return errors.Join(errs...)
}

// flagOverdue raises an alert for each open campaign past its due date; the alerts service
// counts repeats on the open alert, so a campaign overdue for weeks stays one alert.
func (s *Service) flagOverdue(ctx context.Context) error {
	rows, err := s.db.R.QueryContext(ctx, `SELECT id FROM access_review_campaigns WHERE status = 'open' AND due_at < ?`,
		millis(s.clock.Now()))
	if err != nil {
		return fmt.Errorf("overdue access reviews: %w", err)
	}
	ids, err := collectIDs(rows)
	if err != nil {
		return err
	}
	for _, id := range ids {
		c, _, err := s.Campaign(ctx, id)
		if err != nil {
			return err
		}
		if _, err := s.alerts.Record(ctx, alerts.Alert{Kind: alerts.KindAccessReviewOverdue,
			Title: "The access review “" + c.Title + "” was due " + c.DueAt.Format("2 January 2006") + " and " +
				strconv.Itoa(c.Total-c.Decided) + " members still wait for a decision.",
			Subject: alerts.Subject{Type: "access_review", ID: strconv.FormatInt(c.ID, 10)}}); err != nil {
			return err
		}
	}
	return nil
}

func collectIDs(rows *sql.Rows) ([]int64, error) {
	defer rows.Close()
	var out []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		out = append(out, id)
	}
	return out, rows.Err()
}
