package alerts

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/switchboard/switchboard/internal/db"
)

// The rules with thresholds count what the activity log already holds, so no second counter
// can drift from what an auditor sees; only wrong webhook signatures, which are not logged one
// by one (a flood of forgeries must cost no writes), are counted in memory by the web layer
// against SignatureThreshold.

// SignInFailed is called in the transaction that recorded a member's failed sign-in (the
// member.sign_in_failed event naming the member): when the member's account has had the rule's
// threshold of failures within its window, it returns the alert to raise. Repeats count on the
// same open alert, as the throttle's lock alert does.
func (s *Service) SignInFailed(ctx context.Context, q db.Querier, memberID int64, memberName, addr string) (Alert, bool, error) {
	r, err := s.ruleIn(ctx, q, KindRepeatedSignInFailures)
	if err != nil || !r.Enabled {
		return Alert{}, false, err
	}
	since := s.clk.Now().Add(-r.Window)
	var n int
	if err := q.QueryRowContext(ctx, `SELECT count(*) FROM audit_events
		WHERE target_type = 'member' AND target_id = ? AND action = 'member.sign_in_failed' AND occurred_at >= ?`,
		strconv.FormatInt(memberID, 10), millis(since)).Scan(&n); err != nil {
		return Alert{}, false, fmt.Errorf("alerts: count failed sign-ins: %w", err)
	}
	if n < r.Threshold {
		return Alert{}, false, nil
	}
	a := AccountLocked(memberID, memberName, n, addr)
	a.Title = fmt.Sprintf("%d failed sign-ins for %s in %s", n, memberName, minutes(r.Window))
	return a, true, nil
}

// SignatureThreshold is the webhook-signature rule as the web layer counts it: how many wrong
// signatures within window raise the alert; ok is false when the rule is off.
func (s *Service) SignatureThreshold(ctx context.Context) (n int, window time.Duration, ok bool) {
	r, err := s.Rule(ctx, KindWebhookSignatureFailures)
	if err != nil || !r.Enabled {
		return 0, 0, false
	}
	return r.Threshold, r.Window, true
}

// revealAction is the activity event of a member revealing a customer's number.
const revealAction = "contact.revealed"

// isExport: the activity log names every export "<area>.exported" (the activity log, the
// conversations, a customer's data, analytics).
func isExport(action string) bool { return strings.HasSuffix(action, ".exported") }

// WatchActivity reads the activity log from where it stopped last and raises a mass-export
// alert for each member or API key that, within the rule's window, exported the threshold's
// number of times or revealed the second threshold's number of customers. It returns how many
// events it read. The app runs it every few seconds; tests call it directly.
func (s *Service) WatchActivity(ctx context.Context) (int, error) {
	r, err := s.Rule(ctx, KindMassExport)
	if err != nil {
		return 0, err
	}
	var last int64
	if err := s.db.R.QueryRowContext(ctx, `SELECT last_event_id FROM alert_watch_state WHERE id = 1`).Scan(&last); err != nil {
		return 0, fmt.Errorf("alerts: read watch state: %w", err)
	}
	rows, err := s.db.R.QueryContext(ctx, `SELECT id, actor_type, actor_id, actor_name, action FROM audit_events
		WHERE id > ? ORDER BY id LIMIT 5000`, last)
	if err != nil {
		return 0, fmt.Errorf("alerts: read activity: %w", err)
	}
	type actor struct{ typ, id string }
	seen := map[actor]string{}
	var order []actor
	read := 0
	for rows.Next() {
		var id int64
		var a actor
		var name, action string
		if err := rows.Scan(&id, &a.typ, &a.id, &name, &action); err != nil {
			rows.Close()
			return 0, fmt.Errorf("alerts: read activity: %w", err)
		}
		read++
		last = id
		if a.id == "" || !(isExport(action) || action == revealAction) {
			continue
		}
		if _, ok := seen[a]; !ok {
			order = append(order, a)
		}
		seen[a] = name
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, fmt.Errorf("alerts: read activity: %w", err)
	}
	if read == 0 {
		return 0, nil
	}
	var raised []Alert
	err = s.db.Tx(ctx, func(tx *sql.Tx) error {
		if r.Enabled {
			since := millis(s.clk.Now().Add(-r.Window))
			for _, a := range order {
				var exports, reveals int
				if err := tx.QueryRowContext(ctx, `SELECT
					coalesce(sum(action LIKE '%.exported'), 0), coalesce(sum(action = ?), 0)
					FROM audit_events WHERE actor_type = ? AND actor_id = ? AND occurred_at >= ? AND outcome = 'success'`,
					revealAction, a.typ, a.id, since).Scan(&exports, &reveals); err != nil {
					return fmt.Errorf("alerts: count exports: %w", err)
				}
				if exports < r.Threshold && reveals < r.Threshold2 {
					continue
				}
				name := seen[a]
				alert := Alert{Kind: KindMassExport, Subject: Subject{Type: a.typ, ID: a.id},
					Title: fmt.Sprintf("%s exported %d times and revealed %d customers in %s", name, exports, reveals, minutes(r.Window)),
					Details: map[string]string{"exports": strconv.Itoa(exports), "customers_revealed": strconv.Itoa(reveals),
						"window": minutes(r.Window)}}
				got, err := s.Raise(ctx, tx, alert)
				if err != nil {
					return err
				}
				raised = append(raised, got)
			}
		}
		_, err := tx.ExecContext(ctx, `UPDATE alert_watch_state SET last_event_id = ? WHERE id = 1 AND last_event_id < ?`, last, last)
		return err
	})
	if err != nil {
		return 0, err
	}
	for _, a := range raised {
		if err := s.Notify(ctx, a); err != nil {
			s.logger.ErrorContext(ctx, "alert notification failed", "alert_id", a.ID, "error", err)
		}
	}
	return read, nil
}

// WatchActivityEvery runs WatchActivity, and publishes alerts whose webhook delivery waits
// (raised inside other transactions, or left by a restart), every interval until ctx ends.
func (s *Service) WatchActivityEvery(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		for {
			n, err := s.WatchActivity(ctx)
			if err != nil {
				if ctx.Err() == nil {
					s.logger.ErrorContext(ctx, "alerts: watch activity", "error", err)
				}
				break
			}
			if n < 5000 {
				break
			}
		}
		if _, err := s.PublishQueued(ctx, 0); err != nil && ctx.Err() == nil {
			s.logger.WarnContext(ctx, "alerts: publish to webhooks", "error", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func minutes(d time.Duration) string {
	m := int(d / time.Minute)
	if m == 1 {
		return "1 minute"
	}
	return strconv.Itoa(m) + " minutes"
}
