package e2e

import (
	"context"
	"encoding/csv"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/switchboard/switchboard/internal/app/apptest"
	"github.com/switchboard/switchboard/internal/audit"
	"github.com/switchboard/switchboard/internal/authz"
)

const auditorPassword = "ledger of quiet afternoons"

// An auditor filters the activity log to one member, sees the filter kept in the address,
// exports what the page shows, opens an event, follows its target, and checks the chain; then
// the same pages on a phone.
func TestActivityFilterExportAndVerify(t *testing.T) {
	in := apptest.Start(t)
	in.CreateMember("ada@example.com", "Ada Lovelace", authz.RoleAdministrator, "analytical engine notes")
	grace := in.CreateMember("grace@example.com", "Grace Hopper", authz.RoleAgent, "compiler for everyone")
	in.CreateMember("alan@example.com", "Alan Turing", authz.RoleAuditor, auditorPassword)
	seedActivity(t, in, grace.ID)

	ctx := browser(t)
	signIn(t, ctx, in, "alan@example.com", auditorPassword)
	run(t, ctx, "open activity", chromedp.EmulateViewport(1366, 900),
		chromedp.Click(chromedp.CSS(`.sidebar a[href="/activity"]`)),
		chromedp.WaitVisible(chromedp.CSS(".activity-table")),
	)
	screenshot(t, ctx, "list")
	if body := text(t, ctx, ".activity-table"); !strings.Contains(body, "<script>") || !strings.Contains(body, "↵Mallory") {
		t.Errorf("the hostile name is not shown as text: %q", body)
	}

	graceValue := "member:" + strconv.FormatInt(grace.ID, 10)
	run(t, ctx, "filter to Grace's sign-ins",
		chromedp.SetValue(chromedp.CSS("#field-actor"), graceValue),
		chromedp.SetValue(chromedp.CSS("#field-action"), "group:signin"),
		chromedp.Click(chromedp.CSS(".activity-filter button[type=submit]")),
	)
	// SetValue fires "change", which the form also answers: the actor-only answer can arrive
	// first, so wait for the one that carries both filters.
	waitFor(t, ctx, "the filtered results", func() bool {
		loc, _ := chromedp.Run(ctx, chromedp.Location())
		return strings.Contains(loc, "actor=member%3A"+strconv.FormatInt(grace.ID, 10)) && strings.Contains(loc, "action=group%3Asignin") &&
			!strings.Contains(rows(t, ctx), "Ada Lovelace")
	})
	screenshot(t, ctx, "filtered")
	shown := rows(t, ctx)
	// Three sign-in events of Grace's (she is their actor and their target), no message.
	if strings.Count(shown, ", event ") != 3 || strings.Count(shown, "Grace Hopper") != 6 || strings.Contains(shown, "Sent a message") {
		t.Errorf("filtered rows:\n%s", shown)
	}

	// The export link carries the filter; fetched with the auditor's own sign-in it holds the
	// rows on the page, and the export is on record.
	href, err := chromedp.Run(ctx, chromedp.AttributeValue(chromedp.CSS(`a[href^="/activity/export?"][href*="format=csv"]`), "href"))
	if err != nil || !href.Exists {
		t.Fatalf("export link: %v", err)
	}
	u, _ := url.Parse(href.Value)
	if u.Query().Get("actor") != graceValue || u.Query().Get("action") != "group:signin" {
		t.Errorf("export link %q does not carry the filter", href.Value)
	}
	c := in.Client()
	c.SignIn("alan@example.com", auditorPassword)
	resp := c.Get(href.Value)
	records, err := csv.NewReader(strings.NewReader(resp.Body)).ReadAll()
	if resp.Status != 200 || err != nil {
		t.Fatalf("export: %d %v\n%s", resp.Status, err, resp.Body)
	}
	// The last record is the signed checkpoint the export ends with.
	if last := records[len(records)-1]; last[0] != "#checkpoint" {
		t.Errorf("the export does not end with its checkpoint: %q", last)
	} else {
		records = records[:len(records)-1]
	}
	if len(records) != 1+3 {
		t.Errorf("export holds %d rows, the page shows 3:\n%s", len(records)-1, resp.Body)
	}
	for _, r := range records[1:] {
		if r[4] != "Grace Hopper" {
			t.Errorf("exported a row by %q", r[4])
		}
	}
	if rep, err := audit.VerifyExport(strings.NewReader(resp.Body)); err != nil || !rep.Intact {
		t.Errorf("exported file does not verify: %+v %v", rep, err)
	}

	run(t, ctx, "open the newest event",
		chromedp.Click(chromedp.CSS(".activity-table tbody tr:first-child td:first-child a")),
		chromedp.WaitVisible(chromedp.CSS(".activity-diff, #changes-title")),
	)
	screenshot(t, ctx, "event")
	if h, sub := text(t, ctx, ".page-header__title"), text(t, ctx, ".page-header__subtitle"); h != "Signed in" || !strings.Contains(sub, "member.signed_in") {
		t.Errorf("event page heading %q, subtitle %q: want the action in words and its code", h, sub)
	}
	run(t, ctx, "follow the member",
		chromedp.Click(chromedp.CSS(".activity-follow")),
		chromedp.WaitVisible(chromedp.CSS(".activity-table")),
	)
	if body := rows(t, ctx); strings.Contains(body, "Ada Lovelace") || !strings.Contains(body, "Grace Hopper") {
		t.Errorf("following the member shows:\n%s", body)
	}

	run(t, ctx, "check integrity",
		chromedp.Click(chromedp.CSS(`.page-header__actions a[href^="/activity/integrity"]`)),
		chromedp.WaitVisible(chromedp.CSS(".integrity--intact")),
	)
	if h := text(t, ctx, ".integrity__title"); !strings.HasPrefix(h, "Intact up to event") {
		t.Errorf("integrity verdict %q", h)
	}
	screenshot(t, ctx, "integrity")

	run(t, ctx, "on a phone", chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile),
		chromedp.Navigate(in.URL+"/activity?action=group%3Asignin&tz=Europe%2FBerlin"),
		chromedp.WaitVisible(chromedp.CSS(".activity-table")),
	)
	screenshot(t, ctx, "phone-list")
	wide, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.documentElement.scrollWidth > window.innerWidth + 1`))
	if err != nil || wide {
		t.Errorf("the page is wider than a 390 px phone (%v): only the table may scroll sideways", err)
	}
	run(t, ctx, "event on a phone",
		chromedp.Click(chromedp.CSS(".activity-table tbody tr:first-child td:first-child a")),
		chromedp.WaitVisible(chromedp.CSS("#chain-title")),
	)
	screenshot(t, ctx, "phone-event")

	// The newest events cut off with the triggers dropped: the chain holds, the checkpoint tells.
	cp, _, err := in.App.AuditCheckpoints.Checkpoint(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := in.App.DB.W.Exec(`DROP TRIGGER audit_events_no_delete`); err != nil {
		t.Fatal(err)
	}
	if _, err := in.App.DB.W.Exec(`DELETE FROM audit_events WHERE id > ?`, cp.EventID-3); err != nil {
		t.Fatal(err)
	}
	run(t, ctx, "integrity after a cut", chromedp.EmulateViewport(1366, 900),
		chromedp.Navigate(in.URL+"/activity/integrity"),
		chromedp.WaitVisible(chromedp.CSS("#anchor-title")),
	)
	if h := text(t, ctx, "#anchor-title"); h != "The signed checkpoints do not hold" {
		t.Errorf("checkpoint verdict after a cut: %q", h)
	}
	screenshot(t, ctx, "integrity-cut")
	run(t, ctx, "integrity after a cut on a phone", chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile),
		chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS("#anchor-title")))
	screenshot(t, ctx, "phone-integrity-cut")
}

// An administrator keeps events for 30 days, then prunes what is older; the chain still checks.
func TestActivityRetentionAndPrune(t *testing.T) {
	in := apptest.Start(t)
	in.CreateMember("ada@example.com", "Ada Lovelace", authz.RoleAdministrator, "analytical engine notes")
	grace := in.CreateMember("grace@example.com", "Grace Hopper", authz.RoleAgent, "compiler for everyone")
	seedActivity(t, in, grace.ID)
	ctx := browser(t)
	signIn(t, ctx, in, "ada@example.com", "analytical engine notes")
	run(t, ctx, "open retention",
		chromedp.Navigate(in.URL+"/activity"),
		chromedp.WaitVisible(chromedp.CSS(".activity-table")),
	)
	screenshot(t, ctx, "dashboard-like-list")
	run(t, ctx, "keep 30 days",
		chromedp.Click(chromedp.CSS(`.page-header__actions a[href^="/activity/retention"]`)),
		chromedp.WaitVisible(chromedp.CSS("#field-days")),
		chromedp.Click(chromedp.CSS(`input[name=keep][value=days]`)),
		chromedp.Clear(chromedp.CSS("#field-days")),
		chromedp.SendKeys(chromedp.CSS("#field-days"), "30"),
		chromedp.Click(chromedp.CSS(`form[action="/activity/retention"] button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(".alert")),
	)
	if msg := text(t, ctx, ".alert"); !strings.Contains(msg, "kept for 30 days") {
		t.Errorf("confirmation %q", msg)
	}
	in.Clock.Advance(40 * 24 * time.Hour)
	signIn(t, ctx, in, "ada@example.com", "analytical engine notes")
	run(t, ctx, "see what would be pruned",
		chromedp.Navigate(in.URL+"/activity/retention"),
		chromedp.WaitVisible(chromedp.CSS(`form[action="/activity/retention/prune"]`)),
	)
	screenshot(t, ctx, "retention")
	run(t, ctx, "prune",
		chromedp.Click(chromedp.CSS(`form[action="/activity/retention/prune"] button`)),
		chromedp.WaitVisible(chromedp.CSS(".alert")),
	)
	if msg := text(t, ctx, ".alert"); !strings.Contains(msg, "Deleted") {
		t.Errorf("prune result %q", msg)
	}
	screenshot(t, ctx, "pruned")
	run(t, ctx, "check integrity",
		chromedp.Navigate(in.URL+"/activity/integrity"),
		chromedp.WaitVisible(chromedp.CSS(".integrity--intact")),
	)
	screenshot(t, ctx, "integrity-after-pruning")
	run(t, ctx, "a filter with no match",
		chromedp.Navigate(in.URL+"/activity?action=template.approved"),
		chromedp.WaitVisible(chromedp.CSS(".empty-state")),
	)
	screenshot(t, ctx, "empty")
}

// A member whose role lacks audit.view has no Activity link and is refused at the page.
func TestActivityRefusedWithoutAuditView(t *testing.T) {
	in := apptest.Start(t)
	in.CreateMember("grace@example.com", "Grace Hopper", authz.RoleAgent, "compiler for everyone")
	ctx := browser(t)
	signIn(t, ctx, in, "grace@example.com", "compiler for everyone")
	n, err := chromedp.Run(ctx, chromedp.Nodes(chromedp.CSS(`a[href="/activity"]`), chromedp.AtLeast(0)))
	if err != nil || len(n) != 0 {
		t.Errorf("an agent is offered the activity log (%v)", err)
	}
	run(t, ctx, "open activity anyway",
		chromedp.Navigate(in.URL+"/activity"),
		chromedp.WaitVisible(chromedp.CSS(".empty-state__title")),
	)
	if h := text(t, ctx, ".empty-state__title"); h != "Not allowed" {
		t.Errorf("heading %q, want the refusal", h)
	}
}

func seedActivity(t *testing.T, in *apptest.Instance, graceID int64) {
	t.Helper()
	ctx := audit.WithRequest(context.Background(), audit.Request{ClientAddr: "203.0.113.9", UserAgent: "Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0", RequestID: "01JQ7Z8Y6X5W4V3T2S1R0QPNMK"})
	grace := audit.MemberActor(graceID, "Grace Hopper")
	evs := []audit.Event{
		{Actor: grace, Action: "member.signed_in", Target: audit.NewTarget("member", graceID)},
		{Actor: grace, Action: "message.sent", Target: audit.NewTarget("conversation", 42), Changes: []audit.Change{{Field: "template", After: "order_update"}}},
		{Actor: audit.MemberActor(99, "<script>alert(1)</script>\nMallory"), Action: "member.updated", Target: audit.NewTarget("member", graceID),
			Changes: []audit.Change{{Field: "role", Before: "Agent", After: "Administrator"}}},
		{Actor: grace, Action: "member.signed_out", Target: audit.NewTarget("member", graceID)},
		{Actor: audit.Anonymous(), Action: "member.sign_in_failed", Outcome: audit.OutcomeFailed, Changes: []audit.Change{{Field: "email", After: "grace@example.com"}}},
		{Actor: grace, Action: "access.denied", Outcome: audit.OutcomeDenied, Target: audit.Target{Type: "route", ID: "GET /members"}},
		{Actor: audit.SystemActor("switchboard user reset-password"), Action: "member.password_reset", Target: audit.NewTarget("member", graceID)},
		{Actor: grace, Action: "member.signed_in", Target: audit.NewTarget("member", graceID)},
	}
	for _, ev := range evs {
		in.Clock.Advance(7 * time.Minute)
		if _, err := in.App.Audit.Record(ctx, ev); err != nil {
			t.Fatal(err)
		}
	}
}

// rows reads the text of the events table's body, or "" when there is none.
func rows(t *testing.T, ctx context.Context) string {
	t.Helper()
	// One read in the page itself: htmx may swap the table between a lookup and a read.
	s, err := chromedp.Run(ctx, chromedp.Evaluate[string](`(document.querySelector(".activity-table tbody") || {}).innerText || ""`))
	if err != nil {
		return ""
	}
	return s
}

// waitFor polls cond for a few seconds: htmx swaps the results without a navigation to wait on.
func waitFor(t *testing.T, ctx context.Context, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); {
		if cond() {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	screenshot(t, ctx, "failed-wait")
	t.Fatalf("waiting for %s: gave up", what)
}
