package demo

import (
	"context"
	"fmt"

	"github.com/switchboard/switchboard/internal/inbox"
	"github.com/switchboard/switchboard/internal/members"
)

// SeedNotes leaves an internal note on the newest conversation, mentioning its assignee when
// it has one, so the demo shows notes (and a mention in the assignee's notices) at first start.
// It runs once: a workspace with any note has its own.
func SeedNotes(ctx context.Context, m *members.Service, ib *inbox.Service) error {
	admin, err := demoPrincipal(ctx, m, "administrator")
	if err != nil {
		return err
	}
	page, err := ib.List(ctx, admin, inbox.ListQuery{Box: inbox.BoxAll, Limit: 20})
	if err != nil || len(page.Conversations) == 0 {
		return err
	}
	for _, c := range page.Conversations {
		if notes, err := ib.Notes(ctx, admin, c.ID); err != nil || len(notes) > 0 {
			return err
		}
	}
	// The assigned conversation first: its agent then finds the note, and the mention, at once.
	c := page.Conversations[0]
	for _, cand := range page.Conversations {
		if cand.AssigneeID != 0 {
			c = cand
			break
		}
	}
	body := "Heads up: this customer ordered twice last month. Offer the loyalty discount (code SHRUB10) if it helps."
	if c.AssigneeName != "" {
		body = "@" + c.AssigneeName + " she asked about delivery times last week too. Offer the free shipping code SHRUB10 if it helps."
	}
	if _, err := ib.AddNote(ctx, admin, c.ID, body); err != nil {
		return fmt.Errorf("demo: note: %w", err)
	}
	return nil
}
