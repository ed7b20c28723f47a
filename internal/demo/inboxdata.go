package demo

import (
	"context"
	"errors"
	"fmt"

	"github.com/switchboard/switchboard/internal/audit"
	"github.com/switchboard/switchboard/internal/inbox"
	"github.com/switchboard/switchboard/internal/members"
)

// demoLabels are the labels of the demo workspace, as a plant shop would use them.
var demoLabels = []inbox.LabelInput{
	{Name: "VIP", Color: "purple", Description: "Customers who order more than twice a year"},
	{Name: "Delivery", Color: "blue", Description: "Questions about shipping and delivery dates"},
	{Name: "Plant care", Color: "green", Description: "Advice on watering, light and pests"},
	{Name: "Refund", Color: "red", Description: "Returns and refunds waiting for a decision"},
	{Name: "Wholesale", Color: "yellow", Description: "Garden centres and landscapers"},
}

// SeedInboxData shows labels, contacts with custom fields and media in the demo: the
// Administrator defines the labels and puts them on the first conversations. Call it after the
// customers have written in; it adds nothing twice.
func (s *Sandbox) SeedInboxData(ctx context.Context, m *members.Service, ib *inbox.Service) error {
	admin, err := demoPrincipal(ctx, m, "administrator")
	if err != nil {
		return err
	}
	ctx = audit.WithActor(ctx, audit.MemberActor(admin.MemberID, admin.Name))
	existing, err := ib.Labels(ctx, admin)
	if err != nil || len(existing) > 0 {
		return err
	}
	ids := map[string]int64{}
	for _, in := range demoLabels {
		l, err := ib.CreateLabel(ctx, admin, in)
		if err != nil {
			return fmt.Errorf("demo: label %s: %w", in.Name, err)
		}
		ids[l.Name] = l.ID
	}
	page, err := ib.List(ctx, admin, inbox.ListQuery{Box: inbox.BoxAll})
	if err != nil {
		return err
	}
	byContact := map[string][]string{
		"Sheena Nelson": {"VIP", "Delivery"},
		"Jonas Weber":   {"Plant care"},
	}
	var errs []error
	for i, c := range page.Conversations {
		names, ok := byContact[c.Contact.Name]
		if !ok && i < 6 {
			names = []string{demoLabels[i%len(demoLabels)].Name}
		}
		for _, n := range names {
			errs = append(errs, ib.LabelConversation(ctx, admin, c.ID, ids[n], true))
		}
	}
	return errors.Join(errs...)
}
