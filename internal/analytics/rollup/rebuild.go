package rollup

import (
	"context"
	"database/sql"
	"fmt"
)

// Rebuild recomputes every rollup from the inbox's tables through tx, by the rules the Delta
// applies change by change, and moves the mark to the newest message. Counts are done by SQL;
// first responses and template replies depend on the order of a conversation's messages and
// are found in one ordered pass in Go, by the walker the Delta uses.
func Rebuild(ctx context.Context, tx *sql.Tx) error {
	for _, t := range []string{"analytics_messages", "analytics_number_hours", "analytics_failures", "analytics_conversations",
		"analytics_durations", "analytics_first_responses", "analytics_billable", "analytics_label_conversations", "analytics_label_durations"} {
		if _, err := tx.ExecContext(ctx, `DELETE FROM `+t); err != nil {
			return fmt.Errorf("clear %s: %w", t, err)
		}
	}
	steps := []struct{ what, q string }{
		{"messages", `INSERT INTO analytics_messages (grain, t, phone_number_id, member_id, template_name, template_language,
				inbound, outbound, pending, sent, delivered, read, failed)
			SELECT 1, m.created_at / 3600000, c.phone_number_id,
				CASE WHEN m.direction = 'out' THEN coalesce(m.sent_by, 0) ELSE 0 END,
				CASE WHEN m.direction = 'out' THEN m.template_name ELSE '' END,
				CASE WHEN m.direction = 'out' THEN m.template_language ELSE '' END,
				sum(m.direction = 'in'), sum(m.direction = 'out'),
				sum(m.direction = 'out' AND m.status IN ('pending', 'accepted')),
				sum(m.direction = 'out' AND m.status = 'sent'),
				sum(m.direction = 'out' AND m.status = 'delivered'),
				sum(m.direction = 'out' AND m.status = 'read'),
				sum(m.direction = 'out' AND m.status = 'failed')
			FROM messages m JOIN conversations c ON c.id = m.conversation_id
			GROUP BY 2, 3, 4, 5, 6`},
		{"button clicks", `INSERT INTO analytics_messages (grain, t, phone_number_id, member_id, template_name, template_language, clicks)
			SELECT 1, t.created_at / 3600000, c.phone_number_id, coalesce(t.sent_by, 0), t.template_name, t.template_language, count(*)
			FROM messages b JOIN messages t ON t.wamid = b.reply_to JOIN conversations c ON c.id = t.conversation_id
			WHERE ` + ClickSQL + `
			GROUP BY 2, 3, 4, 5, 6
			ON CONFLICT DO UPDATE SET clicks = excluded.clicks`},
		{"failures", `INSERT INTO analytics_failures (grain, t, phone_number_id, member_id, template_name, error_code, n)
			SELECT 1, m.created_at / 3600000, c.phone_number_id, coalesce(m.sent_by, 0), m.template_name,
				coalesce(m.error_code, 0), count(*)
			FROM messages m JOIN conversations c ON c.id = m.conversation_id
			WHERE m.direction = 'out' AND m.status = 'failed'
			GROUP BY 2, 3, 4, 5, 6`},
		{"conversations opened", `INSERT INTO analytics_conversations (grain, t, phone_number_id, member_id, opened)
			SELECT 1, created_at / 3600000, phone_number_id, 0, count(*) FROM conversations GROUP BY 2, 3`},
		{"conversations closed", `INSERT INTO analytics_conversations (grain, t, phone_number_id, member_id, closed)
			SELECT 1, closed_at / 3600000, phone_number_id, coalesce(assignee_id, 0), count(*) FROM conversations
			WHERE status = 'closed' AND closed_at IS NOT NULL GROUP BY 2, 3, 4
			ON CONFLICT DO UPDATE SET closed = excluded.closed`},
		{"resolution", `INSERT INTO analytics_durations (grain, t, phone_number_id, member_id, kind, bucket, n)
			SELECT 1, closed_at / 3600000, phone_number_id, coalesce(assignee_id, 0), 'resolution',
				` + BucketSQL("(closed_at - created_at) / 1000") + `, count(*) FROM conversations
			WHERE status = 'closed' AND closed_at IS NOT NULL GROUP BY 2, 3, 4, 6`},
		{"billable", `INSERT INTO analytics_billable (grain, t, phone_number_id, category, prefix, n)
			SELECT 1, s.at / 3600000, c.phone_number_id, s.pricing_category, coalesce(substr(ct.wa_id, 1, 3), ''), count(*)
			FROM message_statuses s JOIN messages m ON m.wamid = s.wamid
			JOIN conversations c ON c.id = m.conversation_id JOIN contacts ct ON ct.id = c.contact_id
			WHERE s.billable = 1 AND s.status IN ('delivered', 'read')
			GROUP BY 2, 3, 4, 5`},
	}
	for _, st := range steps {
		if _, err := tx.ExecContext(ctx, st.q); err != nil {
			return fmt.Errorf("rebuild %s: %w", st.what, err)
		}
	}
	if err := rebuildSequences(ctx, tx); err != nil {
		return err
	}
	if err := rebuildLabels(ctx, tx); err != nil {
		return err
	}
	// Daily rows are the hourly ones summed, weekly rows the daily ones.
	daily := []string{
		`INSERT INTO analytics_number_hours (t, phone_number_id, inbound, outbound, pending, sent, delivered, read, failed, replies)
		SELECT t, phone_number_id, sum(inbound), sum(outbound), sum(pending), sum(sent), sum(delivered), sum(read), sum(failed), sum(replies)
		FROM analytics_messages WHERE grain = 1 GROUP BY 1, 2`,
		`INSERT INTO analytics_messages (grain, t, phone_number_id, member_id, template_name, template_language,
			inbound, outbound, pending, sent, delivered, read, failed, replies, clicks)
		SELECT 24, t / 24, phone_number_id, member_id, template_name, template_language, sum(inbound), sum(outbound),
			sum(pending), sum(sent), sum(delivered), sum(read), sum(failed), sum(replies), sum(clicks)
		FROM analytics_messages WHERE grain = 1 GROUP BY 2, 3, 4, 5, 6`,
		`INSERT INTO analytics_failures (grain, t, phone_number_id, member_id, template_name, error_code, n)
		SELECT 24, t / 24, phone_number_id, member_id, template_name, error_code, sum(n)
		FROM analytics_failures WHERE grain = 1 GROUP BY 2, 3, 4, 5, 6`,
		`INSERT INTO analytics_conversations (grain, t, phone_number_id, member_id, opened, closed)
		SELECT 24, t / 24, phone_number_id, member_id, sum(opened), sum(closed)
		FROM analytics_conversations WHERE grain = 1 GROUP BY 2, 3, 4`,
		`INSERT INTO analytics_durations (grain, t, phone_number_id, member_id, kind, bucket, n)
		SELECT 24, t / 24, phone_number_id, member_id, kind, bucket, sum(n)
		FROM analytics_durations WHERE grain = 1 GROUP BY 2, 3, 4, 5, 6`,
		`INSERT INTO analytics_billable (grain, t, phone_number_id, category, prefix, n)
		SELECT 24, t / 24, phone_number_id, category, prefix, sum(n)
		FROM analytics_billable WHERE grain = 1 GROUP BY 2, 3, 4, 5`,
		`INSERT INTO analytics_label_conversations (label_id, grain, t, phone_number_id, member_id, opened, closed)
		SELECT label_id, 24, t / 24, phone_number_id, member_id, sum(opened), sum(closed)
		FROM analytics_label_conversations WHERE grain = 1 GROUP BY 1, 3, 4, 5`,
		`INSERT INTO analytics_label_durations (label_id, grain, t, kind, phone_number_id, member_id, bucket, n)
		SELECT label_id, 24, t / 24, kind, phone_number_id, member_id, bucket, sum(n)
		FROM analytics_label_durations WHERE grain = 1 GROUP BY 1, 3, 4, 5, 6, 7`,
	}
	weekly := []string{
		`INSERT INTO analytics_messages (grain, t, phone_number_id, member_id, template_name, template_language,
			inbound, outbound, pending, sent, delivered, read, failed, replies, clicks)
		SELECT 168, t / 7, phone_number_id, member_id, template_name, template_language, sum(inbound), sum(outbound),
			sum(pending), sum(sent), sum(delivered), sum(read), sum(failed), sum(replies), sum(clicks)
		FROM analytics_messages WHERE grain = 24 GROUP BY 2, 3, 4, 5, 6`,
		`INSERT INTO analytics_failures (grain, t, phone_number_id, member_id, template_name, error_code, n)
		SELECT 168, t / 7, phone_number_id, member_id, template_name, error_code, sum(n)
		FROM analytics_failures WHERE grain = 24 GROUP BY 2, 3, 4, 5, 6`,
		`INSERT INTO analytics_conversations (grain, t, phone_number_id, member_id, opened, closed)
		SELECT 168, t / 7, phone_number_id, member_id, sum(opened), sum(closed)
		FROM analytics_conversations WHERE grain = 24 GROUP BY 2, 3, 4`,
		`INSERT INTO analytics_durations (grain, t, phone_number_id, member_id, kind, bucket, n)
		SELECT 168, t / 7, phone_number_id, member_id, kind, bucket, sum(n)
		FROM analytics_durations WHERE grain = 24 GROUP BY 2, 3, 4, 5, 6`,
		`INSERT INTO analytics_billable (grain, t, phone_number_id, category, prefix, n)
		SELECT 168, t / 7, phone_number_id, category, prefix, sum(n)
		FROM analytics_billable WHERE grain = 24 GROUP BY 2, 3, 4, 5`,
		`INSERT INTO analytics_label_conversations (label_id, grain, t, phone_number_id, member_id, opened, closed)
		SELECT label_id, 168, t / 7, phone_number_id, member_id, sum(opened), sum(closed)
		FROM analytics_label_conversations WHERE grain = 24 GROUP BY 1, 3, 4, 5`,
		`INSERT INTO analytics_label_durations (label_id, grain, t, kind, phone_number_id, member_id, bucket, n)
		SELECT label_id, 168, t / 7, kind, phone_number_id, member_id, bucket, sum(n)
		FROM analytics_label_durations WHERE grain = 24 GROUP BY 1, 3, 4, 5, 6, 7`,
	}
	for _, q := range append(daily, weekly...) {
		if _, err := tx.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("rebuild daily and weekly rows: %w", err)
		}
	}
	if _, err := tx.ExecContext(ctx, `UPDATE analytics_rollup_state SET messages_counted_to = (SELECT coalesce(max(id), 0) FROM messages),
		rebuild_needed = 0 WHERE id = 1`); err != nil {
		return fmt.Errorf("rollup mark: %w", err)
	}
	return nil
}

type replyKey struct {
	t, number, member  int64
	template, language string
}

type responseKey struct {
	t, number, member int64
	bucket            int
}

// rebuildSequences walks every conversation's messages in order (the index on
// (conversation_id, created_at, id) serves it without sorting).
func rebuildSequences(ctx context.Context, tx *sql.Tx) error {
	rows, err := tx.QueryContext(ctx, `SELECT m.conversation_id, c.phone_number_id, m.id, m.direction = 'out',
			coalesce(m.sent_by, 0), m.sent_by IS NOT NULL, m.template_name, m.template_language, m.created_at
		FROM messages m INDEXED BY messages_conversation_idx JOIN conversations c ON c.id = m.conversation_id
		ORDER BY m.conversation_id, m.created_at, m.id`)
	if err != nil {
		return fmt.Errorf("read messages in order: %w", err)
	}
	defer rows.Close()
	replies := map[replyKey]int64{}
	responses := map[responseKey]int64{}
	perConv := map[respKey]int64{}
	w := walker{waiting: -1,
		reply: func(hour, number, member int64, template, language string) {
			replies[replyKey{hour, number, member, template, language}]++
		},
		respond: func(conv, hour, number, member int64, bucket int) {
			responses[responseKey{hour, number, member, bucket}]++
			perConv[respKey{conv, hour, number, member, bucket}]++
		}}
	conv := int64(-1)
	for rows.Next() {
		var (
			cid, number int64
			r           seqRow
		)
		if err := rows.Scan(&cid, &number, &r.id, &r.out, &r.by, &r.byMember, &r.template, &r.language, &r.at); err != nil {
			return fmt.Errorf("scan message: %w", err)
		}
		if cid != conv {
			conv = cid
			w.conv = cid
			w.number, w.waiting, w.hasPrev = number, -1, false
		}
		w.step(r)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read messages in order: %w", err)
	}
	rows.Close()
	insReply, err := tx.PrepareContext(ctx, `INSERT INTO analytics_messages (grain, t, phone_number_id, member_id, template_name,
		template_language, replies) VALUES (1, ?, ?, ?, ?, ?, ?) ON CONFLICT DO UPDATE SET replies = excluded.replies`)
	if err != nil {
		return err
	}
	defer insReply.Close()
	for k, n := range replies {
		if _, err := insReply.ExecContext(ctx, k.t, k.number, k.member, k.template, k.language, n); err != nil {
			return fmt.Errorf("store replies: %w", err)
		}
	}
	insResp, err := tx.PrepareContext(ctx, `INSERT INTO analytics_durations (grain, t, phone_number_id, member_id, kind, bucket, n)
		VALUES (1, ?, ?, ?, 'first_response', ?, ?)`)
	if err != nil {
		return err
	}
	defer insResp.Close()
	for k, n := range responses {
		if _, err := insResp.ExecContext(ctx, k.t, k.number, k.member, k.bucket, n); err != nil {
			return fmt.Errorf("store first responses: %w", err)
		}
	}
	insConv, err := tx.PrepareContext(ctx, `INSERT INTO analytics_first_responses (conversation_id, t, phone_number_id, member_id, bucket, n)
		VALUES (?, ?, ?, ?, ?, ?)`)
	if err != nil {
		return err
	}
	defer insConv.Close()
	for k, n := range perConv {
		if _, err := insConv.ExecContext(ctx, k.conv, k.hour, k.number, k.member, k.bucket, n); err != nil {
			return fmt.Errorf("store first responses by conversation: %w", err)
		}
	}
	return nil
}

// rebuildLabels computes the label rollups' hourly rows (migrations/0026) from the conversations
// that carry each label now; it runs once the first responses are stored.
func rebuildLabels(ctx context.Context, tx *sql.Tx) error {
	steps := []struct{ what, q string }{
		{"opened", `INSERT INTO analytics_label_conversations (label_id, grain, t, phone_number_id, member_id, opened)
			SELECT cl.label_id, 1, c.created_at / 3600000, c.phone_number_id, 0, count(*)
			FROM conversation_labels cl JOIN conversations c ON c.id = cl.conversation_id GROUP BY 1, 3, 4`},
		{"closed", `INSERT INTO analytics_label_conversations (label_id, grain, t, phone_number_id, member_id, closed)
			SELECT cl.label_id, 1, c.closed_at / 3600000, c.phone_number_id, coalesce(c.assignee_id, 0), count(*)
			FROM conversation_labels cl JOIN conversations c ON c.id = cl.conversation_id
			WHERE c.status = 'closed' AND c.closed_at IS NOT NULL GROUP BY 1, 3, 4, 5
			ON CONFLICT DO UPDATE SET closed = excluded.closed`},
		{"resolution", `INSERT INTO analytics_label_durations (label_id, grain, t, kind, phone_number_id, member_id, bucket, n)
			SELECT cl.label_id, 1, c.closed_at / 3600000, 'resolution', c.phone_number_id, coalesce(c.assignee_id, 0),
				` + BucketSQL("(c.closed_at - c.created_at) / 1000") + `, count(*)
			FROM conversation_labels cl JOIN conversations c ON c.id = cl.conversation_id
			WHERE c.status = 'closed' AND c.closed_at IS NOT NULL GROUP BY 1, 3, 5, 6, 7`},
		{"first responses", `INSERT INTO analytics_label_durations (label_id, grain, t, kind, phone_number_id, member_id, bucket, n)
			SELECT cl.label_id, 1, f.t, 'first_response', f.phone_number_id, f.member_id, f.bucket, sum(f.n)
			FROM conversation_labels cl JOIN analytics_first_responses f ON f.conversation_id = cl.conversation_id
			WHERE true GROUP BY 1, 3, 5, 6, 7`},
	}
	for _, st := range steps {
		if _, err := tx.ExecContext(ctx, st.q); err != nil {
			return fmt.Errorf("rebuild label %s: %w", st.what, err)
		}
	}
	return nil
}
