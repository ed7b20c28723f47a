package app_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/app/apptest"
	"github.com/switchboard/switchboard/internal/authz"
	"github.com/switchboard/switchboard/internal/reviews"
)

type recordingReminder struct {
	mu    sync.Mutex
	notes []reviews.ReminderNote
}

func (r *recordingReminder) RemindReviewer(_ context.Context, n reviews.ReminderNote) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.notes = append(r.notes, n)
	return nil
}

func (r *recordingReminder) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.notes)
}

// A quarterly schedule opens a review by itself when its time comes, through the server's
// maintenance loop and the injected clock, with an alert, an event by the schedule (not a
// member) and a reminder to each reviewer through the reminder seam.
func TestScheduledAccessReviewOpensByItself(t *testing.T) {
	in := apptest.Start(t)
	ctx := context.Background()
	ada := in.CreateMember("ada@example.com", "Ada", authz.RoleAdministrator, "correct horse battery staple")
	in.CreateMember("bob@example.com", "Bob", authz.RoleAdministrator, "correct horse battery staple")
	in.CreateMember("cat@example.com", "Cat", authz.RoleAgent, "correct horse battery staple")
	rem := &recordingReminder{}
	in.App.Reviews.Reminders = rem
	p, _, err := in.App.Members.Store().Principal(ctx, ada.ID)
	if err != nil {
		t.Fatal(err)
	}
	if err := in.App.Reviews.SaveSettings(ctx, p, reviews.Settings{InactiveDays: 30, ScheduleMonths: 3, DueDays: 14}); err != nil {
		t.Fatal(err)
	}
	campaigns := func() int {
		var n int
		if err := in.App.DB.R.QueryRow(`SELECT count(*) FROM access_review_campaigns`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	run := func() {
		if _, err := in.App.Reviews.RunSchedule(ctx); err != nil {
			t.Fatal(err)
		}
	}
	run()
	if n := campaigns(); n != 0 {
		t.Fatalf("%d campaigns before the schedule's time", n)
	}
	in.Clock.Advance(92 * 24 * time.Hour)
	// The server's maintenance loop runs it.
	lctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { in.App.RunAccessReviewsEvery(lctx, time.Hour); close(done) }()
	for deadline := time.Now().Add(10 * time.Second); (campaigns() == 0 || rem.count() < 2) && time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
	}
	cancel()
	<-done
	if n := campaigns(); n != 1 {
		t.Fatalf("%d campaigns after a quarter, want 1", n)
	}
	run() // the next run does not open another
	if n := campaigns(); n != 1 {
		t.Fatalf("%d campaigns after a second run", n)
	}
	var total, actorName string
	if err := in.App.DB.R.QueryRow(`SELECT (SELECT count(*) FROM access_review_items), actor_name FROM audit_events
		WHERE action = 'access_review.opened' AND actor_type = 'system'`).Scan(&total, &actorName); err != nil {
		t.Fatalf("no system event for the scheduled review: %v", err)
	}
	if total != "3" || actorName != "access review schedule" {
		t.Errorf("items %s, actor %q", total, actorName)
	}
	var alerts int
	if err := in.App.DB.R.QueryRow(`SELECT count(*) FROM alerts WHERE kind = 'access_review_opened'`).Scan(&alerts); err != nil || alerts != 1 {
		t.Errorf("alerts: %d %v", alerts, err)
	}
	if n := rem.count(); n != 2 {
		t.Errorf("%d reminders, want one per reviewer (Ada and Bob)", n)
	}
	st, err := in.App.Reviews.Settings(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !st.NextRunAt.After(in.Clock.Now()) {
		t.Errorf("next run %v is not in the future", st.NextRunAt)
	}

	// Past the due date, the open review raises an overdue alert once (repeats are counted).
	in.Clock.Advance(15 * 24 * time.Hour)
	run()
	run()
	if err := in.App.DB.R.QueryRow(`SELECT count(*) FROM alerts WHERE kind = 'access_review_overdue'`).Scan(&alerts); err != nil || alerts != 1 {
		t.Errorf("overdue alerts: %d %v", alerts, err)
	}
}
