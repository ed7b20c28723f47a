package demo

import (
	"context"
	"fmt"
	"time"

	"github.com/switchboard/switchboard/internal/audit"
	"github.com/switchboard/switchboard/internal/authz"
	"github.com/switchboard/switchboard/internal/consent"
	"github.com/switchboard/switchboard/internal/inbox"
	"github.com/switchboard/switchboard/internal/members"
	"github.com/switchboard/switchboard/internal/reviews"
)

// SeedCompliance shows the compliance features in the demo: an access review in progress (one
// decision taken, the rest waiting for the demo Administrator) and marketing consent on the
// first customers. Call it after the customers have written in; it adds nothing twice.
func SeedCompliance(ctx context.Context, m *members.Service, rv *reviews.Service, cs *consent.Service, ib *inbox.Service) error {
	admin, err := demoPrincipal(ctx, m, "administrator")
	if err != nil {
		return err
	}
	ctx = audit.WithActor(ctx, audit.MemberActor(admin.MemberID, admin.Name))
	if err := seedReview(ctx, m, rv, admin); err != nil {
		return fmt.Errorf("demo: access review: %w", err)
	}
	page, err := ib.List(ctx, admin, inbox.ListQuery{Box: inbox.BoxAll})
	if err != nil {
		return err
	}
	for i, c := range page.Conversations {
		cur, err := cs.Current(ctx, c.Contact.ID)
		if err != nil || cur.Status != consent.StatusNone {
			return err
		}
		change := consent.Change{Status: consent.StatusOptedIn, Source: consent.SourceForm,
			Text: "Yes, send me Lucky Shrub offers and plant tips on WhatsApp. I can reply STOP at any time."}
		if i%2 == 1 {
			change = consent.Change{Status: consent.StatusOptedOut, Source: consent.SourceKeyword, Text: "STOP"}
		}
		if _, err := cs.Set(ctx, c.Contact.ID, admin.Name, change); err != nil {
			return fmt.Errorf("demo: consent: %w", err)
		}
	}
	return nil
}

func seedReview(ctx context.Context, m *members.Service, rv *reviews.Service, admin *authz.Principal) error {
	existing, err := rv.Campaigns(ctx)
	if err != nil || len(existing) > 0 {
		return err
	}
	// The demo has one Administrator, who may not review themselves: the review covers the
	// other roles.
	roles, err := m.Store().Roles(ctx)
	if err != nil {
		return err
	}
	var ids []int64
	for _, r := range roles {
		if r.Key != authz.RoleAdministrator {
			ids = append(ids, r.ID)
		}
	}
	c, err := rv.Open(ctx, admin, reviews.CampaignInput{Title: "Quarterly access review", RoleIDs: ids,
		ReviewerIDs: []int64{admin.MemberID}, DueAt: time.Now().UTC().AddDate(0, 0, 14)})
	if err != nil {
		return err
	}
	_, items, err := rv.Campaign(ctx, c.ID)
	if err != nil || len(items) == 0 {
		return err
	}
	_, err = rv.Decide(ctx, admin, c.ID, items[0].ID, reviews.DecisionInput{Decision: reviews.DecisionKeep,
		Comment: "Still needs this access for the monthly audit."})
	return err
}
