package web_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/switchboard/switchboard/internal/analytics/analyticsgen"
	"github.com/switchboard/switchboard/internal/app/apptest"
	"github.com/switchboard/switchboard/internal/authz"
	"github.com/switchboard/switchboard/internal/whatsapp"
)

func rateCount(t *testing.T, in *apptest.Instance) (n int) {
	t.Helper()
	if err := in.App.DB.R.QueryRow(`SELECT count(*) FROM billing_rates`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func auditCount(t *testing.T, in *apptest.Instance, action string) (n int) {
	t.Helper()
	if err := in.App.DB.R.QueryRow(`SELECT count(*) FROM audit_events WHERE action = ?`, action).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// The rate card: billing.manage edits it and every change is in the activity log; bad input
// is refused with a readable message; billing.view alone (or no billing permission) cannot
// change it; the usage table prices billable messages with it.
func TestRateCardChangesAreAuditedAndPriced(t *testing.T) {
	in := apptest.Start(t)
	in.ConnectSandbox()
	if _, err := analyticsgen.Generate(context.Background(), in.App.DB, analyticsgen.Options{Conversations: 300, Days: 20, Now: in.Clock.Now(), Seed: 9}); err != nil {
		t.Fatal(err)
	}
	admin, adminC := signedIn(t, in, "admin@example.com", authz.RoleAdministrator)
	viewers := customRole(t, in, admin, "Finance viewers", authz.BillingView)
	in.CreateMember("fin@example.com", "Fin Viewer", viewers.Key, ownerPassword)
	finC := in.Client()
	finC.SignIn("fin@example.com", ownerPassword)
	_, analystC := signedIn(t, in, "ana@example.com", authz.RoleAnalyst)

	page := adminC.Get("/usage")
	if page.Status != http.StatusOK || !strings.Contains(page.Body, "marketing") || !strings.Contains(page.Body, "Set a rate") {
		t.Fatalf("usage page: %d", page.Status)
	}
	today := in.Clock.Now().Format("2006-01-02")
	good := url.Values{"category": {"marketing"}, "country": {"*"}, "currency": {"USD"}, "price": {"0.0250"}, "effective_from": {"2020-01-01"}}

	before, audited := rateCount(t, in), auditCount(t, in, "billing.rate_set")
	for who, c := range map[string]*apptest.Client{"billing.view only": finC, "analyst": analystC} {
		if r := c.PostForm("/usage/rates", good); r.Status != http.StatusForbidden {
			t.Fatalf("%s set a rate: %d", who, r.Status)
		}
	}
	bad := url.Values{"category": {"marketing"}, "country": {"Germany"}, "currency": {"dollars"}, "price": {"-1"}, "effective_from": {today}}
	if r := adminC.PostForm("/usage/rates", bad); r.Status != http.StatusUnprocessableEntity || !strings.Contains(r.Body, "two-letter country code") ||
		!strings.Contains(r.Body, "three-letter currency code") || !strings.Contains(r.Body, "price of one message") {
		t.Fatalf("bad rate: %d", r.Status)
	}
	if rateCount(t, in) != before || auditCount(t, in, "billing.rate_set") != audited {
		t.Fatal("a refused rate changed the card or the log")
	}

	if r := adminC.PostForm("/usage/rates", good); r.Status != http.StatusSeeOther {
		t.Fatalf("set rate: %d %.300s", r.Status, r.Body)
	}
	if auditCount(t, in, "billing.rate_set") != audited+1 {
		t.Fatal("the rate change is not in the activity log")
	}
	var changes string
	in.App.DB.R.QueryRow(`SELECT changes FROM audit_events WHERE action = 'billing.rate_set' ORDER BY id DESC LIMIT 1`).Scan(&changes)
	if !strings.Contains(changes, "0.0250") || !strings.Contains(changes, "marketing") {
		t.Fatalf("audited changes: %s", changes)
	}
	// Marketing messages delivered this month are priced at 0.025 each.
	var billable int64
	in.App.DB.R.QueryRow(`SELECT count(*) FROM message_statuses WHERE billable = 1 AND pricing_category = 'marketing'
		AND at >= ?`, monthStart(in)).Scan(&billable)
	page = finC.Get("/usage")
	if page.Status != http.StatusOK || strings.Contains(page.Body, "Set a rate") {
		t.Fatalf("billing.view page: %d, offers the form: %v", page.Status, strings.Contains(page.Body, "Set a rate"))
	}
	if billable > 0 && !strings.Contains(page.Body, "USD ") {
		t.Fatal("no estimated cost shown")
	}
	if r := analystC.Get("/usage"); r.Status != http.StatusForbidden {
		t.Fatalf("analyst usage page: %d", r.Status)
	}
}

func monthStart(in *apptest.Instance) int64 {
	n := in.Clock.Now().UTC()
	return n.AddDate(0, 0, 1-n.Day()).Truncate(24 * 60 * 60 * 1e9).UnixMilli()
}

// Cloud API usage on the Usage page: calls per endpoint and their error rate equal the call
// log's, and the number scope holds: a member who sees one number sees only that number's
// calls (not the other's, not the account's templates sync), on the page and in the CSV.
func TestCloudAPIUsageFiguresAndScope(t *testing.T) {
	in := apptest.Start(t)
	in.ConnectSandbox()
	ctx := context.Background()
	type num struct {
		id     int64
		metaID string
	}
	var nums []num
	rows, err := in.App.DB.R.Query(`SELECT id, phone_number_id FROM phone_numbers ORDER BY id LIMIT 2`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var n num
		rows.Scan(&n.id, &n.metaID)
		nums = append(nums, n)
	}
	rows.Close()
	if len(nums) != 2 {
		t.Fatalf("sandbox numbers: %v", nums)
	}
	var waba string
	in.App.DB.R.QueryRow(`SELECT waba_id FROM wabas ORDER BY id LIMIT 1`).Scan(&waba)
	record := func(method, path string, status, n int) {
		for range n {
			in.App.CloudAPICalls.Record(ctx, whatsapp.Call{At: in.Clock.Now(), Method: method, Path: path, Status: status})
		}
	}
	record("POST", "/v21.0/"+nums[0].metaID+"/messages", 200, 7)
	record("POST", "/v21.0/"+nums[0].metaID+"/messages", 400, 3)
	record("POST", "/v21.0/"+nums[1].metaID+"/messages", 200, 4)
	record("POST", "/v21.0/"+nums[1].metaID+"/messages", 0, 1)
	record("GET", "/v21.0/"+waba+"/message_templates?fields=name&limit=100", 200, 2)
	record("GET", "/v21.0/"+waba+"/message_templates?fields=name&limit=100", 500, 1)
	if err := in.App.CloudAPICalls.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	// The call log itself, counted directly.
	count := func(cond string, args ...any) (calls, failed int64) {
		t.Helper()
		if err := in.App.DB.R.QueryRow(`SELECT count(*), coalesce(sum(status NOT BETWEEN 200 AND 299), 0) FROM cloud_api_calls WHERE `+cond,
			args...).Scan(&calls, &failed); err != nil {
			t.Fatal(err)
		}
		return
	}
	admin, adminC := signedIn(t, in, "admin@example.com", authz.RoleAdministrator)
	finance := customRole(t, in, admin, "Number finance", authz.BillingView, authz.ReportsExport)
	scoped := in.CreateMember("fin@example.com", "Fin Scoped", finance.Key, ownerPassword)
	if _, err := in.App.DB.W.Exec(`UPDATE members SET all_numbers = 0 WHERE id = ?`, scoped.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := in.App.DB.W.Exec(`INSERT INTO member_numbers (member_id, phone_number_id) VALUES (?, ?)`, scoped.ID, nums[1].id); err != nil {
		t.Fatal(err)
	}
	scopedC := in.Client()
	scopedC.SignIn("fin@example.com", ownerPassword)

	find := func(rows [][]string, number, endpoint string) []string {
		for _, r := range rows[1:] {
			if strings.Contains(r[0], number) && r[1] == endpoint {
				return r
			}
		}
		return nil
	}
	numberName := func(id int64) string {
		var s string
		in.App.DB.R.QueryRow(`SELECT display_phone_number FROM phone_numbers WHERE id = ?`, id).Scan(&s)
		return s
	}
	all := readCSV(t, adminC.Get("/usage/export/cloud-api.csv"))
	for _, n := range nums {
		calls, failed := count(`method = 'POST' AND path = ?`, "/v21.0/"+n.metaID+"/messages")
		r := find(all, numberName(n.id), "POST /{phone-number-id}/messages")
		if r == nil || r[2] != fmt.Sprint(calls) || r[3] != fmt.Sprint(failed) {
			t.Fatalf("number %d messages: row %v, call log %d calls %d failed", n.id, r, calls, failed)
		}
	}
	calls, failed := count(`path LIKE ?`, "/v21.0/"+waba+"/message_templates%")
	if r := find(all, "Account", "GET /{id}/message_templates"); r == nil || r[2] != fmt.Sprint(calls) || r[3] != fmt.Sprint(failed) {
		t.Fatalf("templates sync: row %v, call log %d calls %d failed", r, calls, failed)
	}
	total, totalFailed := count(`1 = 1`)
	if foot := all[len(all)-1]; foot[0] != "All" || foot[2] != fmt.Sprint(total) || foot[3] != fmt.Sprint(totalFailed) {
		t.Fatalf("totals %v, call log %d calls %d failed", foot, total, totalFailed)
	}
	page := adminC.Get("/usage")
	if page.Status != http.StatusOK || !strings.Contains(page.Body, "Cloud API usage") || !strings.Contains(page.Body, fmt.Sprint(total)) {
		t.Fatalf("usage page: %d", page.Status)
	}

	// The member of the second number: its calls only.
	mine := readCSV(t, scopedC.Get("/usage/export/cloud-api.csv"))
	other := numberName(nums[0].id)
	for _, r := range mine[1:] {
		if strings.Contains(r[0], other) || strings.Contains(r[0], "Account") || strings.Contains(r[1], "message_templates") {
			t.Fatalf("the scoped member sees %v", r)
		}
	}
	myCalls, myFailed := count(`path LIKE ?`, "/v21.0/"+nums[1].metaID+"/%")
	var gotCalls, gotFailed int64
	for _, r := range mine[1:] {
		if r[0] == "All" {
			continue
		}
		var c, f int64
		fmt.Sscan(r[2], &c)
		fmt.Sscan(r[3], &f)
		gotCalls, gotFailed = gotCalls+c, gotFailed+f
	}
	if gotCalls != myCalls || gotFailed != myFailed || myFailed == 0 {
		t.Fatalf("scoped member: %d calls %d failed, call log %d/%d", gotCalls, gotFailed, myCalls, myFailed)
	}
	page = scopedC.Get("/usage")
	if page.Status != http.StatusOK || strings.Contains(page.Body, other) || strings.Contains(page.Body, "message_templates") {
		t.Fatalf("scoped usage page: %d, names the other number: %v", page.Status, strings.Contains(page.Body, other))
	}
	// billing.view without reports.export sees the table but may not download it.
	viewers := customRole(t, in, admin, "Billing viewers", authz.BillingView)
	in.CreateMember("view@example.com", "Vi Ewer", viewers.Key, ownerPassword)
	viewC := in.Client()
	viewC.SignIn("view@example.com", ownerPassword)
	if r := viewC.Get("/usage"); r.Status != http.StatusOK || strings.Contains(r.Body, "/usage/export/cloud-api.csv") {
		t.Fatalf("billing.view only: page %d, offers the CSV: %v", r.Status, strings.Contains(r.Body, "/usage/export/cloud-api.csv"))
	}
	if r := viewC.Get("/usage/export/cloud-api.csv"); r.Status != http.StatusForbidden {
		t.Fatalf("billing.view only: CSV %d", r.Status)
	}
	// Without billing.view: refused, page and CSV.
	_, analystC := signedIn(t, in, "ana@example.com", authz.RoleAnalyst)
	for _, path := range []string{"/usage", "/usage/export/cloud-api.csv"} {
		if r := analystC.Get(path); r.Status != http.StatusForbidden {
			t.Fatalf("analyst %s: %d", path, r.Status)
		}
	}
}
