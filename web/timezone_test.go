package web_test

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/analytics"
	"github.com/switchboard/switchboard/internal/app/apptest"
	"github.com/switchboard/switchboard/internal/authz"
	"github.com/switchboard/switchboard/internal/consent"
)

func setZone(t *testing.T, c *apptest.Client, zone string) {
	t.Helper()
	if r := c.PostForm("/account/time-zone", url.Values{"time_zone": {zone}}); r.Status != http.StatusSeeOther {
		t.Fatalf("set time zone %s: %d %.300s", zone, r.Status, r.Body)
	}
}

// A member chooses their own zone on the account page; the change is in the activity log; a
// zone time.LoadLocation does not know is refused with a readable message and changes nothing.
func TestMemberChoosesTheirTimeZone(t *testing.T) {
	in := apptest.Start(t)
	m, c := signedIn(t, in, "kiran@example.com", authz.RoleAgent)
	page := c.Get("/account")
	if page.Status != http.StatusOK || !strings.Contains(page.Body, `name="time_zone"`) || !strings.Contains(page.Body, "data-browser-zone") {
		t.Fatalf("account page offers no time zone: %d", page.Status)
	}
	setZone(t, c, "Asia/Kolkata")
	zone := func() string {
		var z string
		in.App.DB.R.QueryRow(`SELECT time_zone FROM members WHERE id = ?`, m.ID).Scan(&z)
		return z
	}
	events := func() int {
		var n int
		in.App.DB.R.QueryRow(`SELECT count(*) FROM audit_events WHERE action = 'member.time_zone_changed' AND target_id = ?`,
			strconv.FormatInt(m.ID, 10)).Scan(&n)
		return n
	}
	if zone() != "Asia/Kolkata" || events() != 1 {
		t.Fatalf("zone %q, %d events", zone(), events())
	}
	if r := c.Get("/account"); !strings.Contains(r.Body, `<option value="Asia/Kolkata" selected>`) || strings.Contains(r.Body, "data-browser-zone") {
		t.Error("the account page does not show the chosen zone")
	}
	for _, bad := range []string{"Mars/Olympus_Mons", "Local", "", "../../etc/passwd", strings.Repeat("A", 300)} {
		r := c.PostForm("/account/time-zone", url.Values{"time_zone": {bad}})
		if r.Status != http.StatusBadRequest || !strings.Contains(r.Body, "Choose a time zone from the list") {
			t.Errorf("zone %.20q: %d, want 400 with the reason", bad, r.Status)
		}
	}
	if zone() != "Asia/Kolkata" || events() != 1 {
		t.Fatalf("a refused zone changed something: zone %q, %d events", zone(), events())
	}
	// Without the CSRF token the change is refused.
	if r := c.PostFormRaw("/account/time-zone", url.Values{"time_zone": {"Europe/Berlin"}}); r.Status != http.StatusForbidden || zone() != "Asia/Kolkata" {
		t.Errorf("without CSRF: %d, zone %q", r.Status, zone())
	}
}

// A campaign scheduled for 09:00 by a member in Asia/Kolkata starts at 03:30 UTC; a member in
// America/Los_Angeles and one in Europe/Berlin each read that start in their own zone.
func TestCampaignStartIsReadInTheCreatorsZoneAndShownInTheViewers(t *testing.T) {
	in := apptest.Start(t)
	in.ConnectSandbox()
	sale := approvedTemplate(t, in, "spring_sale", "MARKETING", "Spring sale: 20% off every plant this week.")
	ctx := context.Background()
	if _, err := in.Sim.CustomerSays(ctx, apptest.SandboxNumberA, "491511234560", "Sheena Nelson", "Hello"); err != nil {
		t.Fatal(err)
	}
	var contact int64
	in.App.DB.R.QueryRow(`SELECT id FROM contacts WHERE wa_id = ?`, "491511234560").Scan(&contact)
	if _, err := in.App.Consent.Set(ctx, contact, "Admin", consent.Change{Status: consent.StatusOptedIn, Source: consent.SourceForm, Text: "Yes"}); err != nil {
		t.Fatal(err)
	}
	var number int64
	in.App.DB.R.QueryRow(`SELECT id FROM phone_numbers WHERE phone_number_id = ?`, apptest.SandboxNumberA).Scan(&number)
	_, author := signedIn(t, in, "priya@example.com", authz.RoleAdministrator)
	_, la := signedIn(t, in, "lena@example.com", authz.RoleAdministrator)
	_, berlin := signedIn(t, in, "bernd@example.com", authz.RoleAdministrator)
	setZone(t, author, "Asia/Kolkata")
	setZone(t, la, "America/Los_Angeles")
	setZone(t, berlin, "Europe/Berlin")

	if r := author.Get("/campaigns/new"); !strings.Contains(r.Body, `<option value="Asia/Kolkata" selected>`) {
		t.Error("the campaign form does not start in the author's zone")
	}
	day := in.Clock.Now().AddDate(0, 0, 10).Format("2006-01-02")
	// The form's zone field left out: the time is read in the author's own zone.
	r := author.PostForm("/campaigns", url.Values{"name": {"Diwali sale"}, "template": {sale},
		"phone_number": {strconv.FormatInt(number, 10)}, "start_at": {day + "T09:00"}})
	if r.Status != http.StatusSeeOther {
		t.Fatalf("create: %d %s", r.Status, r.Body)
	}
	var startMs int64
	var tz string
	in.App.DB.R.QueryRow(`SELECT start_at, time_zone FROM campaigns WHERE name = 'Diwali sale'`).Scan(&startMs, &tz)
	start := time.UnixMilli(startMs).UTC()
	if got := start.Format("2006-01-02 15:04"); got != day+" 03:30" || tz != "Asia/Kolkata" {
		t.Fatalf("09:00 in Kolkata stored as %s UTC (%s), want %s 03:30", got, tz, day)
	}
	page := r.Location()
	for _, v := range []struct {
		c    *apptest.Client
		zone string
	}{{author, "Asia/Kolkata"}, {la, "America/Los_Angeles"}, {berlin, "Europe/Berlin"}} {
		loc, _ := time.LoadLocation(v.zone)
		want := start.In(loc).Format("2 Jan 2006 15:04") + " " + v.zone
		if r := v.c.Get(page); !strings.Contains(r.Body, want) {
			t.Errorf("%s does not read the start as %q on the campaign page", v.zone, want)
		}
		if r := v.c.Get("/campaigns"); !strings.Contains(r.Body, want) {
			t.Errorf("%s does not read the start as %q in the list", v.zone, want)
		}
	}
	// The activity log reads in the viewer's zone too, without a tz in the URL.
	if r := author.Get("/activity"); !strings.Contains(r.Body, "Times in Asia/Kolkata.") {
		t.Error("the activity log is not shown in the viewer's zone")
	}
	if r := author.Get("/activity?tz=UTC"); strings.Contains(r.Body, "Times in Asia/Kolkata.") || !strings.Contains(r.Body, "tz=UTC") {
		t.Error("an explicit UTC does not win on the activity log")
	}
	// Los Angeles is still on the day before: 09:00 Kolkata is 19:30 there, the evening before.
	if r := la.Get(page); !strings.Contains(r.Body, "19:30 America/Los_Angeles") || !strings.Contains(r.Body, "09:00 Asia/Kolkata") {
		t.Error("the Los Angeles viewer does not see both their time and the author's wording")
	}
}

// "Today" on the Analytics page of a member in America/Los_Angeles is that member's day, from
// their midnight to the next, with the figures of those hours.
func TestAnalyticsTodayIsTheViewersDay(t *testing.T) {
	w := newAnalyticsWorld(t)
	setZone(t, w.allC, "America/Los_Angeles")
	la, _ := time.LoadLocation("America/Los_Angeles")
	now := w.in.Clock.Now()
	p, err := analytics.ParsePeriod(analytics.PresetToday, "", "", la, now)
	if err != nil {
		t.Fatal(err)
	}
	if want := time.Date(now.In(la).Year(), now.In(la).Month(), now.In(la).Day(), 0, 0, 0, 0, la); !p.Start.Equal(want) {
		t.Fatalf("period starts %s, want %s", p.Start, want)
	}
	var sent int64
	w.in.App.DB.R.QueryRow(`SELECT count(*) FROM messages WHERE direction = 'out' AND created_at >= ? AND created_at < ?`,
		p.Start.UnixMilli(), p.End.UnixMilli()).Scan(&sent)
	page := w.allC.Get("/analytics?range=today")
	if page.Status != http.StatusOK {
		t.Fatalf("page: %d", page.Status)
	}
	if want := now.In(la).Format("Mon 2 Jan 2006") + " (America/Los_Angeles)"; !strings.Contains(page.Body, want) {
		t.Errorf("the range is not named %q", want)
	}
	if !strings.Contains(page.Body, `<span class="stat__value">`+strconv.FormatInt(sent, 10)+`</span>`) {
		t.Errorf("the page does not say %d messages sent in the Los Angeles day", sent)
	}
	// An explicit tz in the URL (a shared link) still wins over the member's own.
	if r := w.allC.Get("/analytics?range=today&tz=UTC"); !strings.Contains(r.Body, now.Format("Mon 2 Jan 2006")+" (UTC)") {
		t.Error("an explicit zone in the URL does not win")
	}
}

// The inbox shows message times in the viewer's zone.
func TestConversationTimesInTheViewersZone(t *testing.T) {
	in := apptest.Start(t)
	in.ConnectSandbox()
	ctx := context.Background()
	if _, err := in.Sim.CustomerSays(ctx, apptest.SandboxNumberA, "491511234567", "Sheena Nelson", "Hello"); err != nil {
		t.Fatal(err)
	}
	_, c := signedIn(t, in, "tokyo@example.com", authz.RoleAdministrator)
	setZone(t, c, "Asia/Tokyo")
	var id, at int64
	in.App.DB.R.QueryRow(`SELECT conversation_id, created_at FROM messages ORDER BY id LIMIT 1`).Scan(&id, &at)
	tokyo, _ := time.LoadLocation("Asia/Tokyo")
	want := time.UnixMilli(at).In(tokyo).Format("2 Jan 15:04")
	if r := c.Get("/conversations/" + strconv.FormatInt(id, 10)); !strings.Contains(r.Body, want) {
		t.Errorf("the message time is not shown as %s (Tokyo)", want)
	}
}

// The pages that list when things happened (members' last sign-in, the account's sessions, API
// keys) show it in the viewer's zone, named, as the inbox and the activity log do.
func TestMemberPagesShowTimesInTheViewersZone(t *testing.T) {
	in := apptest.Start(t)
	admin, c := signedIn(t, in, "tokyo@example.com", authz.RoleAdministrator)
	var signedInAt int64
	if err := in.App.DB.R.QueryRow(`SELECT last_sign_in_at FROM members WHERE id = ?`, admin.ID).Scan(&signedInAt); err != nil {
		t.Fatal(err)
	}
	at := time.UnixMilli(signedInAt)
	utc := at.UTC().Format("2 Jan 2006 15:04") + " UTC"
	if r := c.Get("/members"); !strings.Contains(r.Body, utc) {
		t.Fatalf("before a zone is chosen the members page does not show the sign-in as %s", utc)
	}
	setZone(t, c, "Asia/Tokyo")
	tokyo, _ := time.LoadLocation("Asia/Tokyo")
	want := at.In(tokyo).Format("2 Jan 2006 15:04") + " Asia/Tokyo"
	for _, path := range []string{"/members", "/account"} {
		r := c.Get(path)
		if !strings.Contains(r.Body, want) {
			t.Errorf("%s does not show the sign-in as %s", path, want)
		}
		if strings.Contains(r.Body, utc) {
			t.Errorf("%s still shows %s", path, utc)
		}
	}
}
