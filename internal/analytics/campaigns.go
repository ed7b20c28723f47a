package analytics

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/switchboard/switchboard/internal/authz"
)

// CampaignFigures are one campaign's results for the Analytics page (internal/campaigns owns
// the tables; this reads them). Delivered includes read; Replied and OptedOut count recipients
// who wrote back or opted out after their message.
type CampaignFigures struct {
	ID                                                           int64
	Name                                                         string
	Status                                                       string
	StartedAt                                                    time.Time
	Recipients, Sent, Delivered, Read, Replied, Failed, OptedOut int
}

// Rate is part of Sent as a whole percentage, 0 when nothing was sent.
func (c CampaignFigures) Rate(part int) int {
	if c.Sent == 0 {
		return 0
	}
	return part * 100 / c.Sent
}

// Campaigns are the campaigns started in the period on the numbers p may see (narrowed to
// f.NumberID when set), newest first, at most 20.
func (s *Service) Campaigns(ctx context.Context, p *authz.Principal, period Period, f Filter) ([]CampaignFigures, error) {
	ns, err := scope(p, authz.AnalyticsView, f.NumberID)
	if err != nil {
		return nil, err
	}
	where := []string{"c.started_at >= ?", "c.started_at < ?"}
	args := []any{period.Start.UnixMilli(), period.End.UnixMilli()}
	if !ns.all {
		if len(ns.ids) == 0 {
			return nil, nil
		}
		where = append(where, "c.phone_number_id IN ("+strings.TrimSuffix(strings.Repeat("?,", len(ns.ids)), ",")+")")
		for _, id := range ns.ids {
			args = append(args, id)
		}
	}
	if f.Template != "" {
		where = append(where, "c.template_name = ?")
		args = append(args, f.Template)
	}
	rows, err := s.store.db.Reports.QueryContext(ctx, `SELECT c.id, c.name, c.status, c.started_at, c.recipients,
		(SELECT count(*) FROM campaign_recipients r LEFT JOIN messages m ON m.id = r.message_id
			WHERE r.campaign_id = c.id AND r.state = 'sent' AND coalesce(m.status, '') <> 'failed'),
		(SELECT count(*) FROM campaign_recipients r JOIN messages m ON m.id = r.message_id
			WHERE r.campaign_id = c.id AND r.state = 'sent' AND m.status IN ('delivered', 'read')),
		(SELECT count(*) FROM campaign_recipients r JOIN messages m ON m.id = r.message_id
			WHERE r.campaign_id = c.id AND r.state = 'sent' AND m.status = 'read'),
		(SELECT count(*) FROM campaign_recipients r JOIN messages m ON m.id = r.message_id
			WHERE r.campaign_id = c.id AND r.state = 'sent' AND EXISTS (SELECT 1 FROM messages i
			WHERE i.conversation_id = m.conversation_id AND i.direction = 'in' AND i.created_at > r.sent_at)),
		(SELECT count(*) FROM campaign_recipients r LEFT JOIN messages m ON m.id = r.message_id
			WHERE r.campaign_id = c.id AND (r.state = 'failed' OR m.status = 'failed')),
		(SELECT count(*) FROM campaign_recipients r WHERE r.campaign_id = c.id AND r.state = 'sent' AND EXISTS (
			SELECT 1 FROM contact_consents cc WHERE cc.contact_id = r.contact_id AND cc.status = 'opted_out' AND cc.recorded_at >= r.sent_at))
		FROM campaigns c WHERE `+strings.Join(where, " AND ")+` ORDER BY c.started_at DESC LIMIT 20`, args...)
	if err != nil {
		return nil, fmt.Errorf("campaign figures: %w", err)
	}
	defer rows.Close()
	var out []CampaignFigures
	for rows.Next() {
		var c CampaignFigures
		var started int64
		if err := rows.Scan(&c.ID, &c.Name, &c.Status, &started, &c.Recipients, &c.Sent, &c.Delivered, &c.Read, &c.Replied,
			&c.Failed, &c.OptedOut); err != nil {
			return nil, fmt.Errorf("scan campaign figures: %w", err)
		}
		c.StartedAt = time.UnixMilli(started).UTC()
		out = append(out, c)
	}
	return out, rows.Err()
}
