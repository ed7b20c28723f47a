package web_test

import (
	"context"
	"html"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/app/apptest"
	"github.com/switchboard/switchboard/internal/authz"
	"github.com/switchboard/switchboard/internal/automation"
	"github.com/switchboard/switchboard/internal/inbox"
	"github.com/switchboard/switchboard/internal/whatsapp"
)

// interactiveSent waits until automation has sent n interactive messages to waID and returns
// the simulator's record of them.
func interactiveSent(t *testing.T, in *apptest.Instance, waID string, n int) []string {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		var ids []string
		for _, m := range in.Sim.Sent() {
			if m.To == waID && m.Type == whatsapp.TypeInteractive && m.Err == nil {
				ids = append(ids, m.ID)
			}
		}
		if len(ids) >= n {
			return ids
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d interactive messages sent to %s, want %d", len(ids), waID, n)
		}
		_ = in.App.Automation.RunOnce(context.Background())
		time.Sleep(50 * time.Millisecond)
	}
}

// The conversation shows an automated menu as the customer saw it, with every reply button, and
// the customer's answer as the option they chose; a list shows its button, sections, rows and
// descriptions, with the header and footer.
func TestConversationShowsInteractiveMessagesAsTheCustomerSawThem(t *testing.T) {
	in := apptest.Start(t)
	in.ConnectSandbox()
	ctx := context.Background()
	admin, c := signedIn(t, in, "ada@example.com", authz.RoleAdministrator)
	p, _, err := in.App.Members.Store().Principal(ctx, admin.ID)
	if err != nil {
		t.Fatal(err)
	}
	a := in.App.Automation
	var number int64
	in.App.DB.R.QueryRow(`SELECT id FROM phone_numbers WHERE phone_number_id = ?`, apptest.SandboxNumberA).Scan(&number)
	const welcome = "Welcome to Lucky Shrub! What can we help you with?"
	titles := []string{"Buy plants", "My order", "Plant care"}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(a.SaveMenu(ctx, p, number, welcome, false))
	for _, title := range titles {
		must(a.AddOption(ctx, p, number, automation.OptionInput{Title: title, Reply: "Thanks, we are on it."}))
	}
	must(a.SaveMenu(ctx, p, number, welcome, true))

	const wa = "16505551234"
	if _, err := in.Sim.CustomerSays(ctx, apptest.SandboxNumberA, wa, "Sheena Nelson", "Hi!"); err != nil {
		t.Fatal(err)
	}
	menu := interactiveSent(t, in, wa, 1)[0]
	var conv int64
	in.App.DB.R.QueryRow(`SELECT id FROM conversations`).Scan(&conv)
	page := "/conversations/" + strconv.FormatInt(conv, 10)

	body := c.Get(page).Body
	if !strings.Contains(body, welcome) {
		t.Fatal("the menu's body is not shown")
	}
	for _, title := range titles {
		if !strings.Contains(body, `<li class="message__option" data-button>`+html.EscapeString(title)+`</li>`) {
			t.Errorf("the menu's button %q is not shown", title)
		}
	}
	if strings.Contains(body, "<button") && strings.Contains(body, ">Buy plants</button>") {
		t.Error("a menu choice is rendered as a button the member could press")
	}

	// The customer taps "My order": the page says which option they chose.
	if _, err := in.Sim.CustomerChooses(ctx, menu, "My order"); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		body = c.Get(page).Body
		if strings.Contains(body, `data-chose="My order"`) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the customer's choice is not shown as chosen")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if !strings.Contains(body, `<span class="message__choice-label">Chose:</span> <span class="message__chip">My order</span>`) {
		t.Error(`the choice does not read "Chose: My order"`)
	}

	// A list with a header, footer, sections and descriptions (as a rating or a long menu sends).
	list := &whatsapp.InteractiveMessage{Header: "Lucky Shrub", Body: "Which delivery suits you?", Footer: "Prices include VAT",
		ListButton: "Delivery options", Sections: []whatsapp.ListSection{
			{Title: "Today", Rows: []whatsapp.ListRow{{ID: "express", Title: "Express", Description: "Within 3 hours, €9.90"}}},
			{Title: "Later", Rows: []whatsapp.ListRow{{ID: "standard", Title: "Standard", Description: "2 to 3 days, free"},
				{ID: "pickup", Title: "Pick up in store"}}},
		}}
	if _, err := in.App.Inbox.SendAutomated(ctx, conv, inbox.AutomatedMessage{Kind: "test", Interactive: list}, nil); err != nil {
		t.Fatal(err)
	}
	body = c.Get(page).Body
	for _, want := range []string{"Lucky Shrub", "Which delivery suits you?", "Prices include VAT", "Delivery options",
		`<p class="message__list-title small">Today</p>`, `<p class="message__list-title small">Later</p>`,
		"Express", "Within 3 hours, €9.90", "Standard", "2 to 3 days, free", "Pick up in store"} {
		if !strings.Contains(body, want) {
			t.Errorf("the list message does not show %q", want)
		}
	}
	if n := strings.Count(body, "data-row>"); n != 3 {
		t.Errorf("%d list rows shown, want 3", n)
	}
}
