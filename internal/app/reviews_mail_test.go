package app_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/app/apptest"
	"github.com/switchboard/switchboard/internal/authz"
	"github.com/switchboard/switchboard/internal/mail/mailtest"
	"github.com/switchboard/switchboard/internal/reviews"
)

// With a mail server, a scheduled access review e-mails each reviewer a reminder with the
// review's link (reviews.Reminder wired to the durable outbox), delivered over real SMTP.
func TestAccessReviewRemindersAreEmailed(t *testing.T) {
	srv := mailtest.Start(t, mailtest.Options{})
	in := apptest.StartWith(t, apptest.Options{SMTP: srv})
	ctx := context.Background()
	ada := in.CreateMember("ada@example.com", "Ada", authz.RoleAdministrator, "correct horse battery staple")
	in.CreateMember("bob@example.com", "Bob", authz.RoleAdministrator, "correct horse battery staple")
	in.CreateMember("cat@example.com", "Cat", authz.RoleAgent, "correct horse battery staple")
	p, _, err := in.App.Members.Store().Principal(ctx, ada.ID)
	if err != nil {
		t.Fatal(err)
	}
	if err := in.App.Reviews.SaveSettings(ctx, p, reviews.Settings{InactiveDays: 30, ScheduleMonths: 3, DueDays: 14}); err != nil {
		t.Fatal(err)
	}
	in.Clock.Advance(92 * 24 * time.Hour)
	if _, err := in.App.Reviews.RunSchedule(ctx); err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for _, m := range srv.WaitFor(4, 20*time.Second) {
		if strings.HasPrefix(m.Subject, "Access review due") && strings.Contains(m.Text, "/reviews/") {
			got[m.To] = true
		}
	}
	if !got["ada@example.com"] || !got["bob@example.com"] {
		t.Errorf("reminders went to %v, want both reviewers", got)
	}
}
