package demo

import (
	"context"
	"fmt"
	"time"

	"github.com/switchboard/switchboard/internal/db"
)

// LabelHistory puts the demo's labels on about an eighth of the history's conversations, so that
// the Analytics page's label filter has figures on first start. Call it after SeedInboxData
// (which defines the labels, puts some on recent conversations and returns early once any label
// is in use). It runs once: its labels are dated at the conversation's start, which no member's
// labelling is, and it does nothing when such a label exists.
func LabelHistory(ctx context.Context, d *db.DB, now time.Time) error {
	before := now.Add(-48 * time.Hour).UnixMilli()
	var n int
	if err := d.R.QueryRowContext(ctx, `SELECT count(*) FROM conversation_labels cl JOIN conversations c ON c.id = cl.conversation_id
		WHERE cl.added_at = c.created_at AND c.created_at < ?`, before).Scan(&n); err != nil {
		return fmt.Errorf("demo history labels: %w", err)
	}
	if n > 0 {
		return nil
	}
	// Spread without randomness: each label on a different eighth of the conversations, a few
	// conversations with two.
	if _, err := d.W.ExecContext(ctx, `INSERT INTO conversation_labels (conversation_id, label_id, added_at)
		SELECT c.id, l.id, c.created_at FROM conversations c JOIN labels l
		WHERE c.created_at < ? AND (c.id * 7 + l.id * 3) % 8 = 0
		ON CONFLICT DO NOTHING`, before); err != nil {
		return fmt.Errorf("demo history labels: %w", err)
	}
	return nil
}
