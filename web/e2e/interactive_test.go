package e2e

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"github.com/switchboard/switchboard/internal/app/apptest"
	"github.com/switchboard/switchboard/internal/authz"
	"github.com/switchboard/switchboard/internal/automation"
	"github.com/switchboard/switchboard/internal/inbox"
	"github.com/switchboard/switchboard/internal/whatsapp"
)

// A conversation with an automated welcome menu (reply buttons), the customer's choice and a
// list message, at desktop and phone width: every button title and list row is on the page as
// text, and nothing scrolls sideways.
func TestConversationShowsMenusAndListsAtBothWidths(t *testing.T) {
	in := apptest.Start(t)
	in.ConnectSandbox()
	ctx := context.Background()
	admin := in.CreateMember("ada@example.com", "Ada Admin", authz.RoleAdministrator, adminPassword)
	p, _, _ := in.App.Members.Store().Principal(ctx, admin.ID)
	a := in.App.Automation
	var number int64
	in.App.DB.R.QueryRow(`SELECT id FROM phone_numbers WHERE phone_number_id = ?`, apptest.SandboxNumberA).Scan(&number)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	const welcome = "Welcome to Lucky Shrub! What can we help you with?"
	must(a.SaveMenu(ctx, p, number, welcome, false))
	for _, title := range []string{"Buy plants", "My order", "Plant care"} {
		must(a.AddOption(ctx, p, number, automation.OptionInput{Title: title, Reply: "Thanks, one of us will answer in a minute."}))
	}
	must(a.SaveMenu(ctx, p, number, welcome, true))
	const wa = "16505551234"
	if _, err := in.Sim.CustomerSays(ctx, apptest.SandboxNumberA, wa, "Sheena Nelson", "Hi!"); err != nil {
		t.Fatal(err)
	}
	waitForReply(t, in, wa, 1)
	var menu string
	for _, m := range in.Sim.Sent() {
		if m.Type == whatsapp.TypeInteractive {
			menu = m.ID
		}
	}
	if _, err := in.Sim.CustomerChooses(ctx, menu, "My order"); err != nil {
		t.Fatal(err)
	}
	waitForReply(t, in, wa, 2)
	var conv int64
	in.App.DB.R.QueryRow(`SELECT id FROM conversations`).Scan(&conv)
	_, err := in.App.Inbox.SendAutomated(ctx, conv, inbox.AutomatedMessage{Kind: "test", Interactive: &whatsapp.InteractiveMessage{
		Header: "Lucky Shrub", Body: "Which delivery suits you best for your order?", Footer: "Prices include VAT",
		ListButton: "Delivery options", Sections: []whatsapp.ListSection{
			{Title: "Today", Rows: []whatsapp.ListRow{{ID: "express", Title: "Express courier", Description: "Within 3 hours, €9.90"}}},
			{Title: "Later", Rows: []whatsapp.ListRow{{ID: "standard", Title: "Standard", Description: "2 to 3 working days, free over €40"},
				{ID: "pickup", Title: "Pick up in store"}}},
		}}}, nil)
	must(err)

	b := browserFor(t, 180*time.Second)
	signIn(t, b, in, "ada@example.com", adminPassword)
	run(t, b, "conversation", chromedp.Navigate(in.URL+"/conversations/"+strconv.FormatInt(conv, 10)),
		chromedp.WaitVisible(chromedp.CSS("[data-list-button]")))
	buttons := text(t, b, ".message__buttons")
	for _, title := range []string{"Buy plants", "My order", "Plant care"} {
		if !strings.Contains(buttons, title) {
			t.Errorf("the menu's buttons read %q, missing %q", buttons, title)
		}
	}
	if s := text(t, b, "[data-chose]"); !strings.Contains(s, "Chose:") || !strings.Contains(s, "My order") {
		t.Errorf("the customer's choice reads %q", s)
	}
	if n := count(t, b, ".message__interactive button, .message__interactive a"); n != 0 {
		t.Errorf("%d controls inside interactive messages: the options must not look pressable", n)
	}
	if n := count(t, b, "[data-row]"); n != 3 {
		t.Errorf("%d list rows, want 3", n)
	}
	run(t, b, "scroll to the list", chromedp.ScrollIntoView(chromedp.CSS("[data-list-button]")))
	atBothWidths(t, b, "interactive")
}

// A member with no zone chosen gets the browser's zone preselected on the account page, saves
// it, and sees it chosen afterwards (phone and desktop).
func TestAccountTimeZoneStartsFromTheBrowsersZone(t *testing.T) {
	in := apptest.Start(t)
	in.CreateMember("priya@example.com", "Priya Patel", authz.RoleAgent, adminPassword)
	b := browser(t)
	if _, err := chromedp.Call(b, emulation.SetTimezoneOverride, emulation.SetTimezoneOverrideParams{TimezoneID: "Asia/Kolkata"}); err != nil {
		t.Fatal(err)
	}
	signIn(t, b, in, "priya@example.com", adminPassword)
	run(t, b, "account page", chromedp.Navigate(in.URL+"/account"), chromedp.WaitVisible(chromedp.CSS("#field-time_zone")))
	if v := value(t, b, "#field-time_zone"); v != "Asia/Kolkata" {
		t.Fatalf("the zone select starts at %q, want the browser's Asia/Kolkata", v)
	}
	run(t, b, "save", chromedp.ScrollIntoView(chromedp.CSS("#field-time_zone")))
	atBothWidths(t, b, "account-zone")
	run(t, b, "save the zone", chromedp.Click(chromedp.CSS(`form[action="/account/time-zone"] button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(".flash, [role=status]")))
	var zone string
	in.App.DB.R.QueryRow(`SELECT time_zone FROM members WHERE email = 'priya@example.com'`).Scan(&zone)
	if zone != "Asia/Kolkata" {
		t.Fatalf("saved zone %q", zone)
	}
	if n := count(t, b, "select[data-browser-zone]"); n != 0 {
		t.Error("the browser's zone still overrides a saved choice")
	}
}

// Pages that list when things happened show it in the member's own zone, named; the longest
// zone names still fit a phone.
func TestMemberPagesInALongZoneFitAPhone(t *testing.T) {
	in := apptest.Start(t)
	ada := in.CreateMember("ada@example.com", "Ada Admin", authz.RoleAdministrator, adminPassword)
	in.CreateMember("grace@example.com", "Grace Hopper", authz.RoleAgent, adminPassword)
	const zone = "America/Argentina/Buenos_Aires"
	if err := in.App.Members.SetTimeZone(context.Background(), ada.ID, zone); err != nil {
		t.Fatal(err)
	}
	b := browser(t)
	signIn(t, b, in, "ada@example.com", adminPassword)
	for _, page := range []struct{ path, name string }{{"/members", "members-zone"}, {"/account", "account-zone-named"}} {
		run(t, b, "open "+page.path, chromedp.Navigate(in.URL+page.path), chromedp.WaitVisible(chromedp.CSS("main")))
		if body := text(t, b, "main"); !strings.Contains(body, zone) {
			t.Errorf("%s does not name %s beside its times", page.path, zone)
		}
		atBothWidths(t, b, page.name)
	}
}
