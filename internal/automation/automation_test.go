package automation_test

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/analytics"
	"github.com/switchboard/switchboard/internal/app/apptest"
	"github.com/switchboard/switchboard/internal/audit"
	"github.com/switchboard/switchboard/internal/authz"
	"github.com/switchboard/switchboard/internal/automation"
	"github.com/switchboard/switchboard/internal/consent"
	"github.com/switchboard/switchboard/internal/inbox"
	"github.com/switchboard/switchboard/internal/whatsapp"
	"github.com/switchboard/switchboard/internal/whatsapp/simulator"
)

const password = "a long and unguessable passphrase"

// fixture is a running Switchboard with the sandbox connected and an Administrator.
type fixture struct {
	t     *testing.T
	in    *apptest.Instance
	ctx   context.Context
	admin *authz.Principal
	numA  int64
	numB  int64
}

func start(t *testing.T) *fixture {
	t.Helper()
	in := apptest.Start(t)
	in.ConnectSandbox()
	f := &fixture{t: t, in: in, ctx: context.Background()}
	m := in.CreateMember("admin@example.com", "Ada Admin", authz.RoleAdministrator, password)
	f.admin = f.principal(m.ID)
	for meta, into := range map[string]*int64{apptest.SandboxNumberA: &f.numA, apptest.SandboxNumberB: &f.numB} {
		if err := in.App.DB.R.QueryRow(`SELECT id FROM phone_numbers WHERE phone_number_id = ?`, meta).Scan(into); err != nil {
			t.Fatal(err)
		}
	}
	return f
}

func (f *fixture) principal(id int64) *authz.Principal {
	f.t.Helper()
	p, _, err := f.in.App.Members.Store().Principal(f.ctx, id)
	if err != nil {
		f.t.Fatal(err)
	}
	return p
}

// closedNow is a week whose only open day is three days from today: the number is closed now.
func closedNow(now time.Time) [7]string {
	var days [7]string
	days[(int(now.UTC().Weekday())+3)%7] = "09:00-17:00"
	return days
}

// says plays a customer writing to number A and waits until automation has worked on it.
func (f *fixture) says(waID, name, text string) {
	f.t.Helper()
	if _, err := f.in.Sim.CustomerSays(f.ctx, apptest.SandboxNumberA, waID, name, text); err != nil {
		f.t.Fatal(err)
	}
	f.settle()
}

// settle runs automation until nothing is left to do (the app's own worker runs as well; runs
// take turns).
func (f *fixture) settle() {
	f.t.Helper()
	if err := f.in.App.Automation.RunOnce(f.ctx); err != nil {
		f.t.Fatal(err)
	}
}

// sentTo is what the simulator received for customer waID, message sends only.
func (f *fixture) sentTo(waID string) []simulator.SentMessage {
	var out []simulator.SentMessage
	for _, m := range f.in.Sim.Sent() {
		if m.To == waID && m.Type != "read" && m.Err == nil {
			out = append(out, m)
		}
	}
	return out
}

func (f *fixture) conversation(waID string) int64 {
	f.t.Helper()
	var id int64
	if err := f.in.App.DB.R.QueryRow(`SELECT c.id FROM conversations c JOIN contacts ct ON ct.id = c.contact_id WHERE ct.wa_id = ?`, waID).Scan(&id); err != nil {
		f.t.Fatalf("conversation of %s: %v", waID, err)
	}
	return id
}

func (f *fixture) count(query string, args ...any) int {
	f.t.Helper()
	var n int
	if err := f.in.App.DB.R.QueryRow(query, args...).Scan(&n); err != nil {
		f.t.Fatal(err)
	}
	return n
}

func (f *fixture) events(action string) []audit.Event {
	f.t.Helper()
	events, _, err := f.in.App.Audit.List(f.ctx, audit.ListQuery{Filter: audit.Filter{Action: action}, Limit: 500})
	if err != nil {
		f.t.Fatal(err)
	}
	return events
}

func TestAwayMessageIsSentOncePerConversationOutsideBusinessHours(t *testing.T) {
	f := start(t)
	err := f.in.App.Automation.SaveNumber(f.ctx, f.admin, f.numA, automation.NumberInput{TimeZone: "Europe/Berlin",
		Days: closedNow(f.in.Clock.Now()), AwayEnabled: true, AwayMessage: "We are closed now and answer from 9:00."})
	if err != nil {
		t.Fatal(err)
	}
	f.says("16505551234", "Sheena Nelson", "Hello?")
	f.says("16505551234", "Sheena Nelson", "Anyone there?")
	f.says("4915112341234", "Jonas Weber", "Hallo")

	for waID, want := range map[string]int{"16505551234": 1, "4915112341234": 1} {
		got := f.sentTo(waID)
		if len(got) != want || got[0].Text != "We are closed now and answer from 9:00." {
			t.Errorf("%s received %d automated messages %+v, want the away message once", waID, len(got), got)
		}
	}
	// Marked as Automation's, in the conversation and in the activity log.
	conv := f.conversation("16505551234")
	if n := f.count(`SELECT count(*) FROM messages m JOIN automation_messages a ON a.message_id = m.id
		WHERE m.conversation_id = ? AND m.sent_by IS NULL AND m.wamid IS NOT NULL`, conv); n != 1 {
		t.Errorf("%d messages marked as automated in the conversation, want 1", n)
	}
	sent := 0
	for _, e := range f.events("message.sent") {
		if e.Actor.Name == "Automation" && e.Actor.Type == audit.ActorSystem {
			sent++
		}
	}
	if sent != 2 {
		t.Errorf("%d message.sent events by Automation, want 2 (one per conversation)", sent)
	}
	// Inside the hours, no away message.
	if err := f.in.App.Automation.SaveNumber(f.ctx, f.admin, f.numA, automation.NumberInput{TimeZone: "UTC",
		Days:        [7]string{"00:00-24:00", "00:00-24:00", "00:00-24:00", "00:00-24:00", "00:00-24:00", "00:00-24:00", "00:00-24:00"},
		AwayEnabled: true, AwayMessage: "Closed."}); err != nil {
		t.Fatal(err)
	}
	f.says("16505550000", "Open Hours", "Hi")
	if got := f.sentTo("16505550000"); len(got) != 0 {
		t.Errorf("an away message inside business hours: %+v", got)
	}
}

func TestBusinessHoursFormRefusesBadInputAndChangesNothing(t *testing.T) {
	f := start(t)
	for _, in := range []automation.NumberInput{
		{TimeZone: "Mars/Olympus"},
		{TimeZone: "UTC", Days: [7]string{"17:00-09:00"}},
		{TimeZone: "UTC", Holidays: "25.12.2026"},
		{TimeZone: "UTC", Days: closedNow(time.Now()), AwayEnabled: true},
	} {
		var fe automation.FieldErrors
		if err := f.in.App.Automation.SaveNumber(f.ctx, f.admin, f.numA, in); !errors.As(err, &fe) {
			t.Errorf("%+v: %v, want a field error", in, err)
		}
	}
	if n := f.count(`SELECT count(*) FROM automation_numbers`); n != 0 {
		t.Errorf("refused settings stored %d rows", n)
	}
	// Without automation.manage: refused, recorded, nothing stored.
	m := f.in.CreateMember("agent@example.com", "Alan Agent", authz.RoleAgent, password)
	err := f.in.App.Automation.SaveNumber(f.ctx, f.principal(m.ID), f.numA, automation.NumberInput{TimeZone: "UTC"})
	if !errors.Is(err, automation.ErrForbidden) {
		t.Errorf("an Agent saves automation settings: %v", err)
	}
	if n := f.count(`SELECT count(*) FROM automation_numbers`); n != 0 {
		t.Error("the refused change was stored")
	}
}

func TestKeywordRulesAnswerByPriorityMatchAndActiveHours(t *testing.T) {
	f := start(t)
	ib := f.in.App.Inbox
	hours, err := ib.CreateCanned(f.ctx, f.admin, inbox.CannedInput{Title: "Hours", Body: "We are open 9:00–17:00, Monday to Friday."})
	if err != nil {
		t.Fatal(err)
	}
	other, err := ib.CreateCanned(f.ctx, f.admin, inbox.CannedInput{Title: "Other", Body: "A less important answer."})
	if err != nil {
		t.Fatal(err)
	}
	a := f.in.App.Automation
	for _, r := range []automation.RuleInput{
		{Name: "Opening hours", Match: "contains", Pattern: "open", Priority: "10", ReplyKind: "canned", CannedID: itoa(hours.ID)},
		{Name: "Generic", Match: "contains", Pattern: "open", Priority: "50", ReplyKind: "canned", CannedID: itoa(other.ID)},
		{Name: "Order number", Match: "regex", Pattern: `^order\s+#?\d{4,}$`, Priority: "20", ReplyKind: "buttons",
			Body: "Do you want to track or change this order?", Buttons: "Track it\nChange it"},
		{Name: "Exact hello", Match: "exact", Pattern: "hello", Priority: "30", ReplyKind: "canned", CannedID: itoa(other.ID),
			PhoneNumberID: itoa(f.numB)},
	} {
		if _, err := a.CreateRule(f.ctx, f.admin, r); err != nil {
			t.Fatalf("%s: %v", r.Name, err)
		}
	}
	f.says("16505551234", "Sheena Nelson", "When are you OPEN?")
	f.says("16505551235", "Ravi Rao", "order #48213")
	f.says("16505551236", "Mia Chen", "hello") // the exact rule is for number B only

	if got := f.sentTo("16505551234"); len(got) != 1 || got[0].Text != "We are open 9:00–17:00, Monday to Friday." {
		t.Errorf("the higher-priority rule should answer once: %+v", got)
	}
	got := f.sentTo("16505551235")
	if len(got) != 1 || got[0].Type != whatsapp.TypeInteractive || len(got[0].Message.Interactive.Action.Buttons) != 2 {
		t.Fatalf("the regular expression rule should answer with two reply buttons: %+v", got)
	}
	if got := f.sentTo("16505551236"); len(got) != 0 {
		t.Errorf("a rule of number B answered on number A: %+v", got)
	}
	// A rule outside its active hours does not answer.
	now := f.in.Clock.Now().UTC()
	from, to := now.Add(2*time.Hour).Format("15:04"), now.Add(3*time.Hour).Format("15:04")
	if _, err := a.CreateRule(f.ctx, f.admin, automation.RuleInput{Name: "Later", Match: "exact", Pattern: "later",
		Priority: "1", ActiveFrom: from, ActiveTo: to, ReplyKind: "canned", CannedID: itoa(other.ID)}); err != nil {
		t.Fatal(err)
	}
	f.says("16505551237", "Kim Lee", "later")
	if got := f.sentTo("16505551237"); len(got) != 0 {
		t.Errorf("a rule answered outside its active hours: %+v", got)
	}
	// Bad input: a clear error, nothing stored.
	before := f.count(`SELECT count(*) FROM automation_rules`)
	for _, bad := range []automation.RuleInput{
		{Name: "Broken", Match: "regex", Pattern: "(unclosed", ReplyKind: "canned", CannedID: itoa(other.ID)},
		{Name: "Too many", Match: "contains", Pattern: "x", ReplyKind: "buttons", Body: "b", Buttons: strings.Repeat("a\n", 11)},
		{Name: "", Match: "contains", Pattern: "x", ReplyKind: "canned", CannedID: itoa(other.ID)},
	} {
		var fe automation.FieldErrors
		if _, err := a.CreateRule(f.ctx, f.admin, bad); !errors.As(err, &fe) {
			t.Errorf("%+v: %v, want a field error", bad, err)
		}
	}
	if n := f.count(`SELECT count(*) FROM automation_rules`); n != before {
		t.Errorf("refused rules were stored")
	}
	if n := len(f.events("automation.rule_created")); n != 5 {
		t.Errorf("%d rule_created events, want 5", n)
	}
}

func TestAutoAssignmentIsRoundRobinAmongAvailableMembersWhoSeeTheConversationUnderTheLimit(t *testing.T) {
	f := start(t)
	a := f.in.App.Automation
	anna := f.in.CreateMember("anna@example.com", "Anna", authz.RoleAgent, password)
	ben := f.in.CreateMember("ben@example.com", "Ben", authz.RoleAgent, password)
	away := f.in.CreateMember("cleo@example.com", "Cleo", authz.RoleAgent, password)
	berlin := f.in.CreateMember("dora@example.com", "Dora", authz.RoleAgent, password)
	analyst := f.in.CreateMember("eve@example.com", "Eve", authz.RoleAnalyst, password)
	if err := f.in.App.Members.SetNumberScope(f.ctx, f.admin, berlin.ID, false, []int64{f.numB}); err != nil {
		t.Fatal(err)
	}
	for _, m := range []int64{anna.ID, ben.ID, berlin.ID, analyst.ID} {
		if err := a.SetAvailable(f.ctx, f.principal(m), true); err != nil {
			t.Fatal(err)
		}
	}
	if err := a.SetAvailable(f.ctx, f.principal(away.ID), false); err != nil {
		t.Fatal(err)
	}
	if err := a.SaveNumber(f.ctx, f.admin, f.numA, automation.NumberInput{TimeZone: "UTC", AutoAssign: true, AssignLimit: "2"}); err != nil {
		t.Fatal(err)
	}
	customers := []string{"16505550001", "16505550002", "16505550003", "16505550004", "16505550005"}
	for _, c := range customers {
		f.says(c, "Customer "+c[len(c)-1:], "Hi, I need help")
	}
	var got []string
	for _, c := range customers {
		var name string
		f.in.App.DB.R.QueryRow(`SELECT coalesce(m.name, '-') FROM conversations c LEFT JOIN members m ON m.id = c.assignee_id WHERE c.id = ?`,
			f.conversation(c)).Scan(&name)
		got = append(got, name)
	}
	if want := "Anna Ben Anna Ben -"; strings.Join(got, " ") != want {
		t.Errorf("assignments %q, want %q: round robin among Anna and Ben (Cleo is away, Dora does not see number A, "+
			"Eve, an Analyst, cannot answer), two each, the fifth waits", strings.Join(got, " "), want)
	}
	n := 0
	for _, e := range f.events("conversation.assigned") {
		if e.Actor.Name == "Automation" {
			n++
		}
	}
	if n != 4 {
		t.Errorf("%d assignments by Automation in the activity log, want 4", n)
	}
	if n := len(f.events("member.availability_changed")); n != 5 {
		t.Errorf("%d availability changes recorded, want 5", n)
	}
}

func TestButtonMenuChoiceLabelsAndRoutesToATeam(t *testing.T) {
	f := start(t)
	a := f.in.App.Automation
	sales1 := f.in.CreateMember("sam@example.com", "Sam Sales", authz.RoleAgent, password)
	sales2 := f.in.CreateMember("sue@example.com", "Sue Sales", authz.RoleAgent, password)
	support := f.in.CreateMember("tom@example.com", "Tom Support", authz.RoleAgent, password)
	for _, m := range []int64{sales1.ID, sales2.ID, support.ID} {
		if err := a.SetAvailable(f.ctx, f.principal(m), true); err != nil {
			t.Fatal(err)
		}
	}
	salesTeam, err := a.SaveTeam(f.ctx, f.admin, 0, "Sales", []int64{sales1.ID, sales2.ID})
	if err != nil {
		t.Fatal(err)
	}
	supportTeam, err := a.SaveTeam(f.ctx, f.admin, 0, "Support", []int64{support.ID})
	if err != nil {
		t.Fatal(err)
	}
	if err := a.SaveNumber(f.ctx, f.admin, f.numA, automation.NumberInput{TimeZone: "UTC", AutoAssign: true}); err != nil {
		t.Fatal(err)
	}
	if err := a.SaveMenu(f.ctx, f.admin, f.numA, "Welcome to Lucky Shrub! What can we do for you?", false); err != nil {
		t.Fatal(err)
	}
	for _, o := range []automation.OptionInput{
		{Title: "Buy plants", Reply: "Great, a seller will be with you shortly.", TeamID: itoa(salesTeam), Label: "sales"},
		{Title: "Help with an order", Reply: "What about your order?"},
	} {
		if err := a.AddOption(f.ctx, f.admin, f.numA, o); err != nil {
			t.Fatal(err)
		}
	}
	menus, _ := a.Menus(f.ctx)
	orderID := menus[0].Options[1].ID
	if err := a.AddOption(f.ctx, f.admin, f.numA, automation.OptionInput{ParentID: itoa(orderID), Title: "Where is it?",
		Reply: "Our support team will track it for you.", TeamID: itoa(supportTeam), Label: "support"}); err != nil {
		t.Fatal(err)
	}
	if err := a.SaveMenu(f.ctx, f.admin, f.numA, "Welcome to Lucky Shrub! What can we do for you?", true); err != nil {
		t.Fatal(err)
	}

	// The welcome menu; the customer taps "Buy plants" (a signed webhook with a button_reply).
	f.says("16505551234", "Sheena Nelson", "Hi")
	sent := f.sentTo("16505551234")
	if len(sent) != 1 || sent[0].Type != whatsapp.TypeInteractive {
		t.Fatalf("the welcome menu was not sent: %+v", sent)
	}
	conv := f.conversation("16505551234")
	if n := f.count(`SELECT count(*) FROM conversations WHERE id = ? AND assignee_id IS NULL`, conv); n != 1 {
		t.Error("assigned before the customer chose")
	}
	if _, err := f.in.Sim.CustomerChooses(f.ctx, sent[0].ID, "Buy plants"); err != nil {
		t.Fatal(err)
	}
	f.settle()
	var assignee int64
	f.in.App.DB.R.QueryRow(`SELECT coalesce(assignee_id, 0) FROM conversations WHERE id = ?`, conv).Scan(&assignee)
	if assignee != sales1.ID && assignee != sales2.ID {
		t.Errorf("the Sales choice assigned member %d, want a member of Sales", assignee)
	}
	team, label, err := a.RoutedTo(f.ctx, conv)
	if err != nil || team != "Sales" || label != "sales" {
		t.Errorf("routed to %q, labelled %q (%v); want Sales, sales", team, label, err)
	}
	if sent := f.sentTo("16505551234"); len(sent) != 2 || sent[1].Text != "Great, a seller will be with you shortly." {
		t.Errorf("the choice's reply: %+v", sent)
	}
	// A second level: "Help with an order" opens its choices (a list), "Where is it?" routes to Support.
	f.says("16505559999", "Ravi Rao", "Hello")
	menu := f.sentTo("16505559999")[0]
	if _, err := f.in.Sim.CustomerChooses(f.ctx, menu.ID, "Help with an order"); err != nil {
		t.Fatal(err)
	}
	f.settle()
	sub := f.sentTo("16505559999")
	if len(sub) != 2 || sub[1].Type != whatsapp.TypeInteractive || sub[1].Text != "What about your order?" {
		t.Fatalf("the second level was not sent: %+v", sub)
	}
	if _, err := f.in.Sim.CustomerChooses(f.ctx, sub[1].ID, "Where is it?"); err != nil {
		t.Fatal(err)
	}
	f.settle()
	f.in.App.DB.R.QueryRow(`SELECT coalesce(assignee_id, 0) FROM conversations WHERE id = ?`, f.conversation("16505559999")).Scan(&assignee)
	if assignee != support.ID {
		t.Errorf("Where is it? assigned member %d, want Tom of Support", assignee)
	}
	if n := len(f.events("automation.routed")); n != 3 {
		t.Errorf("%d routing events, want 3", n)
	}
}

func TestARatingAfterClosingLandsOnTheConversationAndInAnalytics(t *testing.T) {
	f := start(t)
	a := f.in.App.Automation
	if err := a.SaveNumber(f.ctx, f.admin, f.numA, automation.NumberInput{TimeZone: "UTC", RatingEnabled: true}); err != nil {
		t.Fatal(err)
	}
	agent := f.in.CreateMember("anna@example.com", "Anna Agent", authz.RoleAgent, password)
	f.says("16505551234", "Sheena Nelson", "My order is late")
	conv := f.conversation("16505551234")
	if err := f.in.App.Inbox.Assign(f.ctx, f.admin, conv, agent.ID); err != nil {
		t.Fatal(err)
	}
	if err := f.in.App.Inbox.Close(f.ctx, f.principal(agent.ID), conv); err != nil {
		t.Fatal(err)
	}
	f.settle()
	sent := f.sentTo("16505551234")
	if len(sent) != 1 || sent[0].Type != whatsapp.TypeInteractive || len(sent[0].Message.Interactive.Action.Sections[0].Rows) != 5 {
		t.Fatalf("the rating request: %+v", sent)
	}
	if _, err := f.in.Sim.CustomerChooses(f.ctx, sent[0].ID, "★★★★ 4"); err != nil {
		t.Fatal(err)
	}
	f.settle()
	f.says("16505551234", "Sheena Nelson", "Quick and friendly, thanks!")

	ratings, err := a.Ratings(f.ctx, f.admin, conv)
	if err != nil || len(ratings) != 1 || ratings[0].Score != 4 || ratings[0].Comment != "Quick and friendly, thanks!" || ratings[0].AssigneeName != "Anna Agent" {
		t.Fatalf("ratings on the conversation: %+v %v", ratings, err)
	}
	if n := f.count(`SELECT count(*) FROM conversations WHERE id = ? AND status = 'closed'`, conv); n != 1 {
		t.Error("the customer's rating left the conversation open")
	}
	// The agent is not shown their own rating; their supervisors are.
	if r, _ := a.Ratings(f.ctx, f.principal(agent.ID), conv); len(r) != 0 {
		t.Error("the rated agent sees the rating on the conversation")
	}
	// Analytics.
	period, err := analytics.ParsePeriod(analytics.Preset7, "", "", time.UTC, f.in.Clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	rep, err := f.in.App.Analytics.Ratings(f.ctx, f.admin, period, 0)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Asked != 1 || rep.Rated != 1 || rep.Average != 4 || rep.ByScore[4] != 1 || len(rep.Agents) != 1 ||
		rep.Agents[0].Name != "Anna Agent" || len(rep.Comments) != 1 {
		t.Errorf("analytics ratings: %+v", rep)
	}
	// No thank-you loop: the request, the thanks, nothing for the comment.
	if got := f.sentTo("16505551234"); len(got) != 2 {
		t.Errorf("%d automated messages, want the request and the thanks: %+v", len(got), got)
	}
	if n := len(f.events("automation.rating_received")); n != 1 {
		t.Errorf("%d rating events, want 1", n)
	}
}

func TestAutomationNeverSendsOutsideTheWindowNorToAnOptedOutContact(t *testing.T) {
	f := start(t)
	a := f.in.App.Automation
	canned, err := f.in.App.Inbox.CreateCanned(f.ctx, f.admin, inbox.CannedInput{Title: "Price", Body: "Our prices are on the website."})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.CreateRule(f.ctx, f.admin, automation.RuleInput{Name: "Price", Match: "contains", Pattern: "price",
		ReplyKind: "canned", CannedID: itoa(canned.ID)}); err != nil {
		t.Fatal(err)
	}
	if err := a.SaveNumber(f.ctx, f.admin, f.numA, automation.NumberInput{TimeZone: "UTC", RatingEnabled: true}); err != nil {
		t.Fatal(err)
	}
	// Opted out: the rule matches, nothing is sent, the skip is recorded.
	if _, err := f.in.Sim.CustomerSays(f.ctx, apptest.SandboxNumberA, "16505551234", "Sheena Nelson", "hi"); err != nil {
		t.Fatal(err)
	}
	contact := 0
	f.in.App.DB.R.QueryRow(`SELECT id FROM contacts WHERE wa_id = '16505551234'`).Scan(&contact)
	if _, err := f.in.App.Consent.Set(f.ctx, int64(contact), "Ada Admin", consent.Change{Status: consent.StatusOptedOut, Source: consent.SourceConversation}); err != nil {
		t.Fatal(err)
	}
	f.says("16505551234", "Sheena Nelson", "what is the price?")
	if got := f.sentTo("16505551234"); len(got) != 0 {
		t.Errorf("automation wrote to an opted-out contact: %+v", got)
	}
	// Outside the window: closed 25 hours after the customer's last message, no rating request.
	f.says("16505550002", "Ravi Rao", "thanks, all good")
	conv := f.conversation("16505550002")
	f.in.Clock.Advance(25 * time.Hour)
	if err := f.in.App.Inbox.Close(f.ctx, f.admin, conv); err != nil {
		t.Fatal(err)
	}
	f.settle()
	for _, m := range f.sentTo("16505550002") {
		t.Errorf("automation wrote outside the 24-hour window: %+v", m)
	}
	skipped := map[string]int{}
	for _, e := range f.events("automation.reply_skipped") {
		for _, c := range e.Changes {
			if c.Field == "reason" {
				skipped[strings.SplitN(c.After.(string), ":", 2)[0]]++
			}
		}
	}
	if skipped["The customer opted out"] != 1 || skipped["The 24-hour window is closed"] != 1 {
		t.Errorf("skips recorded: %v", skipped)
	}
}

func TestARestartNeitherLosesNorRepeatsAnAutomatedReply(t *testing.T) {
	f := start(t)
	a := f.in.App.Automation
	canned, err := f.in.App.Inbox.CreateCanned(f.ctx, f.admin, inbox.CannedInput{Title: "Hi", Body: "Hello! How can we help?"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.CreateRule(f.ctx, f.admin, automation.RuleInput{Name: "Hi", Match: "exact", Pattern: "hi",
		ReplyKind: "canned", CannedID: itoa(canned.ID)}); err != nil {
		t.Fatal(err)
	}
	f.says("16505551234", "Sheena Nelson", "hi")
	// As if the process died after planning but before noticing: the cursor goes back, the
	// messages are read again, and the dedupe key keeps the reply single.
	if _, err := f.in.App.DB.W.Exec(`UPDATE automation_state SET message_cursor = 0`); err != nil {
		t.Fatal(err)
	}
	f.settle()
	if got := f.sentTo("16505551234"); len(got) != 1 {
		t.Errorf("%d replies after reading the messages again, want 1", len(got))
	}
	// A job claimed ("sending") when the process died is not sent again after a restart.
	if _, err := f.in.App.DB.W.Exec(`INSERT INTO automation_jobs (conversation_id, kind, dedupe, payload, state, created_at, updated_at)
		VALUES (?, 'keyword', 'crash-test', '{"text":"x"}', 'sending', 0, 0)`, f.conversation("16505551234")); err != nil {
		t.Fatal(err)
	}
	if err := a.Recover(f.ctx); err != nil {
		t.Fatal(err)
	}
	f.settle()
	var state string
	f.in.App.DB.R.QueryRow(`SELECT state FROM automation_jobs WHERE dedupe = 'crash-test'`).Scan(&state)
	if state != "interrupted" {
		t.Errorf("the interrupted job is %q, want interrupted", state)
	}
	if got := f.sentTo("16505551234"); len(got) != 1 {
		t.Errorf("%d messages after the restart, want still 1", len(got))
	}
	// Webhooks committed while automation is not running are answered when it runs: nothing lost.
	if _, err := f.in.Sim.CustomerSays(f.ctx, apptest.SandboxNumberA, "16505557777", "Late Customer", "hi"); err != nil {
		t.Fatal(err)
	}
	f.settle()
	if got := f.sentTo("16505557777"); len(got) != 1 {
		t.Errorf("%d replies for the message that arrived meanwhile, want 1", len(got))
	}
}

func itoa(id int64) string { return strconv.FormatInt(id, 10) }
