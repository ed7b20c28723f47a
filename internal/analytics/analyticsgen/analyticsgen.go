// Package analyticsgen fills a database with believable WhatsApp history for the analytics
// tests and benchmarks: conversations on every phone number over a number of days, customers
// writing at office-hour peaks, agents answering after minutes or hours, template sends with
// different read rates and quick-reply button presses, failures with Meta's real error codes,
// billable statuses and closings, and labels on some conversations.
// Everything is written with plain INSERTs in time order per conversation and counted in the
// rollups as live traffic is (rollup.Delta.CatchUp at the end of each transaction).
package analyticsgen

import (
	"context"
	"database/sql"
	"fmt"
	"math"
	"math/rand/v2"
	"time"

	"github.com/switchboard/switchboard/internal/analytics/rollup"
	"github.com/switchboard/switchboard/internal/authz"
	"github.com/switchboard/switchboard/internal/db"
)

// Options shape the history.
type Options struct {
	Conversations int       // how many; about ten messages each
	Days          int       // spread over this many days before Now
	Now           time.Time // the newest message is before it
	Seed          uint64
	Agents        int // members to create as agents (default 8)
	// Templates to send; they must exist already. Empty: Templates, created APPROVED.
	Templates []Template
	// Chunk commits every Chunk conversations, so that a live server's writes (webhooks) get
	// the writer in between; 0 writes the whole history in one transaction.
	Chunk int
	// Pause between chunks, leaving the writer free for a while.
	Pause time.Duration
	// Labels to create (if missing) and put on about a third of the conversations; none: no
	// labels.
	Labels []string
}

// Template is a template the generator sends, with how often its messages are read and how
// often a customer who answers does so with one of its quick-reply buttons.
type Template struct {
	Name, Category string
	ReadRate       float64
	Language       string // "" means "en"
	ButtonRate     float64
}

// Templates are created APPROVED in the templates table; spring_sale in two languages.
var Templates = []Template{
	{"order_update", "UTILITY", 0.82, "en", 0.5},
	{"spring_sale", "MARKETING", 0.38, "en", 0.7},
	{"login_code", "AUTHENTICATION", 0.91, "en", 0},
	{"appointment_reminder", "UTILITY", 0.74, "en", 0.6},
	{"spring_sale", "MARKETING", 0.52, "es", 0.7},
}

// buttonTexts are quick-reply buttons a customer presses.
var buttonTexts = []string{"Yes, please", "Track my order", "Stop promotions", "Confirm", "Reschedule"}

// failures are Meta error codes seen on failed statuses, most common first.
var failures = []int{131026, 131026, 131026, 131049, 131049, 131047, 131050, 130429, 131000}

// countries are calling codes of customers (weighted by repetition).
var countries = []string{"49", "49", "49", "44", "44", "1", "1", "34", "91", "55"}

var customerLines = []string{
	"Hi, is my order on its way?", "Do you deliver on Saturdays?", "The parcel arrived damaged, what can I do?",
	"Can I change the delivery address?", "Thanks, that helps!", "What are your opening hours?",
	"I would like to return an item.", "Is the olive tree back in stock?", "My plant has yellow leaves, any advice?",
	"Can I pay by invoice?", "Great, thank you!", "When will the refund arrive?",
}

var agentLines = []string{
	"Thanks for writing! Let me check that for you.", "Your order left our warehouse this morning.",
	"Yes, we deliver Monday to Saturday.", "I am sorry to hear that. Could you send a photo?",
	"Done: the address is updated.", "We are open Monday to Saturday, 9:00 to 18:00.",
	"The refund was issued today and shows in 3–5 days.", "Water it less often and give it more light.",
}

var firstNames = []string{"Amira", "Ben", "Carla", "Dmitri", "Elif", "Farid", "Greta", "Hiro", "Ines", "Jonas", "Keiko", "Luca"}

// Result says what was generated.
type Result struct {
	Numbers  []int64
	Agents   []int64 // member ids
	Labels   []int64 // ids of Options.Labels
	Messages int
}

// Generate writes the history. Phone numbers are the workspace's first two, or two new ones
// (with a WABA) when there are none.
func Generate(ctx context.Context, d *db.DB, o Options) (Result, error) {
	if o.Agents == 0 {
		o.Agents = 8
	}
	if o.Days == 0 {
		o.Days = 90
	}
	rng := rand.New(rand.NewPCG(o.Seed, o.Seed^0x9e3779b97f4a7c15))
	// Labels and button presses draw from their own stream, so the rest of the history is the
	// same with and without them.
	extra := rand.New(rand.NewPCG(o.Seed^0x5bd1e995, o.Seed))
	var res Result
	err := d.Tx(ctx, func(tx *sql.Tx) error {
		var err error
		if res.Numbers, err = ensureNumbers(ctx, tx); err != nil {
			return err
		}
		if res.Agents, err = createAgents(ctx, tx, o.Agents, res.Numbers); err != nil {
			return err
		}
		if res.Labels, err = createLabels(ctx, tx, o.Labels); err != nil {
			return err
		}
		if len(o.Templates) == 0 {
			o.Templates = Templates
			return createTemplates(ctx, tx)
		}
		return nil
	})
	chunk := o.Chunk
	if chunk <= 0 {
		chunk = o.Conversations
	}
	for from := 0; err == nil && from < o.Conversations; from += chunk {
		if from > 0 && o.Pause > 0 {
			select {
			case <-ctx.Done():
				return res, ctx.Err()
			case <-time.After(o.Pause):
			}
		}
		err = d.Tx(ctx, func(tx *sql.Tx) error {
			if err := history(ctx, tx, rng, extra, o, res, from, min(from+chunk, o.Conversations), &res.Messages); err != nil {
				return err
			}
			r := rollup.New()
			if err := r.CatchUp(ctx, tx); err != nil {
				return err
			}
			return r.Flush(ctx, tx)
		})
	}
	return res, err
}

func ensureNumbers(ctx context.Context, tx *sql.Tx) ([]int64, error) {
	ids, err := column(ctx, tx, `SELECT id FROM phone_numbers ORDER BY id LIMIT 2`)
	if err != nil || len(ids) == 2 {
		return ids, err
	}
	res, err := tx.ExecContext(ctx, `INSERT INTO wabas (waba_id, name, created_at, updated_at) VALUES ('9000', 'Generated WABA', 0, 0)`)
	if err != nil {
		return nil, fmt.Errorf("waba: %w", err)
	}
	waba, _ := res.LastInsertId()
	for i, name := range []string{"Sales", "Support"} {
		if _, err := tx.ExecContext(ctx, `INSERT INTO phone_numbers (waba_ref, phone_number_id, display_phone_number, verified_name, label, quality_rating, messaging_limit, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, 'GREEN', 'TIER_10K', 0, 0)`, waba, fmt.Sprintf("90000000000%d", i), fmt.Sprintf("+1 555-010-%04d", i), "Generated "+name, name); err != nil {
			return nil, fmt.Errorf("phone number: %w", err)
		}
	}
	return column(ctx, tx, `SELECT id FROM phone_numbers ORDER BY id LIMIT 2`)
}

func column(ctx context.Context, tx *sql.Tx, q string, args ...any) ([]int64, error) {
	rows, err := tx.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		out = append(out, id)
	}
	return out, rows.Err()
}

// createAgents adds agents who cannot sign in (no usable password), half on each number.
func createAgents(ctx context.Context, tx *sql.Tx, n int, numbers []int64) ([]int64, error) {
	var role int64
	if err := tx.QueryRowContext(ctx, `SELECT id FROM roles WHERE key = ?`, authz.RoleAgent).Scan(&role); err != nil {
		return nil, fmt.Errorf("agent role: %w", err)
	}
	var ids []int64
	for i := range n {
		res, err := tx.ExecContext(ctx, `INSERT INTO members (email, name, password_hash, role_id, created_at, updated_at, all_numbers)
			VALUES (?, ?, 'x', ?, 0, 0, 0)`, fmt.Sprintf("agent%d.%d@example.com", i, time.Now().UnixNano()%100000), fmt.Sprintf("%s %c.", firstNames[i%len(firstNames)], 'A'+rune(i)), role)
		if err != nil {
			return nil, fmt.Errorf("agent: %w", err)
		}
		id, _ := res.LastInsertId()
		if _, err := tx.ExecContext(ctx, `INSERT INTO member_numbers (member_id, phone_number_id) VALUES (?, ?)`, id, numbers[i%len(numbers)]); err != nil {
			return nil, fmt.Errorf("agent number: %w", err)
		}
		ids = append(ids, id)
	}
	return ids, nil
}

func createLabels(ctx context.Context, tx *sql.Tx, names []string) ([]int64, error) {
	var ids []int64
	for _, name := range names {
		if _, err := tx.ExecContext(ctx, `INSERT INTO labels (name, color, created_at, updated_at) VALUES (?, 'blue', 0, 0) ON CONFLICT DO NOTHING`, name); err != nil {
			return nil, fmt.Errorf("label: %w", err)
		}
		var id int64
		if err := tx.QueryRowContext(ctx, `SELECT id FROM labels WHERE name = ? COLLATE NOCASE`, name).Scan(&id); err != nil {
			return nil, fmt.Errorf("label: %w", err)
		}
		ids = append(ids, id)
	}
	return ids, nil
}

func createTemplates(ctx context.Context, tx *sql.Tx) error {
	var waba string
	if err := tx.QueryRowContext(ctx, `SELECT waba_id FROM wabas ORDER BY id LIMIT 1`).Scan(&waba); err != nil {
		return fmt.Errorf("waba: %w", err)
	}
	quality := []string{"GREEN", "YELLOW", "GREEN", "GREEN", "GREEN"}
	for i, t := range Templates {
		if _, err := tx.ExecContext(ctx, `INSERT INTO templates (waba_id, name, language, meta_template_id, meta_status, meta_category, quality_score, created_at, updated_at)
			VALUES (?, ?, ?, ?, 'APPROVED', ?, ?, 0, 0) ON CONFLICT DO NOTHING`, waba, t.Name, t.lang(), fmt.Sprintf("77%d", i), t.Category, quality[i]); err != nil {
			return fmt.Errorf("template: %w", err)
		}
	}
	return nil
}

func (t Template) lang() string {
	if t.Language == "" {
		return "en"
	}
	return t.Language
}

// history writes the conversations one after the other, each one's messages in time order.
func history(ctx context.Context, tx *sql.Tx, rng, extra *rand.Rand, o Options, res Result, from, to int, total *int) error {
	insContact, err := tx.PrepareContext(ctx, `INSERT INTO contacts (wa_id, profile_name, created_at, updated_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (wa_id) DO UPDATE SET updated_at = excluded.updated_at RETURNING id`)
	if err != nil {
		return err
	}
	insConv, err := tx.PrepareContext(ctx, `INSERT INTO conversations (contact_id, phone_number_id, status, assignee_id, last_inbound_at, last_message_at, closed_at, created_at, updated_at)
		VALUES (?, ?, 'open', ?, NULL, ?, NULL, ?, ?)`)
	if err != nil {
		return err
	}
	closeConv, err := tx.PrepareContext(ctx, `UPDATE conversations SET status = 'closed', closed_at = ?, last_message_at = ?, updated_at = ? WHERE id = ?`)
	if err != nil {
		return err
	}
	touchConv, err := tx.PrepareContext(ctx, `UPDATE conversations SET last_message_at = ?, updated_at = ? WHERE id = ?`)
	if err != nil {
		return err
	}
	insMsg, err := tx.PrepareContext(ctx, `INSERT INTO messages (conversation_id, direction, wamid, type, text, status, status_at, error_code,
		error_title, sent_by, template_name, template_language, reply_to, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
	if err != nil {
		return err
	}
	insLabel, err := tx.PrepareContext(ctx, `INSERT INTO conversation_labels (conversation_id, label_id, added_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING`)
	if err != nil {
		return err
	}
	insStatus, err := tx.PrepareContext(ctx, `INSERT INTO message_statuses (wamid, status, at, pricing_category, billable, received_at) VALUES (?, ?, ?, ?, ?, ?)`)
	if err != nil {
		return err
	}
	end := o.Now.UnixMilli()
	span := int64(o.Days) * 86_400_000
	perNumber := map[int64][]int64{}
	for i, a := range res.Agents {
		n := res.Numbers[i%len(res.Numbers)]
		perNumber[n] = append(perNumber[n], a)
	}
	for c := from; c < to; c++ {
		number := res.Numbers[rng.IntN(len(res.Numbers))]
		agents := perNumber[number]
		agent := agents[rng.IntN(len(agents))]
		at := officeHoursMoment(rng, end-span, span)
		waID := fmt.Sprintf("%s%09d", countries[rng.IntN(len(countries))], 100000000+c)
		var contact int64
		if err := insContact.QueryRowContext(ctx, waID, firstNames[rng.IntN(len(firstNames))], at, at).Scan(&contact); err != nil {
			return fmt.Errorf("contact: %w", err)
		}
		r, err := insConv.ExecContext(ctx, contact, number, agent, at, at, at)
		if err != nil {
			return fmt.Errorf("conversation: %w", err)
		}
		conv, _ := r.LastInsertId()
		if len(res.Labels) > 0 && extra.IntN(3) == 0 {
			for _, l := range res.Labels {
				if extra.IntN(2) == 0 {
					if _, err := insLabel.ExecContext(ctx, conv, l, at); err != nil {
						return fmt.Errorf("label conversation: %w", err)
					}
				}
			}
		}
		var (
			lastWamid string   // of the newest message
			tplOf     Template // of the newest message, when a template
		)
		// msg writes a message; a button press (tpl "", button set) answers the template
		// message before it.
		msg := func(dir string, by any, tpl Template, button string, when int64) error {
			*total++
			wamid := fmt.Sprintf("wamid.gen.%d.%d", o.Seed, *total)
			status, statusAt, code, title := "received", any(nil), any(nil), ""
			typ, lang, replyTo := "text", "", ""
			if tpl.Name != "" {
				typ, lang = "template", tpl.lang()
			}
			if button != "" {
				typ, replyTo = "button", lastWamid
			}
			name := tpl.Name
			if dir == "out" {
				status, statusAt = outcome(rng, tpl), when+2000
				if status == "failed" {
					c := failures[rng.IntN(len(failures))]
					if name == "" && c == 131049 {
						c = 131026
					}
					code, title = c, "failed"
				}
			}
			text := customerLines[rng.IntN(len(customerLines))]
			if dir == "out" {
				text = agentLines[rng.IntN(len(agentLines))]
			}
			if name != "" {
				text = "Template " + name
			}
			if button != "" {
				text = button
			}
			if _, err := insMsg.ExecContext(ctx, conv, dir, wamid, typ, text, status, statusAt, code, title, by, name, lang, replyTo, when); err != nil {
				return fmt.Errorf("message: %w", err)
			}
			if name != "" && (status == "delivered" || status == "read") {
				if _, err := insStatus.ExecContext(ctx, wamid, "delivered", when+3000, lower(tpl.Category), 1, when+3000); err != nil {
					return fmt.Errorf("status: %w", err)
				}
			}
			lastWamid, tplOf = wamid, tpl
			return nil
		}
		// A fifth of conversations start with a template (a notification the customer answers
		// or not); the rest with the customer.
		turns := 1 + rng.IntN(5)
		if rng.IntN(5) == 0 {
			tpl := o.Templates[rng.IntN(len(o.Templates))]
			if err := msg("out", agent, tpl, "", at); err != nil {
				return err
			}
			if rng.Float64() > tpl.ReadRate*0.6 {
				turns = 0
			}
			at += int64(rng.ExpFloat64() * 3_600_000)
		}
		for range turns {
			for range 1 + rng.IntN(3) {
				button := ""
				if tplOf.Name != "" && extra.Float64() < tplOf.ButtonRate {
					button = buttonTexts[extra.IntN(len(buttonTexts))]
				}
				if err := msg("in", nil, Template{}, button, at); err != nil {
					return err
				}
				at += 10_000 + rng.Int64N(120_000)
			}
			at += responseDelay(rng)
			for range 1 + rng.IntN(2) {
				if err := msg("out", agent, Template{}, "", at); err != nil {
					return err
				}
				at += 5_000 + rng.Int64N(60_000)
			}
			at += int64(rng.ExpFloat64() * 1_800_000)
		}
		// Keep history before Now: what would fall after it is not written.
		if at >= end {
			at = end - 1
		}
		if rng.IntN(10) < 7 {
			closed := at + int64(rng.ExpFloat64()*7_200_000)
			if closed < end {
				if _, err := closeConv.ExecContext(ctx, closed, at, closed, conv); err != nil {
					return fmt.Errorf("close: %w", err)
				}
				continue
			}
		}
		if _, err := touchConv.ExecContext(ctx, at, at, conv); err != nil {
			return fmt.Errorf("touch: %w", err)
		}
	}
	return nil
}

func lower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			b[i] = c + 32
		}
	}
	return string(b)
}

// officeHoursMoment picks a moment (unix ms) in [start, start+span) with most weight on weekday
// office hours (in UTC+1, a European business), so the heat map has shape.
func officeHoursMoment(rng *rand.Rand, start, span int64) int64 {
	for {
		off := start + rng.Int64N(span)
		t := time.UnixMilli(off).UTC().Add(time.Hour)
		h := t.Hour()
		w := 0.15
		if h >= 8 && h < 19 {
			w = 1
		}
		if h >= 12 && h < 14 {
			w = 1.3
		}
		if d := t.Weekday(); d == time.Saturday || d == time.Sunday {
			w *= 0.35
		}
		if rng.Float64() < w/1.3 {
			return off
		}
	}
}

// responseDelay: most answers within minutes, a long tail into hours.
func responseDelay(rng *rand.Rand) int64 {
	minutes := math.Exp(rng.NormFloat64()*1.3 + 1.8)
	return int64(minutes * 60_000)
}

// outcome is the final status of an outgoing message.
func outcome(rng *rand.Rand, tpl Template) string {
	readRate := 0.88
	if tpl.Name != "" {
		readRate = tpl.ReadRate
	}
	x := rng.Float64()
	switch {
	case x < 0.03:
		return "failed"
	case x < 0.05:
		return "sent"
	case x < 0.05+0.95*readRate:
		return "read"
	default:
		return "delivered"
	}
}
