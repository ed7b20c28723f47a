package automation

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/switchboard/switchboard/internal/audit"
	"github.com/switchboard/switchboard/internal/db"
	"github.com/switchboard/switchboard/internal/inbox"
	"github.com/switchboard/switchboard/internal/whatsapp"
)

// Job kinds.
const (
	KindAway        = "away"
	KindKeyword     = "keyword"
	KindMenu        = "menu"
	KindMenuReply   = "menu_reply"
	KindRating      = "rating"
	KindRatingThank = "rating_thanks"
)

// pollEvery is how often the worker looks without being woken: for closings (made by members,
// not webhooks) and for anything a wake-up missed.
const pollEvery = 2 * time.Second

// commentWindow is how long after a rating the customer's next text counts as its comment.
const commentWindow = time.Hour

// Wake tells the worker that webhooks committed; it never blocks (the Ingester's Committed hook).
func (s *Service) Wake() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// Run works until ctx ends: first it settles jobs a crash left mid-send, then it processes new
// messages, closings and jobs whenever woken, and every pollEvery.
func (s *Service) Run(ctx context.Context) {
	if err := s.Recover(ctx); err != nil {
		s.logger.ErrorContext(ctx, "automation: recover interrupted jobs", "error", err)
	}
	t := time.NewTicker(pollEvery)
	defer t.Stop()
	for {
		if err := s.RunOnce(ctx); err != nil && ctx.Err() == nil {
			s.logger.ErrorContext(ctx, "automation: run", "error", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-s.wake:
		case <-t.C:
		}
	}
}

// Recover settles jobs found "sending" at start: the process ended between claiming a job and
// recording Meta's answer. A job whose message got a wamid was sent; any other is marked
// interrupted and not sent again, because Meta may have delivered it: a customer must never get
// the same automated message twice.
func (s *Service) Recover(ctx context.Context) error {
	return s.db.Tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE automation_jobs SET state = CASE WHEN EXISTS (SELECT 1 FROM messages m
			WHERE m.id = automation_jobs.message_id AND m.wamid IS NOT NULL) THEN 'sent' ELSE 'interrupted' END,
			reason = CASE WHEN EXISTS (SELECT 1 FROM messages m WHERE m.id = automation_jobs.message_id AND m.wamid IS NOT NULL)
			THEN reason ELSE 'Switchboard stopped while sending; not sent again' END, updated_at = ?
			WHERE state = 'sending'`, s.clock.Now().UnixMilli())
		return err
	})
}

// RunOnce processes what is waiting: new inbound messages, new closings, then pending jobs.
func (s *Service) RunOnce(ctx context.Context) error {
	s.runMu.Lock()
	defer s.runMu.Unlock()
	for {
		n, err := s.planMessages(ctx)
		if err != nil {
			return err
		}
		if n == 0 {
			break
		}
	}
	if err := s.planClosings(ctx); err != nil {
		return err
	}
	return s.runJobs(ctx)
}

// inboundRow is a new customer message.
type inboundRow struct {
	ID, ConversationID int64
	Type, Text, Raw    string
}

// planMessages decides on up to 100 messages after the cursor, in one transaction with the
// cursor's move.
func (s *Service) planMessages(ctx context.Context) (int, error) {
	var cursor int64
	if err := s.db.R.QueryRowContext(ctx, `SELECT message_cursor FROM automation_state WHERE id = 1`).Scan(&cursor); err != nil {
		return 0, fmt.Errorf("automation cursor: %w", err)
	}
	rows, err := s.db.R.QueryContext(ctx, `SELECT id, conversation_id, type, text, coalesce(raw, '') FROM messages
		WHERE id > ? AND direction = 'in' ORDER BY id LIMIT 100`, cursor)
	if err != nil {
		return 0, fmt.Errorf("new messages: %w", err)
	}
	var list []inboundRow
	for rows.Next() {
		var r inboundRow
		if err := rows.Scan(&r.ID, &r.ConversationID, &r.Type, &r.Text, &r.Raw); err != nil {
			rows.Close()
			return 0, err
		}
		list = append(list, r)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, err
	}
	if len(list) == 0 {
		return 0, nil
	}
	// Nothing configured (the default): move the cursor without deciding message by message, so
	// that a workspace without automation pays one small write per batch and no more.
	var configured bool
	if err := s.db.R.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM automation_numbers WHERE away_enabled = 1 OR auto_assign = 1)
		OR EXISTS (SELECT 1 FROM automation_rules WHERE enabled = 1) OR EXISTS (SELECT 1 FROM automation_menus WHERE enabled = 1)
		OR EXISTS (SELECT 1 FROM conversation_ratings WHERE score IS NULL OR comment = '')`).Scan(&configured); err != nil {
		return 0, fmt.Errorf("automation configured: %w", err)
	}
	var touched []int64
	s.stmts.PrepareMissed(ctx) // on the pool, so outside the transaction
	err = s.db.Tx(ctx, func(sqlTx *sql.Tx) error {
		tx := s.stmts.In(sqlTx)
		touched = touched[:0]
		settings := &planSettings{}
		// Read again under the write lock: what another run planned meanwhile is not planned twice.
		var now int64
		if err := tx.QueryRowContext(ctx, `SELECT message_cursor FROM automation_state WHERE id = 1`).Scan(&now); err != nil {
			return err
		}
		for _, m := range list {
			if m.ID <= now || !configured {
				continue
			}
			// One message's failure must not hold up every later one: it is logged and passed.
			if _, err := tx.ExecContext(ctx, `SAVEPOINT automation_message`); err != nil {
				return err
			}
			changed, err := s.plan(ctx, tx, m, settings)
			if err != nil {
				s.logger.ErrorContext(ctx, "automation: message not processed", "message", m.ID, "error", err)
				if _, err := tx.ExecContext(ctx, `ROLLBACK TO automation_message`); err != nil {
					return err
				}
			} else if changed {
				touched = append(touched, m.ConversationID)
			}
			if _, err := tx.ExecContext(ctx, `RELEASE automation_message`); err != nil {
				return err
			}
		}
		_, err := tx.ExecContext(ctx, `UPDATE automation_state SET message_cursor = ? WHERE id = 1 AND message_cursor < ?`,
			list[len(list)-1].ID, list[len(list)-1].ID)
		return err
	})
	if err != nil {
		return 0, err
	}
	s.inbox.Publish(touched...)
	return len(list), nil
}

// planSettings reads each number's settings, its menu and the rules once per planning
// transaction: they cannot change while it holds the writer, and reading them again for each
// of a hundred messages held webhook ingest up.
type planSettings struct {
	numbers map[int64]NumberSettings
	// businessHours are the numbers' hours with their zone loaded: loading a zone parses the
	// zone database, once per number rather than once per message.
	businessHours map[int64]BusinessHours
	menus         map[int64]Menu
	rules         []Rule
	loaded        bool
}

func (p *planSettings) number(ctx context.Context, q db.Querier, pn int64) (NumberSettings, error) {
	if ns, ok := p.numbers[pn]; ok {
		return ns, nil
	}
	ns, err := numberSettings(ctx, q, pn)
	if err != nil {
		return ns, err
	}
	if p.numbers == nil {
		p.numbers = map[int64]NumberSettings{}
	}
	p.numbers[pn] = ns
	return ns, nil
}

func (p *planSettings) hours(pn int64, ns NumberSettings) BusinessHours {
	if h, ok := p.businessHours[pn]; ok {
		return h
	}
	if p.businessHours == nil {
		p.businessHours = map[int64]BusinessHours{}
	}
	h := ns.Hours()
	p.businessHours[pn] = h
	return h
}

func (p *planSettings) menu(ctx context.Context, q db.Querier, pn int64) (Menu, error) {
	if m, ok := p.menus[pn]; ok {
		return m, nil
	}
	m, err := menu(ctx, q, pn)
	if err != nil {
		return m, err
	}
	if p.menus == nil {
		p.menus = map[int64]Menu{}
	}
	p.menus[pn] = m
	return m, nil
}

func (p *planSettings) firstRule(ctx context.Context, q db.Querier, pn int64, text string, t time.Time, zone *time.Location) (Rule, bool, error) {
	if !p.loaded {
		list, err := rules(ctx, q, true)
		if err != nil {
			return Rule{}, false, err
		}
		p.rules, p.loaded = list, true
	}
	r, ok := matchRule(p.rules, pn, text, t, zone)
	return r, ok, nil
}

// convState is automation's memory of a conversation.
type convState struct {
	AwaySent bool
	MenuAt   time.Time
	TeamID   int64
}

func loadConvState(ctx context.Context, q db.Querier, id int64) (convState, error) {
	var (
		st         convState
		away, menu sql.NullInt64
		team       sql.NullInt64
	)
	err := q.QueryRowContext(ctx, `SELECT away_sent_at, menu_sent_at, team_id FROM automation_conversations WHERE conversation_id = ?`, id).
		Scan(&away, &menu, &team)
	if errors.Is(err, sql.ErrNoRows) {
		return st, nil
	}
	if err != nil {
		return st, fmt.Errorf("automation state of conversation: %w", err)
	}
	st.AwaySent, st.TeamID = away.Valid, team.Int64
	if menu.Valid {
		st.MenuAt = time.UnixMilli(menu.Int64).UTC()
	}
	return st, nil
}

// mark sets one column of the conversation's automation row.
func mark(ctx context.Context, q db.Querier, convID int64, column string, value any) error {
	_, err := q.ExecContext(ctx, `INSERT INTO automation_conversations (conversation_id, `+column+`) VALUES (?, ?)
		ON CONFLICT (conversation_id) DO UPDATE SET `+column+` = excluded.`+column, convID, value)
	return err
}

// payload is what a job sends.
type payload struct {
	Text        string                       `json:"text,omitempty"`
	CannedID    int64                        `json:"canned_id,omitempty"`
	Interactive *whatsapp.InteractiveMessage `json:"interactive,omitempty"`
}

// enqueue writes a job; a second job with the same dedupe key is a no-op.
func (s *Service) enqueue(ctx context.Context, q db.Querier, convID int64, kind, dedupe string, p payload) error {
	b, err := json.Marshal(p)
	if err != nil {
		return err
	}
	now := s.clock.Now().UnixMilli()
	_, err = q.ExecContext(ctx, `INSERT INTO automation_jobs (conversation_id, kind, dedupe, payload, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (dedupe) DO NOTHING`, convID, kind, dedupe, string(b), now, now)
	if err != nil {
		return fmt.Errorf("queue automated message: %w", err)
	}
	return nil
}

// choiceID is the id of the button or list row an interactive reply chose.
func choiceID(raw string) string {
	if raw == "" {
		return ""
	}
	var m whatsapp.Message
	if err := json.Unmarshal([]byte(raw), &m); err != nil || m.Interactive == nil {
		return ""
	}
	if r := m.Interactive.ButtonReply; r != nil {
		return r.ID
	}
	if r := m.Interactive.ListReply; r != nil {
		return r.ID
	}
	return ""
}

// plan decides what to do about one inbound message, inside tx. It reports whether it changed
// the conversation itself (an assignment, a closing) for the live updates.
func (s *Service) plan(ctx context.Context, tx *db.PreparedTx, m inboundRow, settings *planSettings) (bool, error) {
	conv, err := inbox.AutomationConversation(ctx, tx, m.ConversationID)
	if err != nil {
		return false, err
	}
	ns, err := settings.number(ctx, tx, conv.PhoneNumberID)
	if err != nil {
		return false, err
	}
	now := s.clock.Now()
	choice := choiceID(m.Raw)
	msgKey := "msg:" + strconv.FormatInt(m.ID, 10) + ":"

	// A rating, or the comment after one.
	if strings.HasPrefix(choice, ratingIDPrefix) {
		return s.rated(ctx, tx, conv, choice, msgKey)
	}
	if m.Type == whatsapp.TypeText {
		if done, err := s.commented(ctx, tx, conv, m.Text, now); done || err != nil {
			return done, err
		}
	}
	// A menu choice: answer, label, route.
	if strings.HasPrefix(choice, menuIDPrefix) {
		return s.chose(ctx, tx, conv, ns, choice, msgKey)
	}

	st, err := loadConvState(ctx, tx, conv.ConversationID)
	if err != nil {
		return false, err
	}
	hours := settings.hours(conv.PhoneNumberID, ns)
	answered := false
	if m.Type == whatsapp.TypeText {
		r, ok, err := settings.firstRule(ctx, tx, conv.PhoneNumberID, m.Text, now, hours.zone())
		if err != nil {
			return false, err
		}
		if ok {
			p := payload{}
			if r.ReplyKind == ReplyCanned {
				cr, err := s.inbox.CannedByID(ctx, tx, r.CannedID)
				if err != nil {
					return false, fmt.Errorf("rule %d: canned reply: %w", r.ID, err)
				}
				p.Text, p.CannedID = cr.Body, cr.ID
			} else {
				im := r.Interactive()
				p.Interactive = &im
			}
			if err := s.enqueue(ctx, tx, conv.ConversationID, KindKeyword, msgKey+"keyword", p); err != nil {
				return false, err
			}
			answered = true
		}
	}
	if ns.AwayEnabled && !st.AwaySent && !hours.Open(now) {
		// The marker is written with the job, before anything is sent: once per conversation.
		if err := mark(ctx, tx, conv.ConversationID, "away_sent_at", now.UnixMilli()); err != nil {
			return false, err
		}
		if err := s.enqueue(ctx, tx, conv.ConversationID, KindAway, "conv:"+strconv.FormatInt(conv.ConversationID, 10)+":away",
			payload{Text: ns.AwayMessage}); err != nil {
			return false, err
		}
	}
	mn, err := settings.menu(ctx, tx, conv.PhoneNumberID)
	if err != nil {
		return false, err
	}
	menuOn := mn.Exists && mn.Enabled && len(mn.Options) > 0
	if menuOn && !answered && conv.AssigneeID == 0 && st.TeamID == 0 && (st.MenuAt.IsZero() || now.Sub(st.MenuAt) >= whatsapp.CustomerServiceWindow) {
		if err := mark(ctx, tx, conv.ConversationID, "menu_sent_at", now.UnixMilli()); err != nil {
			return false, err
		}
		im := mn.Interactive()
		if err := s.enqueue(ctx, tx, conv.ConversationID, KindMenu, msgKey+"menu", payload{Interactive: &im}); err != nil {
			return false, err
		}
	}
	// Auto-assignment waits for the menu's choice when there is a menu: the choice says the team.
	if ns.AutoAssign && conv.Status == inbox.StatusOpen && conv.AssigneeID == 0 && (!menuOn || st.TeamID != 0) {
		return s.autoAssign(ctx, tx, conv, ns, st.TeamID)
	}
	return false, nil
}

// chose handles a menu choice: the option's reply (or its next level), its label, its team.
func (s *Service) chose(ctx context.Context, tx *db.PreparedTx, conv inbox.AutomationTarget, ns NumberSettings, choice, msgKey string) (bool, error) {
	id, err := strconv.ParseInt(strings.TrimPrefix(choice, menuIDPrefix), 10, 64)
	if err != nil {
		return false, nil // not ours
	}
	o, pn, err := option(ctx, tx, id)
	if errors.Is(err, ErrNotFound) || pn != conv.PhoneNumberID {
		return false, nil // a menu edited since it was sent
	}
	if err != nil {
		return false, err
	}
	switch {
	case len(o.Children) > 0:
		im := levelMessage(o.Reply, o.Children)
		if err := s.enqueue(ctx, tx, conv.ConversationID, KindMenu, msgKey+"menu", payload{Interactive: &im}); err != nil {
			return false, err
		}
	case o.Reply != "":
		if err := s.enqueue(ctx, tx, conv.ConversationID, KindMenuReply, msgKey+"menu_reply", payload{Text: o.Reply}); err != nil {
			return false, err
		}
	}
	changes := []audit.Change{{Field: "choice", After: o.Title}}
	if o.Label != "" {
		if err := mark(ctx, tx, conv.ConversationID, "label", o.Label); err != nil {
			return false, err
		}
		changes = append(changes, audit.Change{Field: "label", After: o.Label})
		labelled, err := s.inbox.LabelAutomated(ctx, tx.Tx, conv.ConversationID, o.Label)
		if err != nil {
			return false, err
		}
		if !labelled {
			changes = append(changes, audit.Change{Field: "label_note", After: "not applied: the label was deleted, or is on the conversation already"})
		}
	}
	if o.TeamID != 0 {
		if err := mark(ctx, tx, conv.ConversationID, "team_id", o.TeamID); err != nil {
			return false, err
		}
		changes = append(changes, audit.Change{Field: "team", After: o.TeamName})
	}
	if _, err := s.audit.Append(ctx, tx, audit.Event{Actor: inbox.AutomationActor(), Action: "automation.routed",
		Target: audit.Target{Type: "conversation", ID: strconv.FormatInt(conv.ConversationID, 10)}, Outcome: audit.OutcomeSuccess,
		Changes: changes}); err != nil {
		return false, err
	}
	if len(o.Children) == 0 && ns.AutoAssign && conv.Status == inbox.StatusOpen && conv.AssigneeID == 0 {
		return s.autoAssign(ctx, tx, conv, ns, o.TeamID)
	}
	return o.Label != "", nil
}

// runJobs sends pending jobs, oldest first.
func (s *Service) runJobs(ctx context.Context) error {
	for {
		type job struct {
			id, conv int64
			kind     string
			p        payload
		}
		rows, err := s.db.R.QueryContext(ctx, `SELECT id, conversation_id, kind, payload FROM automation_jobs
			WHERE state = 'pending' ORDER BY id LIMIT 50`)
		if err != nil {
			return fmt.Errorf("pending jobs: %w", err)
		}
		var list []job
		type unreadableJob struct {
			job
			why string
		}
		var unreadable []unreadableJob
		for rows.Next() {
			var (
				j   job
				raw string
			)
			if err := rows.Scan(&j.id, &j.conv, &j.kind, &raw); err != nil {
				rows.Close()
				return err
			}
			if err := json.Unmarshal([]byte(raw), &j.p); err != nil {
				unreadable = append(unreadable, unreadableJob{j, "unreadable job: " + err.Error()})
				continue
			}
			list = append(list, j)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		// Settled once the rows are closed: settle waits for the writer, and a reader held
		// meanwhile is one that a write transaction may be waiting for.
		for _, u := range unreadable {
			s.settle(ctx, u.id, u.conv, u.kind, "failed", u.why)
		}
		if len(list) == 0 {
			return nil
		}
		for _, j := range list {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			s.send(ctx, j.id, j.conv, j.kind, j.p)
		}
	}
}

// errOptedOut refuses a send to a contact who opted out.
var errOptedOut = errors.New("the contact opted out")

// errClaimed: another run has the job.
var errClaimed = errors.New("the job is taken")

// send sends one job's message through the inbox, claiming it inside the message's transaction.
func (s *Service) send(ctx context.Context, jobID, convID int64, kind string, p payload) {
	claim := func(ctx context.Context, tx *sql.Tx, t inbox.AutomationTarget, msgID int64) error {
		if s.optOuts != nil {
			out, err := s.optOuts.OptedOut(ctx, tx, t.ContactID)
			if err != nil {
				return err
			}
			if out {
				return errOptedOut
			}
		}
		res, err := tx.ExecContext(ctx, `UPDATE automation_jobs SET state = 'sending', message_id = ?, updated_at = ?
			WHERE id = ? AND state = 'pending'`, msgID, s.clock.Now().UnixMilli(), jobID)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return errClaimed
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO automation_messages (message_id, job_id, kind) VALUES (?, ?, ?)`, msgID, jobID, kind)
		return err
	}
	// Meta's answer settles the job in the transaction that records it: one commit less per
	// automated message, on the writer that webhook ingest shares.
	recorded := func(ctx context.Context, tx *sql.Tx, sendErr error) error {
		state, reason := "sent", ""
		if sendErr != nil {
			state, reason = "failed", fmt.Sprintf("%v: %v", inbox.ErrSendFailed, sendErr)
		}
		return settleIn(ctx, tx, s.clock.Now(), jobID, state, reason)
	}
	_, err := s.inbox.SendAutomated(ctx, convID, inbox.AutomatedMessage{Kind: kind, Text: p.Text, CannedID: p.CannedID,
		Interactive: p.Interactive, Recorded: recorded}, claim)
	switch {
	case err == nil, errors.Is(err, inbox.ErrSendFailed):
		// Settled with Meta's answer.
	case errors.Is(err, errClaimed):
	case errors.Is(err, errOptedOut):
		s.settle(ctx, jobID, convID, kind, "skipped", "The customer opted out: automation sends them nothing.")
	case errors.Is(err, inbox.ErrWindowClosed):
		s.settle(ctx, jobID, convID, kind, "skipped", "The 24-hour window is closed: automation only answers inside it.")
	case errors.Is(err, inbox.ErrNumberDisabled), errors.Is(err, inbox.ErrNumberDisconnected), errors.Is(err, inbox.ErrNotFound):
		s.settle(ctx, jobID, convID, kind, "skipped", err.Error())
	default:
		var fe inbox.FieldErrors
		if errors.As(err, &fe) {
			s.settle(ctx, jobID, convID, kind, "failed", err.Error())
			return
		}
		// A database error: the job stays pending and is tried at the next run.
		s.logger.ErrorContext(ctx, "automation: send", "job", jobID, "error", err)
	}
}

// settleIn records a job's end in tx.
func settleIn(ctx context.Context, tx *sql.Tx, now time.Time, jobID int64, state, reason string) error {
	_, err := tx.ExecContext(ctx, `UPDATE automation_jobs SET state = ?, reason = ?, updated_at = ?
		WHERE id = ? AND state IN ('pending', 'sending')`, state, reason, now.UnixMilli(), jobID)
	return err
}

// settle records a job's end. A job that was not sent is recorded in the activity log with why.
func (s *Service) settle(ctx context.Context, jobID, convID int64, kind, state, reason string) {
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		if err := settleIn(ctx, tx, s.clock.Now(), jobID, state, reason); err != nil {
			return err
		}
		if state != "skipped" {
			return nil
		}
		_, err := s.audit.Append(ctx, tx, audit.Event{Actor: inbox.AutomationActor(), Action: "automation.reply_skipped",
			Target: audit.Target{Type: "conversation", ID: strconv.FormatInt(convID, 10)}, Outcome: audit.OutcomeDenied,
			Changes: []audit.Change{{Field: "kind", After: kind}, {Field: "reason", After: reason}}})
		return err
	})
	if err != nil {
		s.logger.ErrorContext(ctx, "automation: settle job", "job", jobID, "error", err)
	}
}

// truncate cuts s to n runes.
func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n])
}

// SkipHistory moves both cursors to what exists now, so that messages and closings written
// in bulk (an import, the demo's history) get no automated answers. Call it while the worker
// is not running.
func (s *Service) SkipHistory(ctx context.Context) error {
	return s.db.Tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE automation_state SET
			message_cursor = max(message_cursor, coalesce((SELECT max(id) FROM messages), 0)),
			closed_at = coalesce((SELECT max(closed_at) FROM conversations WHERE status = 'closed'), closed_at),
			closed_id = coalesce((SELECT max(id) FROM conversations WHERE status = 'closed'), closed_id) WHERE id = 1`)
		return err
	})
}
