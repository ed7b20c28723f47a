package demo

import (
	"context"
	"fmt"

	"github.com/switchboard/switchboard/internal/alerts"
	"github.com/switchboard/switchboard/internal/audit"
	"github.com/switchboard/switchboard/internal/inbox"
	"github.com/switchboard/switchboard/internal/members"
	"github.com/switchboard/switchboard/internal/privacy"
)

// SeedPrivacy shows the privacy and alerting features on first start: a year's message
// retention with the jobs run once, four-eyes erasure with one request waiting for a second
// member, and a mass-export rule that e-mails the Administrator only. It does nothing twice.
func SeedPrivacy(ctx context.Context, m *members.Service, pv *privacy.Service, al *alerts.Service, ib *inbox.Service) error {
	admin, err := demoPrincipal(ctx, m, "administrator")
	if err != nil {
		return err
	}
	ctx = audit.WithActor(ctx, audit.MemberActor(admin.MemberID, admin.Name))
	reqs, err := pv.Requests(ctx, 1)
	if err != nil || len(reqs) > 0 {
		return err
	}
	if err := pv.SaveSettings(ctx, admin, privacy.Settings{ErasureFourEyes: true, MessagesDays: 365, MediaDays: 90, WebhookDays: 30}); err != nil {
		return fmt.Errorf("demo: privacy settings: %w", err)
	}
	if _, err := pv.RunRetention(ctx); err != nil {
		return fmt.Errorf("demo: retention: %w", err)
	}
	rule, err := al.Rule(ctx, alerts.KindMassExport)
	if err != nil {
		return err
	}
	rule.EmailEveryone, rule.EmailTo, rule.Threshold = false, []int64{admin.MemberID}, 3
	if err := al.SaveRule(ctx, audit.MemberActor(admin.MemberID, admin.Name), rule, m.Store().MayReceiveAlerts); err != nil {
		return fmt.Errorf("demo: alert rule: %w", err)
	}
	page, err := ib.List(ctx, admin, inbox.ListQuery{Box: inbox.BoxAll})
	if err != nil || len(page.Conversations) == 0 {
		return err
	}
	last := page.Conversations[len(page.Conversations)-1]
	if _, err := pv.RequestErasure(ctx, admin, last.Contact.ID, "Support ticket 2291"); err != nil {
		return fmt.Errorf("demo: erasure request: %w", err)
	}
	return nil
}
