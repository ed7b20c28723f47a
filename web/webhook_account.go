package web

import (
	"context"
	"errors"

	"github.com/switchboard/switchboard/internal/whatsapp"
	"github.com/switchboard/switchboard/internal/workspace"
)

// applyAccountEvents hands Meta's news about numbers and accounts (quality and messaging limit,
// display name reviews, account standing) to the workspace. Like template events, the raw body
// is already stored, so a failure is logged, not answered with a retry.
func (s *Server) applyAccountEvents(ctx context.Context, events []whatsapp.Event) {
	for _, ev := range events {
		var err error
		switch e := ev.(type) {
		case whatsapp.PhoneNumberQuality:
			err = s.Workspace.ApplyNumberQuality(ctx, e)
		case whatsapp.PhoneNumberName:
			err = s.Workspace.ApplyNumberName(ctx, e)
		case whatsapp.AccountUpdated:
			err = s.Workspace.ApplyAccountUpdate(ctx, e)
		default:
			continue
		}
		if err != nil && !errors.Is(err, workspace.ErrNotFound) {
			s.Logger.ErrorContext(ctx, "apply a number or account webhook", "event", ev, "error", err)
		}
	}
}
