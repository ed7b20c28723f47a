package web_test

import (
	"context"
	"encoding/csv"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/analytics"
	"github.com/switchboard/switchboard/internal/analytics/analyticsgen"
	"github.com/switchboard/switchboard/internal/app/apptest"
	"github.com/switchboard/switchboard/internal/authz"
)

// analyticsWorld is the sandbox workspace with 40 days of generated history, an analyst of
// every number and an analyst of the second number only.
type analyticsWorld struct {
	in            *apptest.Instance
	numbers       []int64
	labels        []int64
	names         []string
	allC, scopedC *apptest.Client
	agentC        *apptest.Client
}

func newAnalyticsWorld(t *testing.T) *analyticsWorld {
	t.Helper()
	in := apptest.Start(t)
	in.ConnectSandbox()
	ctx := context.Background()
	gen, err := analyticsgen.Generate(ctx, in.App.DB, analyticsgen.Options{Conversations: 400, Days: 40, Now: in.Clock.Now(), Seed: 3,
		Labels: []string{"VIP", "Billing"}})
	if err != nil {
		t.Fatal(err)
	}
	w := &analyticsWorld{in: in, numbers: gen.Numbers, labels: gen.Labels}
	for _, id := range gen.Numbers {
		var name string
		in.App.DB.R.QueryRow(`SELECT display_phone_number FROM phone_numbers WHERE id = ?`, id).Scan(&name)
		w.names = append(w.names, name)
	}
	if w.names[0] == w.names[1] {
		t.Fatalf("the sandbox numbers share the name %q", w.names[0])
	}
	_, w.allC = signedIn(t, in, "ana@example.com", authz.RoleAnalyst)
	scoped := in.CreateMember("sam@example.com", "Sam Scoped", authz.RoleAnalyst, ownerPassword)
	if _, err := in.App.DB.W.Exec(`UPDATE members SET all_numbers = 0 WHERE id = ?`, scoped.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := in.App.DB.W.Exec(`INSERT INTO member_numbers (member_id, phone_number_id) VALUES (?, ?)`, scoped.ID, gen.Numbers[1]); err != nil {
		t.Fatal(err)
	}
	w.scopedC = in.Client()
	w.scopedC.SignIn("sam@example.com", ownerPassword)
	_, w.agentC = signedIn(t, in, "aga@example.com", authz.RoleAgent)
	return w
}

func readCSV(t *testing.T, r apptest.Response) [][]string {
	t.Helper()
	if r.Status != http.StatusOK || !strings.HasPrefix(r.Header.Get("Content-Type"), "text/csv") {
		t.Fatalf("CSV: %d %s %.200s", r.Status, r.Header.Get("Content-Type"), r.Body)
	}
	rows, err := csv.NewReader(strings.NewReader(r.Body)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

func column(t *testing.T, rows [][]string, name string) int {
	t.Helper()
	for i, c := range rows[0] {
		if c == name {
			return i
		}
	}
	t.Fatalf("no column %q in %v", name, rows[0])
	return -1
}

func sumColumn(t *testing.T, rows [][]string, name string) int64 {
	i := column(t, rows, name)
	var n int64
	for _, r := range rows[1:] {
		v, err := strconv.ParseInt(r[i], 10, 64)
		if err != nil {
			t.Fatalf("%s: %q", name, r[i])
		}
		n += v
	}
	return n
}

// What the page, its tables and its CSVs show equals what the messages table says, for several
// ranges, zones and filters.
func TestAnalyticsPageShowsTheMessagesFigures(t *testing.T) {
	w := newAnalyticsWorld(t)
	now := w.in.Clock.Now()
	for _, tc := range []struct{ query, zone string }{
		{"range=7d&tz=Europe/Berlin", "Europe/Berlin"},
		{"range=30d&tz=America/New_York", "America/New_York"},
		{"range=today&tz=Asia/Tokyo", "Asia/Tokyo"},
		{fmt.Sprintf("range=30d&tz=UTC&number=%d", w.numbers[0]), "UTC"},
		{"range=30d&tz=UTC&template=spring_sale", "UTC"},
	} {
		t.Run(tc.query, func(t *testing.T) {
			loc, _ := time.LoadLocation(tc.zone)
			preset := strings.TrimPrefix(strings.Split(tc.query, "&")[0], "range=")
			p, err := analytics.ParsePeriod(preset, "", "", loc, now)
			if err != nil {
				t.Fatal(err)
			}
			cond, args := "m.direction = 'out' AND m.created_at >= ? AND m.created_at < ?", []any{p.Start.UnixMilli(), p.End.UnixMilli()}
			if strings.Contains(tc.query, "number=") {
				cond += " AND c.phone_number_id = ?"
				args = append(args, w.numbers[0])
			}
			if strings.Contains(tc.query, "template=") {
				cond += " AND m.template_name = 'spring_sale'"
			}
			var sent, read, failed int64
			if err := w.in.App.DB.R.QueryRow(`SELECT count(*), coalesce(sum(m.status = 'read'), 0), coalesce(sum(m.status = 'failed'), 0)
				FROM messages m JOIN conversations c ON c.id = m.conversation_id WHERE `+cond, args...).Scan(&sent, &read, &failed); err != nil {
				t.Fatal(err)
			}
			page := w.allC.Get("/analytics?" + tc.query)
			if page.Status != http.StatusOK {
				t.Fatalf("page: %d", page.Status)
			}
			if !strings.Contains(page.Body, `<span class="stat__value">`+strconv.FormatInt(sent, 10)+`</span>`) {
				t.Fatalf("the page does not say %d messages sent", sent)
			}
			rows := readCSV(t, w.allC.Get("/analytics/export/messages.csv?"+tc.query))
			if got := sumColumn(t, rows, "Outgoing"); got != sent {
				t.Fatalf("CSV outgoing %d, messages table %d", got, sent)
			}
			if got := sumColumn(t, rows, "Read"); got != read {
				t.Fatalf("CSV read %d, messages table %d", got, read)
			}
			if got := sumColumn(t, rows, "Failed"); got != failed {
				t.Fatalf("CSV failed %d, messages table %d", got, failed)
			}
			if sent > 0 {
				svg := w.allC.Get("/analytics/charts/messages.svg?" + tc.query)
				if svg.Status != http.StatusOK || svg.Header.Get("Content-Type") != "image/svg+xml" || !strings.Contains(svg.Body, "<svg") {
					t.Fatalf("chart: %d %s", svg.Status, svg.Header.Get("Content-Type"))
				}
			}
		})
	}
	// Bad input: a clear message and a 400, nothing else.
	if r := w.allC.Get("/analytics?label=vip"); r.Status != http.StatusBadRequest || !strings.Contains(r.Body, "label from the list") {
		t.Fatalf("bad label: %d", r.Status)
	}
	bad := w.allC.Get("/analytics?range=custom&from=2026-13-01&to=2026-01-01")
	if bad.Status != http.StatusBadRequest || !strings.Contains(bad.Body, "YYYY-MM-DD") {
		t.Fatalf("bad range: %d", bad.Status)
	}
	if r := w.allC.Get("/analytics?tz=Mars/Olympus"); r.Status != http.StatusBadRequest || !strings.Contains(r.Body, "time zone") {
		t.Fatalf("bad zone: %d", r.Status)
	}
}

// An analyst of one number sees nothing of the other: not on the page, not in a CSV, not in a
// chart, and asking for it by id is answered like a number that does not exist.
func TestScopedAnalystSeesOnlyTheirNumber(t *testing.T) {
	w := newAnalyticsWorld(t)
	mine, other := w.names[1], w.names[0]
	page := w.scopedC.Get("/analytics?range=90d")
	if page.Status != http.StatusOK || !strings.Contains(page.Body, mine) {
		t.Fatalf("scoped page: %d, own number shown: %v", page.Status, strings.Contains(page.Body, mine))
	}
	if strings.Contains(page.Body, other) {
		t.Fatalf("the scoped analyst's page names the other number %q", other)
	}
	conv := readCSV(t, w.scopedC.Get("/analytics/export/conversations.csv?range=90d"))
	for _, row := range conv[1:] {
		if !strings.Contains(row[0], mine) {
			t.Fatalf("conversations CSV has %v", row)
		}
	}
	if svg := w.scopedC.Get("/analytics/charts/conversations.svg?range=90d"); svg.Status != http.StatusOK || strings.Contains(svg.Body, other) {
		t.Fatalf("chart: %d, names other: %v", svg.Status, strings.Contains(svg.Body, other))
	}
	// Their figures are exactly their number's: the same as an all-numbers analyst filtering it.
	mineQ := fmt.Sprintf("range=90d&number=%d", w.numbers[1])
	a := readCSV(t, w.scopedC.Get("/analytics/export/messages.csv?range=90d"))
	b := readCSV(t, w.allC.Get("/analytics/export/messages.csv?"+mineQ))
	if fmt.Sprint(a) != fmt.Sprint(b) {
		t.Fatal("the scoped analyst's figures differ from their number's")
	}
	all := readCSV(t, w.allC.Get("/analytics/export/messages.csv?range=90d"))
	if sumColumn(t, all, "Outgoing") <= sumColumn(t, a, "Outgoing") {
		t.Fatal("the other number has no messages: the test proves nothing")
	}
	otherQ := fmt.Sprintf("range=90d&number=%d", w.numbers[0])
	for _, path := range []string{"/analytics?", "/analytics/export/messages.csv?", "/analytics/charts/messages.svg?", "/analytics/export/agents.csv?"} {
		if r := w.scopedC.Get(path + otherQ); r.Status != http.StatusNotFound || strings.Contains(r.Body, other) {
			t.Fatalf("%s for the other number: %d", path, r.Status)
		}
	}
	// An export asks for a recent sign-in, like every export.
	w.in.Clock.Advance(11 * time.Minute)
	if r := w.allC.Get("/analytics/export/messages.csv?range=7d"); r.Status != http.StatusSeeOther || !strings.HasPrefix(r.Location(), "/reauth") {
		t.Fatalf("export 11 minutes after sign-in: %d %s", r.Status, r.Location())
	}
	// Without analytics.view, none of it.
	for _, path := range []string{"/analytics", "/analytics/export/messages.csv", "/analytics/charts/messages.svg"} {
		if r := w.agentC.Get(path); r.Status != http.StatusForbidden {
			t.Fatalf("agent %s: %d", path, r.Status)
		}
	}
}

// The label filter narrows the conversation figures to conversations carrying the label, and
// the page says which sections it applies to; message figures stay those of every conversation.
func TestAnalyticsLabelFilter(t *testing.T) {
	w := newAnalyticsWorld(t)
	p, err := analytics.ParsePeriod(analytics.Preset30, "", "", time.UTC, w.in.Clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	start, end := p.Start.UnixMilli(), p.End.UnixMilli()
	for _, label := range w.labels {
		q := fmt.Sprintf("range=30d&tz=UTC&label=%d", label)
		var opened, closed int64
		if err := w.in.App.DB.R.QueryRow(`SELECT coalesce(sum(c.created_at >= ? AND c.created_at < ?), 0),
				coalesce(sum(c.status = 'closed' AND c.closed_at >= ? AND c.closed_at < ?), 0)
			FROM conversations c JOIN conversation_labels cl ON cl.conversation_id = c.id WHERE cl.label_id = ?`,
			start, end, start, end, label).Scan(&opened, &closed); err != nil {
			t.Fatal(err)
		}
		if opened == 0 || closed == 0 {
			t.Fatalf("label %d: nothing opened or closed in the range", label)
		}
		page := w.allC.Get("/analytics?" + q)
		if page.Status != http.StatusOK || !strings.Contains(page.Body, "The label filter applies to conversations opened and closed") {
			t.Fatalf("page: %d, says where the label applies: %v", page.Status, strings.Contains(page.Body, "label filter applies"))
		}
		rows := readCSV(t, w.allC.Get("/analytics/export/conversations.csv?"+q))
		if last := rows[len(rows)-1]; last[0] == "All numbers" {
			rows = rows[:len(rows)-1] // the totals row
		}
		if got := sumColumn(t, rows, "Opened"); got != opened {
			t.Fatalf("label %d: CSV opened %d, conversations table %d", label, got, opened)
		}
		if got := sumColumn(t, rows, "Closed"); got != closed {
			t.Fatalf("label %d: CSV closed %d, conversations table %d", label, got, closed)
		}
		// Message volume is every conversation's, as the note says.
		a := readCSV(t, w.allC.Get("/analytics/export/messages.csv?"+q))
		b := readCSV(t, w.allC.Get("/analytics/export/messages.csv?range=30d&tz=UTC"))
		if fmt.Sprint(a) != fmt.Sprint(b) {
			t.Fatal("the label filter changed the message figures, which are not kept by label")
		}
	}
}

// The Templates table has a row per template and language, and its button clicks are the
// quick-reply presses answering that template's messages.
func TestAnalyticsTemplateLanguagesAndClicks(t *testing.T) {
	w := newAnalyticsWorld(t)
	p, _ := analytics.ParsePeriod(analytics.Preset30, "", "", time.UTC, w.in.Clock.Now())
	rows := readCSV(t, w.allC.Get("/analytics/export/templates.csv?range=30d&tz=UTC"))
	name, lang, clicks, sent := column(t, rows, "Template"), column(t, rows, "Language"), column(t, rows, "Button clicks"), column(t, rows, "Sent")
	got := map[string][2]string{}
	for _, r := range rows[1:] {
		got[r[name]+"/"+r[lang]] = [2]string{r[sent], r[clicks]}
	}
	q, err := w.in.App.DB.R.Query(`SELECT t.template_name || '/' || t.template_language, count(*),
			sum((SELECT count(*) FROM messages b WHERE b.reply_to = t.wamid AND b.direction = 'in' AND b.type = 'button'))
		FROM messages t WHERE t.direction = 'out' AND t.template_name <> '' AND t.created_at >= ? AND t.created_at < ?
		GROUP BY t.template_name, t.template_language`, p.Start.UnixMilli(), p.End.UnixMilli())
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	want := map[string][2]string{}
	var total int64
	for q.Next() {
		var k string
		var n, c int64
		if err := q.Scan(&k, &n, &c); err != nil {
			t.Fatal(err)
		}
		want[k] = [2]string{strconv.FormatInt(n, 10), strconv.FormatInt(c, 10)}
		total += c
	}
	if total == 0 || want["spring_sale/es"][0] == "" {
		t.Fatalf("generated history has no clicks or no second language: %v", want)
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("templates CSV (sent, clicks)\n got %v\nwant %v", got, want)
	}
	page := w.allC.Get("/analytics?range=30d&tz=UTC")
	if !strings.Contains(page.Body, "Button clicks") || !strings.Contains(page.Body, ">es<") {
		t.Fatal("the page's templates table has no clicks column or no language")
	}
}
