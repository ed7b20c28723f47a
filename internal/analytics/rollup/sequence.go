package rollup

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/switchboard/switchboard/internal/db"
)

// seqRow is a message as the order-dependent figures see it.
type seqRow struct {
	id                 int64
	out, byMember      bool
	by                 int64
	template, language string
	at                 int64
}

// unknownStart marks a customer turn that began before the messages a walker was shown.
const unknownStart = -2

// walker finds the order-dependent figures of one conversation's messages, in order: a turn of
// the customer starts with their first message after the last outgoing one and is answered by
// the next member message (a first response, counted at the reply's hour for the member); a
// template is answered by the customer's next message within a day (a reply, counted at the
// template's hour for its sender).
type walker struct {
	conv    int64
	number  int64
	waiting int64 // start of the customer's open turn, -1 for none, unknownStart
	hasPrev bool
	prev    seqRow
	reply   func(hour, number, member int64, template, language string)
	respond func(conv, hour, number, member int64, bucket int)
}

func (w *walker) step(r seqRow) {
	if r.out {
		if r.byMember && w.waiting >= 0 {
			w.respond(w.conv, r.at/hourMs, w.number, r.by, BucketOf((r.at-w.waiting)/1000))
		}
		w.waiting = -1
	} else {
		if w.waiting == -1 {
			w.waiting = r.at
		}
		if w.hasPrev && w.prev.out && w.prev.template != "" && r.at-w.prev.at < 86_400_000 {
			w.reply(w.prev.at/hourMs, w.number, w.prev.by, w.prev.template, w.prev.language)
		}
	}
	w.hasPrev, w.prev = true, r
}

// sequence records how the new messages of one conversation change its replies and first
// responses. New messages may land anywhere in the order (Meta's timestamps are the customer's
// clock), so it reads the conversation from its end back to just before the earliest new
// message (further, to the last outgoing one, when a new message is outgoing: its turn's start
// is needed) and walks that stretch twice, with and without the new messages; the difference
// is the change. An append, the usual case, reads the new messages and one more.
func (d *Delta) sequence(ctx context.Context, q db.Querier, conv, number int64, isNew map[int64]bool, newOut bool) error {
	rows, err := q.QueryContext(ctx, `SELECT id, direction = 'out', sent_by IS NOT NULL, coalesce(sent_by, 0), template_name,
			template_language, created_at
		FROM messages INDEXED BY messages_conversation_idx WHERE conversation_id = ? ORDER BY created_at DESC, id DESC`, conv)
	if err != nil {
		return fmt.Errorf("rollup: read conversation: %w", err)
	}
	var back []seqRow
	remaining := len(isNew)
	const (
		fromBeginning = iota
		afterOut      // back's last row is an old outgoing message
		insideTurn    // back's last row is an old incoming message; the turn's start is unknown
	)
	start := fromBeginning
	for rows.Next() {
		var r seqRow
		if err := rows.Scan(&r.id, &r.out, &r.byMember, &r.by, &r.template, &r.language, &r.at); err != nil {
			rows.Close()
			return fmt.Errorf("rollup: read conversation: %w", err)
		}
		back = append(back, r)
		if isNew[r.id] {
			remaining--
			continue
		}
		if remaining > 0 {
			continue
		}
		// An old message before every new one.
		if r.out {
			start = afterOut
			break
		}
		if !newOut {
			start = insideTurn
			break
		}
	}
	if err := rows.Close(); err != nil {
		return err
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("rollup: read conversation: %w", err)
	}
	for i, j := 0, len(back)-1; i < j; i, j = i+1, j-1 {
		back[i], back[j] = back[j], back[i]
	}
	walk := func(sign int64, withNew bool) {
		w := walker{conv: conv, number: number, waiting: -1,
			reply: func(hour, number, member int64, template, language string) {
				d.counts(msgKey{hour, number, member, template, language}).Replies += sign
			},
			respond: func(conv, hour, number, member int64, bucket int) {
				d.durs[durKey{hour, number, member, "first_response", bucket}] += sign
				d.resps[respKey{conv, hour, number, member, bucket}] += sign
			}}
		rs := back
		if start != fromBeginning && len(rs) > 0 {
			w.hasPrev, w.prev = true, rs[0]
			if start == insideTurn {
				w.waiting = unknownStart
			}
			rs = rs[1:]
		}
		for _, r := range rs {
			if withNew || !isNew[r.id] {
				w.step(r)
			}
		}
	}
	walk(1, true)
	walk(-1, false)
	return nil
}

// Mark is the highest message id counted in the rollups.
func Mark(ctx context.Context, q db.Querier) (int64, error) {
	var mark int64
	if err := q.QueryRowContext(ctx, `SELECT messages_counted_to FROM analytics_rollup_state WHERE id = 1`).Scan(&mark); err != nil {
		return 0, fmt.Errorf("rollup mark: %w", err)
	}
	return mark, nil
}

// CatchUp counts into d the messages written since the mark (their direction, status,
// failure, billable statuses already known, replies and first responses) and moves the mark,
// through q, the caller's write transaction; the caller flushes d in it. It is what makes
// every writer of messages counted: call it once per transaction that inserts messages.
func (d *Delta) CatchUp(ctx context.Context, q db.Querier) error {
	mark, err := Mark(ctx, q)
	if err != nil {
		return err
	}
	rows, err := q.QueryContext(ctx, `SELECT m.id, m.conversation_id, c.phone_number_id, m.direction = 'out',
			coalesce(m.sent_by, 0), m.template_name, m.template_language, m.status, coalesce(m.error_code, 0), m.created_at,
			m.wamid IS NOT NULL, CASE WHEN m.direction = 'in' AND m.type IN ('button', 'interactive') THEN m.reply_to ELSE '' END
		FROM messages m JOIN conversations c ON c.id = m.conversation_id WHERE m.id > ? ORDER BY m.id`, mark)
	if err != nil {
		return fmt.Errorf("rollup: new messages: %w", err)
	}
	type conv struct {
		number int64
		ids    map[int64]bool
		out    bool
	}
	convs := map[int64]*conv{}
	var order []int64
	top, withWamid := mark, false
	var pressed []string // context wamids of new button replies
	for rows.Next() {
		var (
			id, cid int64
			m       Message
			wamid   bool
			button  string
		)
		if err := rows.Scan(&id, &cid, &m.Number, &m.Out, &m.Member, &m.Template, &m.Language, &m.Status, &m.ErrorCode, &m.At,
			&wamid, &button); err != nil {
			rows.Close()
			return fmt.Errorf("rollup: new messages: %w", err)
		}
		d.add(m, 1)
		if button != "" {
			pressed = append(pressed, button)
		}
		c := convs[cid]
		if c == nil {
			c = &conv{number: m.Number, ids: map[int64]bool{}}
			convs[cid] = c
			order = append(order, cid)
		}
		c.ids[id] = true
		c.out = c.out || m.Out
		top = max(top, id)
		withWamid = withWamid || wamid
	}
	if err := rows.Close(); err != nil {
		return err
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("rollup: new messages: %w", err)
	}
	if top == mark {
		return nil
	}
	if withWamid {
		if err := d.billableOf(ctx, q, `m.id > ?`, mark); err != nil {
			return err
		}
	}
	for _, cid := range order {
		c := convs[cid]
		if err := d.sequence(ctx, q, cid, c.number, c.ids, c.out); err != nil {
			return err
		}
	}
	for _, wamid := range pressed {
		if err := d.click(ctx, q, wamid); err != nil {
			return err
		}
	}
	if _, err := q.ExecContext(ctx, `UPDATE analytics_rollup_state SET messages_counted_to = ? WHERE id = 1`, top); err != nil {
		return fmt.Errorf("rollup mark: %w", err)
	}
	return nil
}

// ClickSQL is the condition on an inbound message b and the message t it answers (by its
// context wamid) that makes b a template button click: a quick-reply button arrives as type
// "button", and an interactive button reply is counted too when its context is a template.
const ClickSQL = `b.direction = 'in' AND b.type IN ('button', 'interactive') AND b.reply_to <> ''
	AND t.wamid = b.reply_to AND t.direction = 'out' AND t.template_name <> ''`

// click counts a button press answering the message whose wamid is given, if that is a
// template message: at the template's hour, for its sender, template and language. A press
// whose template message is not known (yet) is not counted; Rebuild counts it once it is.
func (d *Delta) click(ctx context.Context, q db.Querier, wamid string) error {
	var m Message
	err := q.QueryRowContext(ctx, `SELECT t.created_at, c.phone_number_id, coalesce(t.sent_by, 0), t.template_name, t.template_language
		FROM messages t JOIN conversations c ON c.id = t.conversation_id
		WHERE t.wamid = ? AND t.direction = 'out' AND t.template_name <> ''`, wamid).Scan(&m.At, &m.Number, &m.Member, &m.Template, &m.Language)
	if err == sql.ErrNoRows {
		return nil
	}
	if err != nil {
		return fmt.Errorf("rollup: template of a button reply: %w", err)
	}
	d.counts(msgKey{m.At / hourMs, m.Number, m.Member, m.Template, m.Language}).Clicks++
	return nil
}

// BillableOf counts the billable statuses already stored for message id, which has just got
// its wamid (a status can overtake the answer to the send call).
func (d *Delta) BillableOf(ctx context.Context, q db.Querier, id int64) error {
	return d.billableOf(ctx, q, `m.id = ?`, id)
}

func (d *Delta) billableOf(ctx context.Context, q db.Querier, cond string, arg int64) error {
	rows, err := q.QueryContext(ctx, `SELECT s.at, c.phone_number_id, s.pricing_category, coalesce(substr(ct.wa_id, 1, 3), '')
		FROM messages m JOIN message_statuses s ON s.wamid = m.wamid
		JOIN conversations c ON c.id = m.conversation_id JOIN contacts ct ON ct.id = c.contact_id
		WHERE `+cond+` AND s.billable = 1 AND s.status IN ('delivered', 'read')`, arg)
	if err != nil {
		return fmt.Errorf("rollup: billable statuses: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			at, number       int64
			category, prefix string
		)
		if err := rows.Scan(&at, &number, &category, &prefix); err != nil {
			return fmt.Errorf("rollup: billable statuses: %w", err)
		}
		d.Billable(at, number, category, prefix)
	}
	return rows.Err()
}

// MessageFacts loads what the rollups know of message id, and whether it is counted already
// (at or below the mark).
func MessageFacts(ctx context.Context, q db.Querier, id, mark int64) (Message, bool, error) {
	var m Message
	err := q.QueryRowContext(ctx, `SELECT m.direction = 'out', coalesce(m.sent_by, 0), m.template_name, m.template_language, m.status,
			coalesce(m.error_code, 0), m.created_at, c.phone_number_id
		FROM messages m JOIN conversations c ON c.id = m.conversation_id WHERE m.id = ?`, id).Scan(
		&m.Out, &m.Member, &m.Template, &m.Language, &m.Status, &m.ErrorCode, &m.At, &m.Number)
	if err == sql.ErrNoRows {
		return m, false, nil
	}
	if err != nil {
		return m, false, fmt.Errorf("rollup: message: %w", err)
	}
	return m, id <= mark, nil
}

// BillableStatus counts a billable status (delivered or read) just stored for wamid, at unix ms
// at, if its message is counted already; one not counted yet has it counted by CatchUp.
func (d *Delta) BillableStatus(ctx context.Context, q db.Querier, wamid string, at int64, category string, mark int64) error {
	var (
		id, number int64
		prefix     string
	)
	err := q.QueryRowContext(ctx, `SELECT m.id, c.phone_number_id, coalesce(substr(ct.wa_id, 1, 3), '')
		FROM messages m JOIN conversations c ON c.id = m.conversation_id JOIN contacts ct ON ct.id = c.contact_id
		WHERE m.wamid = ?`, wamid).Scan(&id, &number, &prefix)
	if err == sql.ErrNoRows {
		return nil
	}
	if err != nil {
		return fmt.Errorf("rollup: message of status: %w", err)
	}
	if id <= mark {
		d.Billable(at, number, category, prefix)
	}
	return nil
}
