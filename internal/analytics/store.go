package analytics

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/switchboard/switchboard/internal/db"
	"github.com/switchboard/switchboard/internal/whatsapp"
)

// Store reads and rebuilds the rollups of migrations/0014_analytics.sql.
type Store struct {
	db  *db.DB
	log *slog.Logger
}

// NewStore returns a store over d.
func NewStore(d *db.DB, log *slog.Logger) *Store {
	if log == nil {
		log = slog.Default()
	}
	return &Store{db: d, log: log}
}

// numbers is the set of phone numbers a query may read: every number, or ids (possibly none).
type numbers struct {
	all bool
	ids []int64
}

func (n numbers) empty() bool { return !n.all && len(n.ids) == 0 }

// where builds the conditions shared by the rollup queries: the period's spans (or the hourly
// rows of the whole period), the numbers, and the member and template filters where asked.
type where struct {
	parts []string
	args  []any
}

func (w *where) add(cond string, args ...any) {
	w.parts = append(w.parts, cond)
	w.args = append(w.args, args...)
}

func (w *where) spans(ss []span) {
	or := make([]string, len(ss))
	for i, s := range ss {
		or[i] = "(grain = ? AND t >= ? AND t < ?)"
		w.args = append(w.args, s.grain, s.from, s.to)
	}
	w.parts = append(w.parts, "("+strings.Join(or, " OR ")+")")
}

func (w *where) hours(p Period) {
	w.add("grain = 1 AND t >= ? AND t < ?", p.Start.Unix()/3600, p.End.Unix()/3600)
}

func (w *where) numbers(n numbers) {
	if n.all {
		return
	}
	w.add("phone_number_id IN (" + placeholders(len(n.ids)) + ")")
	for _, id := range n.ids {
		w.args = append(w.args, id)
	}
}

func (w *where) String() string { return strings.Join(w.parts, " AND ") }

func placeholders(n int) string {
	if n == 0 {
		return "NULL"
	}
	return strings.Repeat("?,", n-1) + "?"
}

const countCols = `sum(inbound), sum(outbound), sum(pending), sum(sent), sum(delivered), sum(read), sum(failed), sum(replies)`

func scanCounts(c *Counts) []any {
	return []any{&c.Inbound, &c.Outbound, &c.Pending, &c.Sent, &c.Delivered, &c.Read, &c.Failed, &c.Replies}
}

// report fills r from the rollups: one query per figure, each over at most a few thousand rows.
func (s *Store) report(ctx context.Context, p Period, f Filter, ns numbers) (Report, error) {
	r := Report{Period: p, Filter: f}
	if ns.empty() {
		return r, nil
	}
	steps := []func(context.Context, *Report, numbers) error{
		s.messageTotals, s.bars, s.heat, s.failures, s.conversations, s.durations,
	}
	for _, step := range steps {
		if err := step(ctx, &r, ns); err != nil {
			return Report{}, err
		}
	}
	if err := s.names(ctx, &r); err != nil {
		return Report{}, err
	}
	return r, nil
}

// messageTotals sums messages by member and template: the totals, the agents' sends and the
// templates table come from the same rows.
func (s *Store) messageTotals(ctx context.Context, r *Report, ns numbers) error {
	var w where
	w.spans(r.Period.spans())
	w.numbers(ns)
	filterMessages(&w, r.Filter)
	rows, err := s.db.Reports.QueryContext(ctx, `SELECT member_id, template_name, template_language, `+countCols+`, sum(clicks)
		FROM analytics_messages WHERE `+w.String()+` GROUP BY member_id, template_name, template_language`, w.args...)
	if err != nil {
		return fmt.Errorf("message totals: %w", err)
	}
	defer rows.Close()
	agents := map[int64]*AgentRow{}
	templates := map[[2]string]*TemplateRow{}
	for rows.Next() {
		var (
			member    int64
			tpl, lang string
			c         Counts
		)
		if err := rows.Scan(append(append([]any{&member, &tpl, &lang}, scanCounts(&c)...), &c.Clicks)...); err != nil {
			return fmt.Errorf("message totals: %w", err)
		}
		r.Totals.add(c)
		if member != 0 && c.Outbound > 0 {
			a := agents[member]
			if a == nil {
				a = &AgentRow{MemberID: member}
				agents[member] = a
			}
			a.Sent += c.Outbound
		}
		if tpl != "" {
			k := [2]string{tpl, lang}
			t := templates[k]
			if t == nil {
				t = &TemplateRow{Name: tpl, Language: lang}
				templates[k] = t
			}
			t.Counts.add(c)
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("message totals: %w", err)
	}
	for _, a := range agents {
		r.Agents = append(r.Agents, *a)
	}
	for _, t := range templates {
		r.Templates = append(r.Templates, *t)
	}
	slices.SortFunc(r.Templates, func(a, b TemplateRow) int {
		if c := strings.Compare(a.Name, b.Name); c != 0 {
			return c
		}
		return strings.Compare(a.Language, b.Language)
	})
	return nil
}

func filterMessages(w *where, f Filter) {
	if f.MemberID != 0 {
		w.add("member_id = ?", f.MemberID)
	}
	if f.Template != "" {
		w.add("template_name = ?", f.Template)
	}
}

// bars sums hourly rows into the chart's bars (local days or hours).
func (s *Store) bars(ctx context.Context, r *Report, ns numbers) error {
	starts := r.Period.Bars()
	r.Bars = make([]Bar, len(starts))
	for i, t := range starts {
		r.Bars[i].Start = t
	}
	// Without a member or template filter the same rows give the heat map.
	unfiltered := r.Filter.MemberID == 0 && r.Filter.Template == ""
	var w where
	table := "analytics_number_hours"
	if unfiltered {
		w.add("t >= ? AND t < ?", r.Period.Start.Unix()/3600, r.Period.End.Unix()/3600)
	} else {
		table = "analytics_messages"
		w.hours(r.Period)
	}
	w.numbers(ns)
	filterMessages(&w, r.Filter)
	rows, err := s.db.Reports.QueryContext(ctx, `SELECT t, `+countCols+` FROM `+table+` WHERE `+w.String()+` GROUP BY t`, w.args...)
	if err != nil {
		return fmt.Errorf("messages over time: %w", err)
	}
	defer rows.Close()
	i := 0
	for rows.Next() {
		var (
			t int64
			c Counts
		)
		if err := rows.Scan(append([]any{&t}, scanCounts(&c)...)...); err != nil {
			return fmt.Errorf("messages over time: %w", err)
		}
		at := time.Unix(t*3600, 0).UTC()
		for i+1 < len(starts) && !at.Before(starts[i+1]) {
			i++
		}
		r.Bars[i].Counts.add(c)
		if unfiltered {
			r.addHeat(t, c.Inbound)
		}
	}
	return rows.Err()
}

func (r *Report) addHeat(hour, n int64) {
	local := time.Unix(hour*3600, 0).In(r.Period.Loc)
	wd := (int(local.Weekday()) + 6) % 7
	r.Heat[wd][local.Hour()] += n
}

// heat counts incoming messages by local weekday and hour. Incoming messages belong to no
// member or template, so only the number filter narrows it.
func (s *Store) heat(ctx context.Context, r *Report, ns numbers) error {
	if r.Filter.MemberID == 0 && r.Filter.Template == "" {
		return nil // counted with the bars
	}
	var w where
	w.hours(r.Period)
	w.numbers(ns)
	w.add("member_id = 0 AND template_name = ''")
	rows, err := s.db.Reports.QueryContext(ctx, `SELECT t, sum(inbound) FROM analytics_messages WHERE `+w.String()+` GROUP BY t`, w.args...)
	if err != nil {
		return fmt.Errorf("incoming by hour: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var t, n int64
		if err := rows.Scan(&t, &n); err != nil {
			return fmt.Errorf("incoming by hour: %w", err)
		}
		r.addHeat(t, n)
	}
	return rows.Err()
}

func (s *Store) failures(ctx context.Context, r *Report, ns numbers) error {
	var w where
	w.spans(r.Period.spans())
	w.numbers(ns)
	filterMessages(&w, r.Filter)
	rows, err := s.db.Reports.QueryContext(ctx, `SELECT error_code, sum(n) FROM analytics_failures WHERE `+w.String()+`
		GROUP BY error_code HAVING sum(n) > 0 ORDER BY sum(n) DESC, error_code`, w.args...)
	if err != nil {
		return fmt.Errorf("failures: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var f FailureRow
		if err := rows.Scan(&f.Code, &f.N); err != nil {
			return fmt.Errorf("failures: %w", err)
		}
		f.Meaning = whatsapp.ErrorMeaning(f.Code)
		r.Failures = append(r.Failures, f)
	}
	return rows.Err()
}

// conversations: opened per number (not split by member: a conversation is opened by the
// customer), closed per number and per member.
func (s *Store) conversations(ctx context.Context, r *Report, ns numbers) error {
	table, w := conversationRollup(r, "analytics_conversations", "analytics_label_conversations")
	w.spans(r.Period.spans())
	w.numbers(ns)
	rows, err := s.db.Reports.QueryContext(ctx, `SELECT phone_number_id, member_id, sum(opened), sum(closed)
		FROM `+table+` WHERE `+w.String()+` GROUP BY phone_number_id, member_id`, w.args...)
	if err != nil {
		return fmt.Errorf("conversations: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var number, member, opened, closed int64
		if err := rows.Scan(&number, &member, &opened, &closed); err != nil {
			return fmt.Errorf("conversations: %w", err)
		}
		if r.Filter.MemberID != 0 && member != r.Filter.MemberID {
			closed = 0
		}
		n := r.number(number)
		n.Opened += opened
		n.Closed += closed
		r.Opened += opened
		r.Closed += closed
		if member != 0 && closed > 0 {
			r.agent(member).Closed += closed
		}
	}
	return rows.Err()
}

// conversationRollup is the table the conversation figures come from: the label's rollup
// (migrations/0026) under a label filter, which then narrows the where clause it returns.
func conversationRollup(r *Report, all, byLabel string) (string, *where) {
	w := &where{}
	if r.Filter.LabelID == 0 {
		return all, w
	}
	w.add("label_id = ?", r.Filter.LabelID)
	return byLabel, w
}

func (s *Store) durations(ctx context.Context, r *Report, ns numbers) error {
	table, w := conversationRollup(r, "analytics_durations", "analytics_label_durations")
	w.spans(r.Period.spans())
	w.numbers(ns)
	if r.Filter.MemberID != 0 {
		w.add("member_id = ?", r.Filter.MemberID)
	}
	rows, err := s.db.Reports.QueryContext(ctx, `SELECT kind, phone_number_id, member_id, bucket, sum(n)
		FROM `+table+` WHERE `+w.String()+` GROUP BY kind, phone_number_id, member_id, bucket`, w.args...)
	if err != nil {
		return fmt.Errorf("durations: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			kind                   string
			number, member, bucket int64
			n                      int64
		)
		if err := rows.Scan(&kind, &number, &member, &bucket, &n); err != nil {
			return fmt.Errorf("durations: %w", err)
		}
		if n <= 0 {
			continue
		}
		nr := r.number(number)
		overall, perNumber := &r.FirstResponse, &nr.FirstResponse
		if kind == "resolution" {
			overall, perNumber = &r.Resolution, &nr.Resolution
		}
		overall.add(int(bucket), n)
		perNumber.add(int(bucket), n)
		if member != 0 {
			a := r.agent(member)
			if kind == "resolution" {
				a.Resolution.add(int(bucket), n)
			} else {
				a.FirstResponse.add(int(bucket), n)
			}
		}
	}
	return rows.Err()
}

func (r *Report) number(id int64) *NumberRow {
	for i := range r.Numbers {
		if r.Numbers[i].NumberID == id {
			return &r.Numbers[i]
		}
	}
	r.Numbers = append(r.Numbers, NumberRow{NumberID: id})
	return &r.Numbers[len(r.Numbers)-1]
}

func (r *Report) agent(id int64) *AgentRow {
	for i := range r.Agents {
		if r.Agents[i].MemberID == id {
			return &r.Agents[i]
		}
	}
	r.Agents = append(r.Agents, AgentRow{MemberID: id})
	return &r.Agents[len(r.Agents)-1]
}

// names labels numbers, members and templates, and orders the tables.
func (s *Store) names(ctx context.Context, r *Report) error {
	numberNames, err := s.numberNames(ctx)
	if err != nil {
		return err
	}
	for i := range r.Numbers {
		r.Numbers[i].Name = numberNames[r.Numbers[i].NumberID]
	}
	slices.SortFunc(r.Numbers, func(a, b NumberRow) int { return strings.Compare(a.Name, b.Name) })
	if len(r.Agents) > 0 {
		rows, err := s.db.Reports.QueryContext(ctx, `SELECT id, name FROM members`)
		if err != nil {
			return fmt.Errorf("member names: %w", err)
		}
		names := map[int64]string{}
		for rows.Next() {
			var id int64
			var name string
			if err := rows.Scan(&id, &name); err != nil {
				rows.Close()
				return fmt.Errorf("member names: %w", err)
			}
			names[id] = name
		}
		rows.Close()
		for i := range r.Agents {
			r.Agents[i].Name = names[r.Agents[i].MemberID]
		}
		slices.SortFunc(r.Agents, func(a, b AgentRow) int {
			if c := strings.Compare(a.Name, b.Name); c != 0 {
				return c
			}
			return int(a.MemberID - b.MemberID)
		})
	}
	if len(r.Templates) > 0 {
		// By name and language; sends of unknown language (kept before languages were) show
		// the states of every language of the name.
		rows, err := s.db.Reports.QueryContext(ctx, `SELECT name, language, group_concat(DISTINCT meta_status), group_concat(DISTINCT nullif(quality_score, '')),
				group_concat(DISTINCT nullif(meta_category, ''))
			FROM templates WHERE deleted_at IS NULL GROUP BY name, language
			UNION ALL
			SELECT name, '', group_concat(DISTINCT meta_status), group_concat(DISTINCT nullif(quality_score, '')),
				group_concat(DISTINCT nullif(meta_category, ''))
			FROM templates WHERE deleted_at IS NULL GROUP BY name`)
		if err != nil {
			return fmt.Errorf("template states: %w", err)
		}
		defer rows.Close()
		states := map[[2]string][3]string{}
		for rows.Next() {
			var name, lang string
			var st, q, cat *string
			if err := rows.Scan(&name, &lang, &st, &q, &cat); err != nil {
				return fmt.Errorf("template states: %w", err)
			}
			states[[2]string{name, lang}] = [3]string{deref(st), deref(q), deref(cat)}
		}
		for i := range r.Templates {
			st := states[[2]string{r.Templates[i].Name, r.Templates[i].Language}]
			r.Templates[i].Status, r.Templates[i].Quality, r.Templates[i].Category = st[0], st[1], st[2]
		}
	}
	return nil
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return strings.ReplaceAll(*s, ",", ", ")
}

func (s *Store) numberNames(ctx context.Context) (map[int64]string, error) {
	rows, err := s.db.Reports.QueryContext(ctx, `SELECT id, coalesce(nullif(label, ''), nullif(verified_name, ''), 'Number') || ' (' || display_phone_number || ')'
		FROM phone_numbers`)
	if err != nil {
		return nil, fmt.Errorf("number names: %w", err)
	}
	defer rows.Close()
	out := map[int64]string{}
	for rows.Next() {
		var id int64
		var name string
		if err := rows.Scan(&id, &name); err != nil {
			return nil, fmt.Errorf("number names: %w", err)
		}
		out[id] = name
	}
	return out, rows.Err()
}

// options lists the filter choices within ns.
func (s *Store) options(ctx context.Context, ns numbers) (Options, error) {
	var o Options
	if ns.empty() {
		return o, nil
	}
	names, err := s.numberNames(ctx)
	if err != nil {
		return o, err
	}
	for id, name := range names {
		if ns.all || slices.Contains(ns.ids, id) {
			o.Numbers = append(o.Numbers, Option{ID: id, Name: name})
		}
	}
	slices.SortFunc(o.Numbers, func(a, b Option) int { return strings.Compare(a.Name, b.Name) })
	var w where
	w.add("grain = 168")
	w.numbers(ns)
	rows, err := s.db.Reports.QueryContext(ctx, `SELECT m.id, m.name FROM members m WHERE m.id IN
		(SELECT DISTINCT member_id FROM analytics_messages WHERE `+w.String()+` AND member_id <> 0) ORDER BY m.name, m.id`, w.args...)
	if err != nil {
		return o, fmt.Errorf("member options: %w", err)
	}
	for rows.Next() {
		var op Option
		if err := rows.Scan(&op.ID, &op.Name); err != nil {
			rows.Close()
			return o, fmt.Errorf("member options: %w", err)
		}
		o.Members = append(o.Members, op)
	}
	rows.Close()
	rows, err = s.db.Reports.QueryContext(ctx, `SELECT DISTINCT template_name FROM analytics_messages WHERE `+w.String()+
		` AND template_name <> '' ORDER BY template_name`, w.args...)
	if err != nil {
		return o, fmt.Errorf("template options: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var t string
		if err := rows.Scan(&t); err != nil {
			return o, fmt.Errorf("template options: %w", err)
		}
		o.Templates = append(o.Templates, t)
	}
	if err := rows.Err(); err != nil {
		return o, fmt.Errorf("template options: %w", err)
	}
	rows.Close()
	// Label definitions are the workspace's, not a number's: every label is a choice.
	rows, err = s.db.Reports.QueryContext(ctx, `SELECT id, name FROM labels ORDER BY name COLLATE NOCASE, id`)
	if err != nil {
		return o, fmt.Errorf("label options: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var op Option
		if err := rows.Scan(&op.ID, &op.Name); err != nil {
			return o, fmt.Errorf("label options: %w", err)
		}
		o.Labels = append(o.Labels, op)
	}
	return o, rows.Err()
}
