package app

import (
	"context"
	"time"
)

// WebhookRetention is how long processed webhook bodies are kept. They exist for reprocessing
// and for investigating what Meta sent; the messages and statuses they carried stay in the inbox.
const WebhookRetention = 30 * 24 * time.Hour

// PruneWebhooksEvery deletes processed webhook bodies older than WebhookRetention now and then
// every interval, until ctx ends.
func (a *App) PruneWebhooksEvery(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		n, err := a.Ingester.PruneWebhooks(ctx, a.Clock.Now().Add(-WebhookRetention))
		switch {
		case err != nil && ctx.Err() == nil:
			a.Logger.ErrorContext(ctx, "prune webhook bodies", "error", err)
		case n > 0:
			a.Logger.InfoContext(ctx, "pruned webhook bodies", "rows", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// RunAccessReviewsEvery runs the access-review schedule (scheduled campaigns, reminders, overdue
// alerts) now and then every interval, until ctx ends. Time comes from the app's clock.
func (a *App) RunAccessReviewsEvery(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		opened, err := a.Reviews.RunSchedule(ctx)
		switch {
		case err != nil && ctx.Err() == nil:
			a.Logger.ErrorContext(ctx, "access review schedule", "error", err)
		case opened:
			a.Logger.InfoContext(ctx, "scheduled access review opened")
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
