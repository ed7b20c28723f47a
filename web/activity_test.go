package web_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/app/apptest"
	"github.com/switchboard/switchboard/internal/audit"
	"github.com/switchboard/switchboard/internal/authz"
)

const activityPassword = "several quiet lighthouses"

// activityWorld is a workspace with an administrator, an auditor, an agent and a reader whose
// custom role holds audit.view alone, each signed in on a client of their own.
type activityWorld struct {
	in                            *apptest.Instance
	admin, auditor, agent, reader *apptest.Client
	graceID                       int64
}

func newActivityWorld(t *testing.T) *activityWorld {
	t.Helper()
	in := apptest.Start(t)
	w := &activityWorld{in: in}
	in.CreateMember("ada@example.com", "Ada Lovelace", authz.RoleAdministrator, activityPassword)
	in.CreateMember("alan@example.com", "Alan Turing", authz.RoleAuditor, activityPassword)
	w.graceID = in.CreateMember("grace@example.com", "Grace Hopper", authz.RoleAgent, activityPassword).ID
	// A custom role, written as the roles area stores one: the activity log, but no export.
	now := in.Clock.Now().UnixMilli()
	ctx := context.Background()
	res, err := in.App.DB.W.ExecContext(ctx, `INSERT INTO roles (key, name, builtin, created_at, updated_at)
		VALUES ('activity_reader', 'Activity reader', 0, ?, ?)`, now, now)
	if err != nil {
		t.Fatal(err)
	}
	roleID, _ := res.LastInsertId()
	if _, err := in.App.DB.W.ExecContext(ctx, `INSERT INTO role_permissions (role_id, permission) VALUES (?, 'audit.view')`, roleID); err != nil {
		t.Fatal(err)
	}
	in.CreateMember("rita@example.com", "Rita Reader", "activity_reader", activityPassword)
	for email, c := range map[string]**apptest.Client{
		"ada@example.com": &w.admin, "alan@example.com": &w.auditor, "grace@example.com": &w.agent, "rita@example.com": &w.reader,
	} {
		*c = in.Client()
		(*c).SignIn(email, activityPassword)
	}
	return w
}

// record appends events as the app would, a second apart (sessions time out after 30 idle
// minutes of the fake clock).
func (w *activityWorld) record(t *testing.T, evs ...audit.Event) []audit.Event {
	t.Helper()
	ctx := audit.WithRequest(context.Background(), audit.Request{ClientAddr: "198.51.100.4", UserAgent: "Firefox/140", RequestID: "req-7"})
	var out []audit.Event
	for _, ev := range evs {
		w.in.Clock.Advance(time.Second)
		rec, err := w.in.App.Audit.Record(ctx, ev)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, rec)
	}
	return out
}

// shownIDs are the event ids the page lists, in order.
func shownIDs(body string) []int64 {
	var ids []int64
	for _, m := range regexp.MustCompile(`<td role="cell" class="activity-table__when"><a href="/activity/(\d+)`).FindAllStringSubmatch(body, -1) {
		id, _ := strconv.ParseInt(m[1], 10, 64)
		ids = append(ids, id)
	}
	return ids
}

func TestActivityAccess(t *testing.T) {
	w := newActivityWorld(t)
	get := []string{"/activity", "/activity/1", "/activity/integrity?run=1", "/activity/export?format=csv", "/activity/retention"}
	post := []string{"/activity/retention", "/activity/retention/prune"}
	status := func(c *apptest.Client, path string, isPost bool) int {
		if isPost {
			return c.PostForm(path, url.Values{"keep": {"forever"}}).Status
		}
		return c.Get(path).Status
	}
	for _, tc := range []struct {
		who     string
		c       *apptest.Client
		allowed map[string]bool
	}{
		{"agent", w.agent, map[string]bool{}},
		{"reader", w.reader, map[string]bool{"/activity": true, "/activity/1": true, "/activity/integrity?run=1": true}},
		{"auditor", w.auditor, map[string]bool{"/activity": true, "/activity/1": true, "/activity/integrity?run=1": true, "/activity/export?format=csv": true}},
		{"administrator", w.admin, map[string]bool{"/activity": true, "/activity/1": true, "/activity/integrity?run=1": true,
			"/activity/export?format=csv": true, "/activity/retention": true, "POST /activity/retention": true, "POST /activity/retention/prune": true}},
	} {
		for _, p := range get {
			got := status(tc.c, p, false)
			if tc.allowed[p] != (got == http.StatusOK) || !tc.allowed[p] && got != http.StatusForbidden {
				t.Errorf("%s GET %s: %d", tc.who, p, got)
			}
		}
		for _, p := range post {
			got := status(tc.c, p, true)
			if tc.allowed["POST "+p] != (got == http.StatusSeeOther) || !tc.allowed["POST "+p] && got != http.StatusForbidden {
				t.Errorf("%s POST %s: %d", tc.who, p, got)
			}
		}
	}
	// The refusals are in the log as denied, and the auditor finds them with the outcome filter.
	page := w.auditor.Get("/activity?outcome=denied")
	if n := strings.Count(page.Body, "access.denied"); n < 12 {
		t.Errorf("the denied filter shows %d refusals, want at least the 12 above", n)
	}
	if strings.Contains(page.Body, ">success<") {
		t.Error("the denied filter shows a success")
	}
	// The reader sees no export buttons; the auditor does.
	if strings.Contains(w.reader.Get("/activity").Body, `href="/activity/export?`) {
		t.Error("export offered without audit.export")
	}
	if !strings.Contains(w.auditor.Get("/activity").Body, "/activity/export?format=csv") {
		t.Error("export not offered to the auditor")
	}
}

func TestActivityFiltersCombineInTheURL(t *testing.T) {
	w := newActivityWorld(t)
	// A former member: no longer in the members table, still in the log.
	gail := audit.MemberActor(77, "Gail Former")
	evs := w.record(t,
		audit.Event{Actor: gail, Action: "member.signed_in", Target: audit.NewTarget("member", 77)},
		audit.Event{Actor: gail, Action: "template.approved", Target: audit.NewTarget("template", 4)},
		audit.Event{Actor: gail, Action: "template.approved", Target: audit.NewTarget("template", 5), Outcome: audit.OutcomeDenied},
		audit.Event{Actor: audit.APIKeyActor(3, "CRM"), Action: "template.approved", Target: audit.NewTarget("template", 4)},
		audit.Event{Actor: gail, Action: "member.signed_out", Target: audit.NewTarget("member", 77)},
	)
	gailParam := "member:77"
	for _, tc := range []struct {
		query string
		want  []int64
	}{
		{"actor=" + gailParam + "&action=group:templates", []int64{evs[2].ID, evs[1].ID}},
		{"actor=" + gailParam + "&action=group:templates&outcome=denied", []int64{evs[2].ID}},
		{"action=template.approved&target_type=template&target_id=4", []int64{evs[3].ID, evs[1].ID}},
		{"actor=api_key", []int64{evs[3].ID}},
		{"actor=api_key:3&action=template.approved", []int64{evs[3].ID}},
		{"actor=" + gailParam + "&action=group:signin", []int64{evs[4].ID, evs[0].ID}},
		{"actor=" + gailParam + "&target_type=member", []int64{evs[4].ID, evs[0].ID}},
	} {
		r := w.auditor.Get("/activity?" + (url.Values{}).Encode() + escapeQuery(tc.query))
		if r.Status != http.StatusOK {
			t.Errorf("%s: %d", tc.query, r.Status)
			continue
		}
		if got := shownIDs(r.Body); !slices.Equal(got, tc.want) {
			t.Errorf("%s: shows %v, want %v", tc.query, got, tc.want)
		}
	}

	// The same URL from htmx answers the results only; a normal request the whole page.
	req, _ := http.NewRequest(http.MethodGet, w.in.URL+"/activity?actor="+url.QueryEscape(gailParam), nil)
	req.Header.Set("HX-Request", "true")
	part := w.auditor.Do(req)
	if part.Status != 200 || strings.Contains(part.Body, "<html") || len(shownIDs(part.Body)) != 4 {
		t.Errorf("htmx answer: %d, %d events\n%.300s", part.Status, len(shownIDs(part.Body)), part.Body)
	}
	if !slices.Contains(part.Header.Values("Vary"), "HX-Request") {
		t.Errorf("Vary %v", part.Header.Values("Vary"))
	}
	full := w.auditor.Get("/activity?actor=" + url.QueryEscape(gailParam))
	if !strings.Contains(full.Body, "<html") || !strings.Contains(full.Body, `<option value="member:77" selected>Member 77</option>`) {
		t.Error("the full page does not show the followed former member in the filter")
	}
	graceParam := "member:" + strconv.FormatInt(w.graceID, 10)
	full = w.auditor.Get("/activity?actor=" + url.QueryEscape(graceParam))
	if !strings.Contains(full.Body, `<option value="`+graceParam+`" selected>Grace Hopper</option>`) {
		t.Error("the full page does not show the chosen member in the filter")
	}

	for _, bad := range []string{"actor=member:abc", "action=group:nope", "action=DROP TABLE", "outcome=maybe",
		"from=yesterday", "from=2026-03-02&to=2026-03-01", "tz=Mars/Olympus", "tz=../../etc/passwd", "target_id=7"} {
		r := w.auditor.Get("/activity?" + escapeQuery(bad))
		if r.Status != http.StatusBadRequest || !strings.Contains(r.Body, `class="field__error"`) || len(shownIDs(r.Body)) != 0 {
			t.Errorf("%s: %d, %d events", bad, r.Status, len(shownIDs(r.Body)))
		}
	}
}

func escapeQuery(q string) string {
	v, _ := url.ParseQuery(q)
	return v.Encode()
}

// Dates are days in the viewer's zone: 23:30 UTC on 1 March is 2 March in Berlin.
func TestActivityTimeRangeInTheViewersZone(t *testing.T) {
	w := newActivityWorld(t)
	w.in.Clock.Set(time.Date(2026, 3, 1, 23, 29, 59, 0, time.UTC))
	late := w.record(t, audit.Event{Actor: audit.System(), Action: "setup.completed"})[0] // 23:30 UTC
	w.in.Clock.Set(time.Date(2026, 3, 2, 22, 59, 59, 0, time.UTC))
	next := w.record(t, audit.Event{Actor: audit.System(), Action: "setup.completed"})[0] // 23:00 UTC = 00:00 Berlin, 3 March
	w.in.Clock.Set(time.Date(2026, 3, 10, 0, 0, 0, 0, time.UTC))
	for _, tc := range []struct {
		query string
		want  []int64
	}{
		{"action=setup.completed&from=2026-03-01&to=2026-03-01", []int64{late.ID}},
		{"action=setup.completed&from=2026-03-02&to=2026-03-02&tz=Europe/Berlin", []int64{late.ID}},
		{"action=setup.completed&from=2026-03-03&tz=Europe/Berlin", []int64{next.ID}},
		{"action=setup.completed&to=2026-02-28", nil},
	} {
		r := w.auditor.Get("/activity?" + escapeQuery(tc.query))
		if got := shownIDs(r.Body); !slices.Equal(got, tc.want) {
			t.Errorf("%s: %v, want %v", tc.query, got, tc.want)
		}
	}
	r := w.auditor.Get("/activity/" + strconv.FormatInt(late.ID, 10) + "?tz=Europe/Berlin")
	if !strings.Contains(r.Body, "Monday 2 March 2026, 00:30:00.000 CET") || !strings.Contains(r.Body, "2026-03-01 23:30:00.000 UTC") {
		t.Errorf("the event page does not show both times:\n%s", r.Body)
	}
}

func TestActivityPagesByKeyset(t *testing.T) {
	w := newActivityWorld(t)
	var evs []audit.Event
	for range 120 {
		evs = append(evs, audit.Event{Actor: audit.System(), Action: "webhook.delivered"})
	}
	w.record(t, evs...)
	var seen []int64
	next := "/activity?action=webhook.delivered"
	for next != "" {
		r := w.auditor.Get(next)
		seen = append(seen, shownIDs(r.Body)...)
		m := regexp.MustCompile(`href="(/activity\?[^"]*before=\d+[^"]*)"`).FindStringSubmatch(r.Body)
		next = ""
		if m != nil {
			next = strings.ReplaceAll(m[1], "&amp;", "&")
		}
	}
	if len(seen) != 120 || !slices.IsSortedFunc(seen, func(a, b int64) int { return int(b - a) }) {
		t.Errorf("paged through %d events", len(seen))
	}
	if strings.Contains(w.auditor.Get("/activity?action=webhook.delivered").Body, "offset") {
		t.Error("a link pages by offset")
	}
}

func TestActivityEventPage(t *testing.T) {
	w := newActivityWorld(t)
	ev := w.record(t, audit.Event{
		Actor: audit.MemberActor(1, "Ada Lovelace"), Action: "member.updated", Target: audit.NewTarget("member", w.graceID),
		Changes: []audit.Change{{Field: "role", Before: "Agent", After: "Administrator"}, {Field: "numbers", Before: nil, After: []int{1, 2}}},
	})[0]
	r := w.auditor.Get("/activity/" + strconv.FormatInt(ev.ID, 10))
	for _, want := range []string{
		"Ada Lovelace", "member.updated", "Members &amp; roles", "198.51.100.4", "Firefox/140", "req-7",
		"<del>Agent</del>", "<ins>Administrator</ins>", "<ins>[1,2]</ins>", ev.Hash, ev.PrevHash,
		`href="/activity?actor=member%3A1"`, fmt.Sprintf(`href="/activity?target_id=%d&amp;target_type=member"`, w.graceID),
	} {
		if !strings.Contains(r.Body, want) {
			t.Errorf("event page lacks %q", want)
		}
	}
	for _, missing := range []string{"/activity/999999", "/activity/0", "/activity/-1", "/activity/abc"} {
		if r := w.auditor.Get(missing); r.Status != http.StatusNotFound {
			t.Errorf("%s: %d, want 404", missing, r.Status)
		}
	}
}

// Names and agents are anyone's to choose: they are shown as text, line breaks and bidi
// overrides visibly, never obeyed by the browser.
func TestActivityShowsHostileStringsInert(t *testing.T) {
	w := newActivityWorld(t)
	ctx := audit.WithRequest(context.Background(), audit.Request{UserAgent: `<img src=x onerror=alert(2)>`, RequestID: "\"><script>alert(3)</script>"})
	ev, err := w.in.App.Audit.Record(ctx, audit.Event{
		Actor: audit.MemberActor(9, "<script>alert(1)</script>\nMallory\u202Eecila"), Action: "member.updated",
		Target:  audit.Target{Type: "member", ID: `"><b>x`},
		Changes: []audit.Change{{Field: "name", Before: "<i>old</i>", After: "new\r\nline"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{"/activity", "/activity/" + strconv.FormatInt(ev.ID, 10), "/activity?actor=member:9"} {
		body := w.auditor.Get(path).Body
		for _, raw := range []string{"<script>alert", "<img src=x", "<b>x", "<i>old", "\u202E"} {
			if strings.Contains(body, raw) {
				t.Errorf("%s: %q reaches the page unescaped", path, raw)
			}
		}
		if !strings.Contains(body, "&lt;script&gt;alert(1)&lt;/script&gt;↵Mallory[U+202E]ecila") {
			t.Errorf("%s: the hostile name is not shown as visible text", path)
		}
	}
}

func TestActivitySearchesAreRecordedOncePerFilter(t *testing.T) {
	w := newActivityWorld(t)
	for range 60 {
		w.record(t, audit.Event{Actor: audit.System(), Action: "webhook.delivered"})
	}
	searches := func() int {
		evs, _, err := w.in.App.Audit.List(context.Background(), audit.ListQuery{Filter: audit.Filter{Action: "audit.searched"}, Limit: 500})
		if err != nil {
			t.Fatal(err)
		}
		return len(evs)
	}
	w.auditor.Get("/activity")
	if n := searches(); n != 0 {
		t.Errorf("the unfiltered page recorded %d searches", n)
	}
	first := w.auditor.Get("/activity?action=webhook.delivered")
	w.auditor.Get("/activity?action=webhook.delivered")
	older := regexp.MustCompile(`href="(/activity\?[^"]*before=\d+[^"]*)"`).FindStringSubmatch(first.Body)
	if older == nil {
		t.Fatal("no older page")
	}
	w.auditor.Get(strings.ReplaceAll(older[1], "&amp;", "&"))
	if n := searches(); n != 1 {
		t.Errorf("one filter, a reload and a page turn recorded %d searches, want 1", n)
	}
	w.auditor.Get("/activity?action=webhook.delivered&outcome=success")
	if n := searches(); n != 2 {
		t.Errorf("a changed filter: %d searches, want 2", n)
	}
	evs, _, _ := w.in.App.Audit.List(context.Background(), audit.ListQuery{Filter: audit.Filter{Action: "audit.searched"}})
	if evs[0].Actor.Name != "Alan Turing" || evs[0].Changes[0].After != "action=webhook.delivered&outcome=success" {
		t.Errorf("search event %+v", evs[0])
	}
}

func TestActivityExportEqualsTheView(t *testing.T) {
	w := newActivityWorld(t)
	grace := audit.MemberActor(w.graceID, "Grace Hopper")
	for i := range 130 {
		ev := audit.Event{Actor: grace, Action: "message.sent", Target: audit.NewTarget("conversation", int64(i%3))}
		if i%4 == 0 {
			ev.Actor = audit.MemberActor(1, "Ada Lovelace")
		}
		w.record(t, ev)
	}
	query := "actor=member%3A" + strconv.FormatInt(w.graceID, 10) + "&target_type=conversation&target_id=1"
	var shown []int64
	for next := "/activity?" + query; next != ""; {
		r := w.auditor.Get(next)
		shown = append(shown, shownIDs(r.Body)...)
		m := regexp.MustCompile(`href="(/activity\?[^"]*before=\d+[^"]*)"`).FindStringSubmatch(r.Body)
		next = ""
		if m != nil {
			next = strings.ReplaceAll(m[1], "&amp;", "&")
		}
	}
	slices.Reverse(shown)
	for _, format := range []string{"csv", "jsonl"} {
		r := w.auditor.Get("/activity/export?format=" + format + "&" + query)
		if r.Status != 200 {
			t.Fatalf("%s export: %d", format, r.Status)
		}
		if cd := r.Header.Get("Content-Disposition"); !strings.HasPrefix(cd, `attachment; filename="switchboard-activity-`) || !strings.HasSuffix(cd, `.`+format+`"`) {
			t.Errorf("Content-Disposition %q", cd)
		}
		rep, err := audit.VerifyExport(strings.NewReader(r.Body))
		if err != nil || !rep.Intact || rep.Events != int64(len(shown)) {
			t.Errorf("%s export: %+v %v, the view shows %d", format, rep, err, len(shown))
		}
		if format == "jsonl" {
			var got []int64
			sc := bufio.NewScanner(strings.NewReader(r.Body))
			for sc.Scan() {
				var row struct {
					ID        int64  `json:"id"`
					ActorName string `json:"actor_name"`
				}
				if err := json.Unmarshal(sc.Bytes(), &row); err != nil {
					t.Fatal(err)
				}
				if row.ID == 0 { // the signed checkpoint that ends the file
					continue
				}
				got = append(got, row.ID)
			}
			if !slices.Equal(got, shown) {
				t.Errorf("export %v\nview   %v", got, shown)
			}
		}
	}
	exports, _, _ := w.in.App.Audit.List(context.Background(), audit.ListQuery{Filter: audit.Filter{Action: "audit.exported"}})
	if len(exports) != 2 || exports[0].Actor.Name != "Alan Turing" || !strings.Contains(fmt.Sprint(exports[0].Changes), "target_id=1") {
		t.Errorf("export events %+v", exports)
	}
	if r := w.auditor.Get("/activity/export?format=xml"); r.Status != http.StatusBadRequest {
		t.Errorf("unknown format: %d", r.Status)
	}
	// An unfiltered export ends with its own record, then the signed checkpoint that anchors it.
	r := w.auditor.Get("/activity/export?format=jsonl")
	lines := strings.Split(strings.TrimSpace(r.Body), "\n")
	if !strings.Contains(lines[len(lines)-2], `"action":"audit.exported"`) || !strings.HasPrefix(lines[len(lines)-1], `{"checkpoint":`) {
		t.Errorf("last lines of an unfiltered export: %s", lines[len(lines)-2:])
	}
	if rep, err := audit.VerifyExportWith(strings.NewReader(r.Body), w.in.App.AuditCheckpoints.PublicKey()); err != nil || !rep.Intact || rep.Export == nil || !rep.Export.Complete {
		t.Errorf("unfiltered export: %+v %v", rep, err)
	}
}

func TestActivityIntegrityPage(t *testing.T) {
	w := newActivityWorld(t)
	w.record(t, audit.Event{Actor: audit.System(), Action: "setup.completed"}, audit.Event{Actor: audit.System(), Action: "setup.completed"})
	shell := w.auditor.Get("/activity/integrity")
	if !strings.Contains(shell.Body, `hx-get="/activity/integrity?run=1"`) || !strings.Contains(shell.Body, "<noscript>") {
		t.Error("the page does not fetch the verdict")
	}
	r := w.auditor.Get("/activity/integrity?run=1")
	if !regexp.MustCompile(`Intact up to <a href="/activity/\d+">event \d+</a>`).MatchString(r.Body) {
		t.Errorf("intact log:\n%s", r.Body)
	}
	ctx := context.Background()
	for _, q := range []string{`DROP TRIGGER audit_events_no_update`, `UPDATE audit_events SET actor_name = 'Mallory' WHERE id = 3`} {
		if _, err := w.in.App.DB.W.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	req, _ := http.NewRequest(http.MethodGet, w.in.URL+"/activity/integrity?run=1", nil)
	req.Header.Set("HX-Request", "true")
	r = w.auditor.Do(req)
	if strings.Contains(r.Body, "<html") || !strings.Contains(r.Body, `Broken at <a href="/activity/3">event 3</a>`) ||
		!strings.Contains(r.Body, audit.ReasonHashMismatch) {
		t.Errorf("tampered log:\n%s", r.Body)
	}
}

func TestActivityRetentionAndPruning(t *testing.T) {
	w := newActivityWorld(t)
	w.record(t, audit.Event{Actor: audit.System(), Action: "webhook.delivered"}, audit.Event{Actor: audit.System(), Action: "webhook.delivered"})
	if r := w.admin.PostForm("/activity/retention", url.Values{"keep": {"days"}, "days": {"5"}}); r.Status != http.StatusUnprocessableEntity ||
		!strings.Contains(r.Body, "from 30 to 36500") {
		t.Errorf("5 days: %d", r.Status)
	}
	if r := w.admin.PostForm("/activity/retention", url.Values{"keep": {"days"}, "days": {"30"}}); r.Status != http.StatusSeeOther {
		t.Fatalf("30 days: %d", r.Status)
	}
	if !strings.Contains(w.admin.Get("/activity/retention").Body, "Events are kept for 30 days") {
		t.Error("no confirmation")
	}
	w.in.Clock.Advance(45 * 24 * time.Hour)
	w.record(t, audit.Event{Actor: audit.System(), Action: "webhook.delivered"})
	w.admin.SignIn("ada@example.com", activityPassword) // the old session timed out meanwhile
	w.auditor.SignIn("alan@example.com", activityPassword)
	before := w.admin.Get("/activity/retention").Body
	if !strings.Contains(before, "Delete ") {
		t.Fatalf("nothing to prune offered:\n%s", before)
	}
	if r := w.admin.PostForm("/activity/retention/prune", nil); r.Status != http.StatusSeeOther {
		t.Fatalf("prune: %d", r.Status)
	}
	after := w.admin.Get("/activity/retention").Body
	if !strings.Contains(after, "Deleted ") || !strings.Contains(after, "Past pruning") {
		t.Errorf("after pruning:\n%s", after)
	}
	r := w.auditor.Get("/activity/integrity?run=1")
	if !strings.Contains(r.Body, "Intact up to") || !strings.Contains(r.Body, "Pruned log.") {
		t.Errorf("integrity after pruning:\n%s", r.Body)
	}
	pruned, _, _ := w.in.App.Audit.List(context.Background(), audit.ListQuery{Filter: audit.Filter{Action: audit.ActionPruned}})
	if len(pruned) != 1 || pruned[0].Actor.Name != "Ada Lovelace" {
		t.Errorf("pruning events %+v", pruned)
	}
	if r := w.auditor.Get("/activity/1"); r.Status != http.StatusNotFound {
		t.Errorf("a pruned event answers %d", r.Status)
	}
}

// Item 14: the list names the actor as they were named when they acted (the name is kept in the
// hashed event), and says what they did in words; the event page keeps the action's code.
func TestActivityShowsNamesAsTheyWereAndActionsInWords(t *testing.T) {
	w := newActivityWorld(t)
	// Grace signed in as "Grace Hopper" when the world was made; she is renamed, and signs in again.
	if _, err := w.in.App.DB.W.Exec(`UPDATE members SET name = 'Grace Brewster Hopper' WHERE id = ?`, w.graceID); err != nil {
		t.Fatal(err)
	}
	again := w.in.Client()
	again.SignIn("grace@example.com", activityPassword)
	command := w.record(t, audit.Event{Actor: audit.SystemActor("switchboard user reset-password"), Action: "member.password_reset",
		Target: audit.NewTarget("member", w.graceID)})[0]

	rows := func(body string) []string {
		var out []string
		for _, part := range strings.Split(body, `<tr role="row">`)[2:] { // after the header row
			out = append(out, part[:strings.Index(part, "</tr>")])
		}
		return out
	}
	r := w.auditor.Get("/activity?actor=member%3A" + strconv.FormatInt(w.graceID, 10) + "&action=member.signed_in")
	signIns := rows(r.Body)
	if len(signIns) != 2 {
		t.Fatalf("%d sign-ins of Grace listed, want 2:\n%s", len(signIns), r.Body)
	}
	for i, want := range []string{"Grace Brewster Hopper", "Grace Hopper"} { // newest first
		row := signIns[i]
		// Grace is both who acted and what the event is about; both keep the name of the day.
		if strings.Count(row, ">"+want+"</a>") != 2 || !strings.Contains(row, ">Signed in</td>") || !strings.Contains(row, `<span class="activity-kind">Member</span>`) {
			t.Errorf("row %d does not show %q as actor and target, and “Signed in”:\n%s", i, want, row)
		}
		if strings.Contains(row, ">member.signed_in<") || strings.Contains(row, "Member "+strconv.FormatInt(w.graceID, 10)) {
			t.Errorf("row %d shows a code or an id instead of words:\n%s", i, row)
		}
	}
	// The filter offers actions in words too.
	if !strings.Contains(r.Body, `<option value="member.signed_in" selected>Signed in</option>`) {
		t.Error("the action filter does not offer “Signed in” by its label")
	}

	// A command run on the server is named, as the system.
	r = w.auditor.Get("/activity?actor=system")
	var commandRow string
	for _, row := range rows(r.Body) {
		if strings.Contains(row, "/activity/"+strconv.FormatInt(command.ID, 10)) {
			commandRow = row
		}
	}
	if !strings.Contains(commandRow, "switchboard user reset-password") || !strings.Contains(commandRow, `<span class="activity-kind">System</span>`) ||
		!strings.Contains(commandRow, ">Reset a password</td>") {
		t.Errorf("the command's event row:\n%s", commandRow)
	}
	// The event page gives the words as its title and the code beside them.
	r = w.auditor.Get("/activity/" + strconv.FormatInt(command.ID, 10))
	if !strings.Contains(r.Body, `<h1 class="page-header__title">Reset a password</h1>`) || !strings.Contains(r.Body, `<span class="mono activity-code">member.password_reset</span>`) {
		t.Errorf("event page does not show the label and the code:\n%s", r.Body)
	}
}

// Item 2 on the integrity page: the signed checkpoint vouches for the newest events, and events
// cut off the end with the triggers dropped are reported, though the chain holds together.
func TestActivityIntegrityPageShowsEventsCutOffTheEnd(t *testing.T) {
	w := newActivityWorld(t)
	w.record(t, audit.Event{Actor: audit.System(), Action: "settings.updated"}, audit.Event{Actor: audit.System(), Action: "settings.updated"})
	cp, _, err := w.in.App.AuditCheckpoints.Checkpoint(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	r := w.auditor.Get("/activity/integrity?run=1")
	if !strings.Contains(r.Body, "Signed checkpoints") || !strings.Contains(r.Body, fmt.Sprintf("event %d</a>", cp.EventID)) {
		t.Fatalf("the integrity page does not show the checkpoint:\n%s", r.Body)
	}
	if _, err := w.in.App.DB.W.Exec(`DROP TRIGGER audit_events_no_delete`); err != nil {
		t.Fatal(err)
	}
	if _, err := w.in.App.DB.W.Exec(`DELETE FROM audit_events WHERE id > ?`, cp.EventID-2); err != nil {
		t.Fatal(err)
	}
	r = w.auditor.Get("/activity/integrity?run=1")
	if !strings.Contains(r.Body, "integrity--intact") {
		t.Errorf("the chain itself still holds together after a cut at its end")
	}
	want := fmt.Sprintf("the last 2 events (%d to %d) were removed", cp.EventID-1, cp.EventID)
	if !strings.Contains(r.Body, "The signed checkpoints do not hold") || !strings.Contains(r.Body, want) {
		t.Errorf("the integrity page does not report the cut (%q):\n%s", want, r.Body)
	}
}
