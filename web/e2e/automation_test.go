package e2e

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/switchboard/switchboard/internal/app/apptest"
	"github.com/switchboard/switchboard/internal/authz"
	"github.com/switchboard/switchboard/internal/automation"
	"github.com/switchboard/switchboard/internal/inbox"
	"github.com/switchboard/switchboard/internal/whatsapp"
)

// waitForReply waits until the simulator has received an automated message for the customer
// (automation runs after the webhook has committed), and returns it.
func waitForReply(t *testing.T, in *apptest.Instance, waID string, n int) []string {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		var got []string
		for _, m := range in.Sim.Sent() {
			if m.To == waID && m.Type != "read" && m.Err == nil {
				got = append(got, m.Type+": "+m.Text)
			}
		}
		if len(got) >= n || time.Now().After(deadline) {
			return got
		}
		_ = in.App.Automation.RunOnce(context.Background())
		time.Sleep(100 * time.Millisecond)
	}
}

// An Administrator creates a keyword auto-reply on the Automation page, on a desktop and on a
// phone, and a customer who writes the keyword gets the answer, marked as sent by Automation.
func TestAnAutoReplyRuleCreatedInTheBrowserAnswers(t *testing.T) {
	in := apptest.Start(t)
	in.ConnectSandbox()
	ctx := context.Background()
	admin := in.CreateMember("ada@example.com", "Ada Admin", authz.RoleAdministrator, adminPassword)
	adminP, _, _ := in.App.Members.Store().Principal(ctx, admin.ID)
	if _, err := in.App.Inbox.CreateCanned(ctx, adminP, inbox.CannedInput{Title: "Opening hours",
		Body: "Our shop is open Monday to Saturday, 9:00 to 18:00."}); err != nil {
		t.Fatal(err)
	}
	b := browser(t)
	run(t, b, "desktop width", chromedp.EmulateViewport(1366, 900))
	signIn(t, b, in, "ada@example.com", adminPassword)
	run(t, b, "open auto-replies",
		chromedp.Click(chromedp.CSS(`.sidebar a[href="/automation"]`)),
		chromedp.WaitVisible(chromedp.CSS(`a.tabs__tab[href="/automation/rules"]`)),
		chromedp.Click(chromedp.CSS(`a.tabs__tab[href="/automation/rules"]`)),
		chromedp.WaitVisible(chromedp.CSS("#field-name")),
	)
	// A bad regular expression first: refused with a readable reason, nothing stored.
	run(t, b, "a bad expression",
		chromedp.SendKeys(chromedp.CSS("#field-name"), "Opening hours"),
		chromedp.SetValue(chromedp.CSS("#rule-match"), "regex"),
		chromedp.SendKeys(chromedp.CSS("#field-pattern"), "(open"),
		chromedp.Click(chromedp.CSS(`form[action="/automation/rules"] button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(".alert--error")),
	)
	if s := text(t, b, `form[action="/automation/rules"]`); !strings.Contains(s, "not a valid regular expression") {
		t.Errorf("the refusal does not say why: %q", s)
	}
	run(t, b, "create the rule",
		chromedp.SetValue(chromedp.CSS("#rule-match"), "contains"),
		chromedp.SetValue(chromedp.CSS("#field-pattern"), "opening"),
		chromedp.Click(chromedp.CSS(`form[action="/automation/rules"] button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS("#rules")),
	)
	if s := text(t, b, "#rules"); !strings.Contains(s, "Opening hours") || !strings.Contains(s, "opening") {
		t.Errorf("the new rule is not listed: %q", s)
	}
	screenshot(t, b, "desktop-rules")

	if _, err := in.Sim.CustomerSays(ctx, apptest.SandboxNumberA, "16505551234", "Sheena Nelson", "What are your opening hours?"); err != nil {
		t.Fatal(err)
	}
	if got := waitForReply(t, in, "16505551234", 1); len(got) != 1 || got[0] != "text: Our shop is open Monday to Saturday, 9:00 to 18:00." {
		t.Fatalf("the customer got %q, want the canned reply once", got)
	}
	var conv int64
	if err := in.App.DB.R.QueryRow(`SELECT id FROM conversations`).Scan(&conv); err != nil {
		t.Fatal(err)
	}
	convURL := in.URL + "/conversations/" + strconv.FormatInt(conv, 10)
	run(t, b, "the conversation", chromedp.Navigate(convURL), chromedp.WaitVisible(chromedp.CSS(".message--out")))
	if s := text(t, b, ".message--out"); !strings.Contains(s, "Automation") {
		t.Errorf("the automated answer is not marked as sent by Automation: %q", s)
	}
	screenshot(t, b, "desktop-conversation")

	// On a phone: a rule answering with reply buttons.
	run(t, b, "phone width", chromedp.EmulateViewport(390, 844),
		chromedp.Navigate(in.URL+"/automation/rules"), chromedp.WaitVisible(chromedp.CSS("#field-name")),
		chromedp.SendKeys(chromedp.CSS("#field-name"), "Delivery question"),
		chromedp.SendKeys(chromedp.CSS("#field-pattern"), "deliver"),
		chromedp.Click(chromedp.CSS(`input[name=reply_kind][value=buttons]`)),
		chromedp.SendKeys(chromedp.CSS("#rule-body"), "Where should we deliver?"),
		chromedp.SendKeys(chromedp.CSS("#rule-buttons"), "Home\nWork"),
		chromedp.Click(chromedp.CSS(`form[action="/automation/rules"] button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(".alert--success, .flash")),
	)
	if s := text(t, b, "#rules"); !strings.Contains(s, "Delivery question") {
		t.Errorf("the phone-made rule is not listed: %q", s)
	}
	fitsPhoneWidth(t, b, in.URL+"/automation/rules")
	if _, err := in.Sim.CustomerSays(ctx, apptest.SandboxNumberA, "16505559876", "Ravi Rao", "Do you deliver to Palo Alto?"); err != nil {
		t.Fatal(err)
	}
	if got := waitForReply(t, in, "16505559876", 1); len(got) != 1 || got[0] != whatsapp.TypeInteractive+": Where should we deliver?" {
		t.Errorf("the customer got %q, want the reply buttons", got)
	}
}

// The other Automation pages, filled in, at desktop and phone width: business hours, a welcome
// menu with its preview, teams, and the ratings on a closed conversation and in Analytics.
func TestAutomationPagesAtDesktopAndPhoneWidth(t *testing.T) {
	in := apptest.Start(t)
	in.ConnectSandbox()
	ctx := context.Background()
	admin := in.CreateMember("ada@example.com", "Ada Admin", authz.RoleAdministrator, adminPassword)
	agent := in.CreateMember("alan@example.com", "Alan Agent", authz.RoleAgent, adminPassword)
	p, _, _ := in.App.Members.Store().Principal(ctx, admin.ID)
	agentP, _, _ := in.App.Members.Store().Principal(ctx, agent.ID)
	a := in.App.Automation
	var number int64
	in.App.DB.R.QueryRow(`SELECT id FROM phone_numbers WHERE phone_number_id = ?`, apptest.SandboxNumberA).Scan(&number)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(a.SetAvailable(ctx, agentP, true))
	for _, name := range []string{"sales", "delivery"} {
		_, err := in.App.Inbox.CreateLabel(ctx, p, inbox.LabelInput{Name: name, Color: "yellow"})
		must(err)
	}
	team, err := a.SaveTeam(ctx, p, 0, "Sales", []int64{agent.ID})
	must(err)
	must(a.SaveNumber(ctx, p, number, automation.NumberInput{TimeZone: "America/Los_Angeles",
		Days:     [7]string{"", "09:00-18:00", "09:00-18:00", "09:00-18:00", "09:00-18:00", "09:00-18:00", "10:00-14:00"},
		Holidays: "2026-12-25", AwayEnabled: true, AwayMessage: "We are closed now and answer from 9:00.", AutoAssign: true, RatingEnabled: true}))
	must(a.SaveMenu(ctx, p, number, "Welcome to Lucky Shrub! What can we help you with?", false))
	must(a.AddOption(ctx, p, number, automation.OptionInput{Title: "Buy plants", Reply: "A seller will be with you shortly.",
		TeamID: strconv.FormatInt(team, 10), Label: "sales"}))
	must(a.AddOption(ctx, p, number, automation.OptionInput{Title: "My order", Reply: "What about your order?"}))
	menus, _ := a.Menus(ctx)
	must(a.AddOption(ctx, p, number, automation.OptionInput{ParentID: strconv.FormatInt(menus[0].Options[1].ID, 10),
		Title: "Where is it?", Reply: "We check it for you.", TeamID: strconv.FormatInt(team, 10), Label: "delivery"}))
	must(a.SaveMenu(ctx, p, number, "Welcome to Lucky Shrub! What can we help you with?", true))

	// A customer chooses from the menu, is served, rates the conversation.
	if _, err := in.Sim.CustomerSays(ctx, apptest.SandboxNumberA, "16505551234", "Sheena Nelson", "Hi!"); err != nil {
		t.Fatal(err)
	}
	var menuID string
	for _, m := range in.Sim.Sent() {
		if m.Type == whatsapp.TypeInteractive {
			menuID = m.ID
		}
	}
	if menuID == "" {
		waitForReply(t, in, "16505551234", 1)
		for _, m := range in.Sim.Sent() {
			if m.Type == whatsapp.TypeInteractive {
				menuID = m.ID
			}
		}
	}
	if _, err := in.Sim.CustomerChooses(ctx, menuID, "Buy plants"); err != nil {
		t.Fatal(err)
	}
	got := waitForReply(t, in, "16505551234", 3)
	var conv int64
	in.App.DB.R.QueryRow(`SELECT id FROM conversations`).Scan(&conv)
	must(in.App.Inbox.Close(ctx, agentP, conv))
	got = waitForReply(t, in, "16505551234", len(got)+1)
	var rating string
	for _, m := range in.Sim.Sent() {
		if m.Type == whatsapp.TypeInteractive && strings.Contains(m.Text, "rate") {
			rating = m.ID
		}
	}
	if _, err := in.Sim.CustomerChooses(ctx, rating, "★★★★★ 5"); err != nil {
		t.Fatalf("rate (sent %q): %v", got, err)
	}
	waitForReply(t, in, "16505551234", len(got)+1)
	if _, err := in.Sim.CustomerSays(ctx, apptest.SandboxNumberA, "16505551234", "Sheena Nelson", "Lovely service, thank you!"); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		var n int
		in.App.DB.R.QueryRow(`SELECT count(*) FROM conversation_ratings WHERE comment != ''`).Scan(&n)
		if n == 1 {
			break
		}
		_ = a.RunOnce(ctx)
		time.Sleep(100 * time.Millisecond)
	}

	b := browserFor(t, 240*time.Second)
	run(t, b, "desktop width", chromedp.EmulateViewport(1366, 900))
	signIn(t, b, in, "ada@example.com", adminPassword)
	for _, page := range []struct{ path, wait, name string }{
		{"/automation", "#n" + strconv.FormatInt(number, 10) + "-tz", "hours"},
		{"/automation/menus", ".automation-tree", "menus"},
		{"/automation/teams", "#new-team", "teams"},
		{"/conversations/" + strconv.FormatInt(conv, 10), "#automation-title", "conversation"},
		{"/analytics", "#ratings-title", "analytics"},
	} {
		run(t, b, page.name, chromedp.EmulateViewport(1366, 900), chromedp.Navigate(in.URL+page.path), chromedp.WaitVisible(chromedp.CSS(page.wait)))
		screenshot(t, b, "desktop-"+page.name)
		fitsPhoneWidth(t, b, in.URL+page.path)
	}
	run(t, b, "conversation", chromedp.Navigate(in.URL+"/conversations/"+strconv.FormatInt(conv, 10)), chromedp.WaitVisible(chromedp.CSS("#automation-title")))
	if s := text(t, b, `section[aria-labelledby="automation-title"]`); !strings.Contains(s, "5 of 5") || !strings.Contains(s, "Lovely service") || !strings.Contains(s, "Sales") {
		t.Errorf("the conversation's automation panel: %q", s)
	}
	run(t, b, "analytics", chromedp.Navigate(in.URL+"/analytics"), chromedp.WaitVisible(chromedp.CSS("#ratings-title")))
	if s := text(t, b, "#ratings"); !strings.Contains(s, "5.0 of 5") || !strings.Contains(s, "Alan Agent") {
		t.Errorf("the analytics ratings: %q", s)
	}
	// The agent sets themselves away on their account page.
	signOut(t, b)
	signIn(t, b, in, "alan@example.com", adminPassword)
	run(t, b, "account", chromedp.Navigate(in.URL+"/account"), chromedp.WaitVisible(chromedp.CSS("#availability-title")),
		chromedp.Click(chromedp.CSS(`form[action="/account/availability"] button`)),
		// The badge is on the page before the click too: wait for the answer's grey one.
		chromedp.WaitVisible(chromedp.CSS("#availability-status.badge--grey")))
	if s := text(t, b, "#availability-status"); s != "Away" {
		t.Errorf("availability after setting away: %q", s)
	}
	fitsPhoneWidth(t, b, in.URL+"/account")
}
