package inbox

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/switchboard/switchboard/internal/db"
	"github.com/switchboard/switchboard/internal/whatsapp"
)

// ApplyEvents applies the inbox's events of one verified webhook body through q, the caller's
// write transaction (the Ingester's batch). It is idempotent, because Meta delivers webhooks
// more than once and out of order:
//
//   - an inbound message is deduplicated by its wamid (a second delivery changes nothing); a
//     new one creates the contact and conversation if needed, opens a closed conversation, and
//     moves last_inbound_at (the 24-hour window), last_message_at and the unread count;
//   - a status is recorded once per (wamid, status) and moves the message forward only
//     (whatsapp.StatusAdvances); a status for a message not known yet waits in
//     message_statuses and is applied when the message gets that wamid;
//   - messages of types the inbox does not model are kept with their raw JSON and a summary.
//
// Events for a phone number that is not connected (another app on the same WABA) are skipped,
// as are the event kinds other areas own (template status, quality); the raw body stays in
// webhook_events either way. New messages are indexed for search once per Ingester batch (or
// at once when q is not an Ingester's transaction).
func (s *Service) ApplyEvents(ctx context.Context, q db.Querier, events []whatsapp.Event) error {
	now := s.now()
	numbers := map[string]int64{}
	for _, ev := range events {
		var err error
		switch e := ev.(type) {
		case whatsapp.InboundMessage:
			err = s.applyInbound(ctx, q, e, numbers, now)
		case *whatsapp.InboundMessage:
			err = s.applyInbound(ctx, q, *e, numbers, now)
		case whatsapp.StatusUpdate:
			err = s.applyStatus(ctx, q, e, now)
		case *whatsapp.StatusUpdate:
			err = s.applyStatus(ctx, q, *e, now)
		}
		if err != nil {
			return err
		}
	}
	if err := catchUpRollups(ctx, q); err != nil {
		return err
	}
	b := batchOf(ctx, q)
	return atBatchEnd(ctx, q, "inbox.search", func(ctx context.Context, q db.Querier) error {
		if b != nil && b.more && s.searchIndexedWithin(s.searchLag) {
			return nil // the next batch indexes these messages with its own
		}
		return s.IndexSearch(ctx, q)
	})
}

// numberRef maps Meta's phone_number_id to ours, once per body.
func numberRef(ctx context.Context, q db.Querier, cache map[string]int64, metaID string) (int64, error) {
	if id, ok := cache[metaID]; ok {
		return id, nil
	}
	var id int64
	// A number of a disconnected account is not served: its messages are not stored.
	err := queryRowQ(ctx, q, `SELECT p.id FROM phone_numbers p JOIN wabas w ON w.id = p.waba_ref
		WHERE p.phone_number_id = ? AND w.disconnected_at IS NULL`, metaID).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		cache[metaID] = 0
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("find phone number: %w", err)
	}
	cache[metaID] = id
	return id, nil
}

func (s *Service) applyInbound(ctx context.Context, q db.Querier, in whatsapp.InboundMessage, numbers map[string]int64, now time.Time) error {
	if in.MessageID == "" || (in.WaID == "" && in.UserID == "") {
		// Nothing to deduplicate on, or nobody to answer: the body is kept in webhook_events.
		s.logger().WarnContext(ctx, "inbox: inbound message without id or sender skipped", "type", in.Type)
		return nil
	}
	// An edit or a revoke changes the message it names instead of adding one (ingest_meta.go).
	if handled, err := s.applyChange(ctx, q, in, now); handled || err != nil {
		return err
	}
	var one int
	switch err := queryRowQ(ctx, q, `SELECT 1 FROM messages WHERE wamid = ?`, in.MessageID).Scan(&one); {
	case err == nil:
		return nil // a duplicate delivery
	case !errors.Is(err, sql.ErrNoRows):
		return fmt.Errorf("deduplicate message: %w", err)
	}
	pn, err := numberRef(ctx, q, numbers, in.PhoneNumberID)
	if err != nil {
		return err
	}
	if pn == 0 {
		s.logger().WarnContext(ctx, "inbox: message for a phone number that is not connected skipped", "phone_number_id", in.PhoneNumberID)
		return nil
	}
	contactID, err := upsertContact(ctx, q, in.WaID, in.UserID, in.ContactName, in.Username, now)
	if err != nil {
		return err
	}
	// Meta's time is when the customer wrote, which is what the window runs from. A clock
	// running ahead of ours must not keep the window open longer than 24 hours.
	at := now
	if !in.Timestamp.IsZero() && in.Timestamp.Before(now) {
		at = in.Timestamp.UTC()
	}
	ms := millis(at)
	var convID int64
	err = queryRowQ(ctx, q, `SELECT id FROM conversations WHERE contact_id = ? AND phone_number_id = ?`, contactID, pn).Scan(&convID)
	if errors.Is(err, sql.ErrNoRows) {
		res, err := execQ(ctx, q, `INSERT INTO conversations (contact_id, phone_number_id, status, last_message_at, created_at, updated_at)
			VALUES (?, ?, 'open', ?, ?, ?)`, contactID, pn, ms, millis(now), millis(now))
		if err != nil {
			return fmt.Errorf("create conversation: %w", err)
		}
		if convID, err = res.LastInsertId(); err != nil {
			return err
		}
	} else if err != nil {
		return fmt.Errorf("find conversation: %w", err)
	}
	// The message as Meta sent it is kept for what the columns do not hold. A text message is
	// all in them (text, reply_to, and the referral of an ad in detail), and its JSON would
	// double the row: every inbound message's commonest kind, and a page of the table per
	// 15-20 of them more on disk.
	var raw any
	if len(in.Raw) > 0 && in.Type != whatsapp.TypeText {
		raw = string(in.Raw)
	}
	res, err := execQ(ctx, q, `INSERT INTO messages (conversation_id, direction, wamid, type, text, raw, reply_to, status, created_at, detail)
		VALUES (?, 'in', ?, ?, ?, ?, ?, ?, ?, ?)`, convID, in.MessageID, messageType(in.Type), in.Text, raw, in.ReplyTo, MessageReceived, ms, detailOf(in.Message))
	if err != nil {
		return fmt.Errorf("store message: %w", err)
	}
	msgID, err := res.LastInsertId()
	if err != nil {
		return err
	}
	// Media to fetch, a reaction to put on its message, a customer who changed number.
	if err := s.afterInbound(ctx, q, in, convID, contactID, msgID, now); err != nil {
		return err
	}
	if s.inbound != nil && in.Type == whatsapp.TypeText {
		if err := s.inbound.InboundText(ctx, q, contactID, in.Text); err != nil {
			return fmt.Errorf("consent keyword: %w", err)
		}
	}
	// A system notice (the customer changed number) is not the customer writing: it neither
	// opens the window nor counts as unread.
	if in.Type == whatsapp.TypeSystem {
		_, err = execQ(ctx, q, `UPDATE conversations SET last_message_at = max(last_message_at, ?), updated_at = ? WHERE id = ?`,
			ms, millis(now), convID)
	} else {
		_, err = execQ(ctx, q, `UPDATE conversations SET status = 'open', closed_at = NULL,
			last_inbound_at = max(coalesce(last_inbound_at, 0), ?), last_message_at = max(last_message_at, ?),
			unread_count = unread_count + 1, updated_at = ? WHERE id = ?`, ms, ms, millis(now), convID)
	}
	if err != nil {
		return fmt.Errorf("update conversation: %w", err)
	}
	touch(ctx, q, convID)
	return nil
}

// messageType bounds a type that comes from the wire.
func messageType(t string) string {
	if t == "" {
		return "unknown"
	}
	if r := []rune(t); len(r) > 32 {
		return string(r[:32])
	}
	return t
}

// upsertContact finds the customer by wa_id, else by business-scoped user id, and creates
// them when neither is known. A customer first seen by user id who later shows a number (or the
// other way round) keeps one contact. The profile name follows the newest message.
func upsertContact(ctx context.Context, q db.Querier, waID, userID, name, username string, now time.Time) (int64, error) {
	var (
		id                 int64
		curWa, curUser     sql.NullString
		curName, curHandle string
	)
	find := func(col, val string) error {
		return queryRowQ(ctx, q, `SELECT id, wa_id, user_id, profile_name, username FROM contacts WHERE `+col+` = ?`, val).
			Scan(&id, &curWa, &curUser, &curName, &curHandle)
	}
	err := sql.ErrNoRows
	if waID != "" {
		err = find("wa_id", waID)
	}
	if errors.Is(err, sql.ErrNoRows) && userID != "" {
		err = find("user_id", userID)
	}
	if errors.Is(err, sql.ErrNoRows) {
		res, err := execQ(ctx, q, `INSERT INTO contacts (wa_id, user_id, profile_name, username, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?)`, nullString(waID), nullString(userID), name, username, millis(now), millis(now))
		if err != nil {
			return 0, fmt.Errorf("create contact: %w", err)
		}
		return res.LastInsertId()
	}
	if err != nil {
		return 0, fmt.Errorf("find contact: %w", err)
	}
	if waID != "" && !curWa.Valid {
		// Found by user id: the number joins the same contact (no other contact has it, or
		// the lookup by wa_id would have found that one).
		if _, err := execQ(ctx, q, `UPDATE contacts SET wa_id = ?, updated_at = ? WHERE id = ?`, waID, millis(now), id); err != nil {
			return 0, fmt.Errorf("update contact: %w", err)
		}
	}
	if userID != "" && !curUser.Valid {
		// OR IGNORE: should another contact already hold this user id, two records of one
		// person stay apart rather than failing the webhook.
		if _, err := execQ(ctx, q, `UPDATE OR IGNORE contacts SET user_id = ?, updated_at = ? WHERE id = ?`, userID, millis(now), id); err != nil {
			return 0, fmt.Errorf("update contact: %w", err)
		}
	}
	if (name != "" && name != curName) || (username != "" && username != curHandle) {
		if name == "" {
			name = curName
		}
		if username == "" {
			username = curHandle
		}
		if _, err := execQ(ctx, q, `UPDATE contacts SET profile_name = ?, username = ?, updated_at = ? WHERE id = ?`,
			name, username, millis(now), id); err != nil {
			return 0, fmt.Errorf("update contact: %w", err)
		}
	}
	return id, nil
}

func nullString(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// statusRow is one reported status of a message.
type statusRow struct {
	Status  string
	At      int64
	ErrCode sql.NullInt64
	Title   string
	Details string
}

func (s *Service) applyStatus(ctx context.Context, q db.Querier, st whatsapp.StatusUpdate, now time.Time) error {
	if st.MessageID == "" || st.Status == "" {
		return nil
	}
	at := now
	if !st.Timestamp.IsZero() {
		at = st.Timestamp.UTC()
	}
	row := statusRow{Status: messageType(st.Status), At: millis(at)}
	if len(st.Errors) > 0 {
		e := st.Errors[0]
		row.ErrCode = sql.NullInt64{Int64: int64(e.Code), Valid: true}
		row.Title = firstNonEmpty(e.Title, e.Message)
		row.Details = e.Details()
	}
	var category string
	var billable bool
	if st.Pricing != nil {
		category, billable = st.Pricing.Category, st.Pricing.Billable
	}
	res, err := execQ(ctx, q, `INSERT INTO message_statuses (wamid, status, at, error_code, error_title, error_details,
		pricing_category, billable, received_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
		st.MessageID, row.Status, row.At, row.ErrCode, row.Title, row.Details, category, billable, millis(now))
	if err != nil {
		return fmt.Errorf("record status: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return err // n == 0: a duplicate delivery
	}
	if s.statusObserver != nil && st.CallbackData != "" {
		if err := s.statusObserver.StatusWithCallback(ctx, q, st.MessageID, row.Status, st.CallbackData); err != nil {
			return fmt.Errorf("status callback: %w", err)
		}
	}
	if err := countBillable(ctx, q, st.MessageID, row.Status, row.At, category, billable); err != nil {
		return err
	}
	var (
		msgID, convID int64
		cur           string
	)
	err = queryRowQ(ctx, q, `SELECT id, status, conversation_id FROM messages WHERE wamid = ? AND direction = 'out'`, st.MessageID).Scan(&msgID, &cur, &convID)
	if errors.Is(err, sql.ErrNoRows) {
		return nil // parked: applied when the message gets this wamid
	}
	if err != nil {
		return fmt.Errorf("find message of status: %w", err)
	}
	touch(ctx, q, convID)
	return setStatus(ctx, q, msgID, cur, row)
}

// setStatus moves the message to row's status if that is forward.
func setStatus(ctx context.Context, q db.Querier, msgID int64, cur string, row statusRow) error {
	if !whatsapp.StatusAdvances(cur, row.Status) {
		return nil
	}
	code := sql.NullInt64{}
	if row.Status == whatsapp.StatusFailed {
		code = row.ErrCode
	}
	if err := countStatus(ctx, q, msgID, row.Status, code); err != nil {
		return err
	}
	var err error
	if row.Status == whatsapp.StatusFailed {
		_, err = execQ(ctx, q, `UPDATE messages SET status = ?, status_at = ?, error_code = ?, error_title = ?, error_details = ?
			WHERE id = ?`, row.Status, row.At, row.ErrCode, row.Title, row.Details, msgID)
	} else {
		_, err = execQ(ctx, q, `UPDATE messages SET status = ?, status_at = ? WHERE id = ?`, row.Status, row.At, msgID)
	}
	if err != nil {
		return fmt.Errorf("update message status: %w", err)
	}
	return nil
}

// applyParkedStatuses applies the statuses that arrived for wamid before the message had it:
// Meta's status webhooks can overtake the answer to the send call.
func (s *Service) applyParkedStatuses(ctx context.Context, q db.Querier, msgID int64, wamid, cur string) error {
	rows, err := q.QueryContext(ctx, `SELECT status, at, error_code, error_title, error_details FROM message_statuses WHERE wamid = ?`, wamid)
	if err != nil {
		return fmt.Errorf("parked statuses: %w", err)
	}
	var best *statusRow
	for rows.Next() {
		var r statusRow
		if err := rows.Scan(&r.Status, &r.At, &r.ErrCode, &r.Title, &r.Details); err != nil {
			rows.Close()
			return err
		}
		if best == nil || whatsapp.StatusAdvances(best.Status, r.Status) {
			best = &r
		}
	}
	if err := rows.Close(); err != nil {
		return err
	}
	if err := rows.Err(); err != nil {
		return err
	}
	if best == nil {
		return nil
	}
	return setStatus(ctx, q, msgID, cur, *best)
}

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}
