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
