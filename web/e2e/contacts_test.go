package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/switchboard/switchboard/internal/app/apptest"
	"github.com/switchboard/switchboard/internal/authz"
	"github.com/switchboard/switchboard/internal/demo"
)

// The demo's inbox data in the browser: the conversation shows a photo, a list reply with its
// description, an edited message with a reaction and an order; the contact page shows fields,
// labels and conversations, and saving a field shows it. At 1366 and 390 px.
func TestContactsAndEveryKindOfMessage(t *testing.T) {
	in := apptest.Start(t)
	in.ConnectSandbox()
	ctx := context.Background()
	in.CreateMember("ada@example.com", "Ada Admin", authz.RoleAdministrator, adminPassword)
	if _, err := in.App.Members.SeedDemo(ctx); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ number, waID, name, text string }{
		{demo.NumberSales, "16505551234", "Sheena Nelson", "Hi! Do you deliver olive trees to Palo Alto?"},
		{demo.NumberCare, "4915112341234", "Jonas Weber", "Hallo, meine Monstera hat gelbe Blätter."},
	} {
		if _, err := in.Sim.CustomerSays(ctx, c.number, c.waID, c.name, c.text); err != nil {
			t.Fatal(err)
		}
	}
	if err := (&demo.Sandbox{Sim: in.Sim}).SeedInboxData(ctx, in.App.Members, in.App.Inbox); err != nil {
		t.Fatal(err)
	}
	adminP := principal(t, in, "ada@example.com")
	sheena := conversationWith(t, in, adminP, "Sheena Nelson")

	b := browser(t)
	signIn(t, b, in, "ada@example.com", adminPassword)
	run(t, b, "open Sheena's conversation",
		chromedp.Navigate(in.URL+"/conversations/"+itoa(sheena)),
		chromedp.WaitVisible(chromedp.CSS("#messages")),
	)
	runWithin(t, b, 20*time.Second, "the photos are fetched", chromedp.WaitVisible(chromedp.CSS(`.message--in img.message__image`)))
	all := text(t, b, "#messages")
	for _, want := range []string{"Next working day, before noon", "Could it come on Tuesday?", "Edited", "2 × olive-tree-120cm at 89.00 USD", "two leaves are brown"} {
		if !strings.Contains(all, want) {
			t.Errorf("the conversation does not show %q", want)
		}
	}
	if n := count(t, b, ".message__reaction"); n != 1 {
		t.Errorf("%d reactions shown", n)
	}
	atBothWidths(t, b, "every-kind")

	run(t, b, "open the contacts",
		chromedp.Navigate(in.URL+"/contacts"),
		chromedp.WaitVisible(chromedp.CSS("#contact-list")),
	)
	atBothWidths(t, b, "contacts")
	run(t, b, "open Sheena",
		chromedp.Click(chromedp.Search(`//a[contains(@class,"contact-row__link")][contains(., "Sheena")]`)),
		chromedp.WaitVisible(chromedp.CSS("#contact-name")),
	)
	if v := value(t, b, "#contact-name"); v != "Sheena Nelson" {
		t.Errorf("name field %q", v)
	}
	run(t, b, "change her points",
		chromedp.SetValue(chromedp.Search(`//label[.="Loyalty points"]/following::input[1]`), "1900"),
		chromedp.Click(chromedp.Search(`//button[.="Save contact"]`)),
		chromedp.WaitVisible(chromedp.Search(`//*[contains(., "Contact saved.")]`)),
	)
	if v := value(t, b, `input[name^="field_"][inputmode="decimal"]`); v != "1900" {
		t.Errorf("points after saving: %q", v)
	}
	atBothWidths(t, b, "contact")
	run(t, b, "open the import page", chromedp.Navigate(in.URL+"/contacts/import"), chromedp.WaitVisible(chromedp.CSS("#import-file")))
	atBothWidths(t, b, "import")
	run(t, b, "open the contact fields", chromedp.Navigate(in.URL+"/settings/contact-fields"), chromedp.WaitVisible(chromedp.CSS("#field-list")))
	atBothWidths(t, b, "contact-fields")
}
