package e2e

import (
	"context"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/switchboard/switchboard/internal/app/apptest"
	"github.com/switchboard/switchboard/internal/authz"
	"github.com/switchboard/switchboard/internal/inbox"
)

// An Administrator defines a label on the Labels page; the agent who works a conversation puts
// it on it; the inbox filtered by the label lists that conversation and not the other one.
func TestLabelFilter(t *testing.T) {
	in := apptest.Start(t)
	in.ConnectSandbox()
	ctx := context.Background()
	in.CreateMember("ada@example.com", "Ada Admin", authz.RoleAdministrator, adminPassword)
	agent := in.CreateMember("aga@example.com", "Aga Agent", authz.RoleAgent, adminPassword)
	for _, c := range []struct{ wa, name, text string }{
		{"16505551234", "Sheena Nelson", "Do you deliver olive trees?"},
		{"16505559999", "Brook Rivera", "What soil for a fig?"},
	} {
		if _, err := in.Sim.CustomerSays(ctx, apptest.SandboxNumberA, c.wa, c.name, c.text); err != nil {
			t.Fatal(err)
		}
	}
	adminP := principal(t, in, "ada@example.com")
	sheena := conversationWith(t, in, adminP, "Sheena Nelson")
	if err := in.App.Inbox.Assign(ctx, adminP, sheena, agent.ID); err != nil {
		t.Fatal(err)
	}

	b := browser(t)
	signIn(t, b, in, "ada@example.com", adminPassword)
	run(t, b, "define the label",
		chromedp.Navigate(in.URL+"/settings/labels"),
		chromedp.WaitVisible(chromedp.CSS("#label-name")),
		chromedp.SendKeys(chromedp.CSS("#label-name"), "VIP"),
		chromedp.SetValue(chromedp.CSS("#label-color"), "purple"),
		chromedp.SendKeys(chromedp.CSS("#label-description"), "Customers who order often"),
		chromedp.Click(chromedp.CSS(`form[action="/settings/labels"] button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`#label-list [data-label="VIP"]`)),
	)
	atBothWidths(t, b, "labels-page")
	signOut(t, b)

	signIn(t, b, in, "aga@example.com", adminPassword)
	run(t, b, "label the conversation",
		chromedp.Navigate(in.URL+"/conversations/"+itoa(sheena)),
		chromedp.WaitVisible(chromedp.CSS("#label-add")),
	)
	htmxReady(t, b)
	run(t, b, "add VIP",
		chromedp.Click(chromedp.CSS(`#labels-panel button.btn`)),
		chromedp.WaitVisible(chromedp.CSS(`#labels-panel [data-label="VIP"]`)),
	)
	atBothWidths(t, b, "conversation-labelled")
	signOut(t, b)

	signIn(t, b, in, "ada@example.com", adminPassword)
	run(t, b, "filter the inbox by VIP",
		chromedp.Navigate(in.URL+"/inbox?box=all"),
		chromedp.WaitVisible(chromedp.CSS("#inbox-label")),
	)
	if n := count(t, b, ".conversation-item"); n != 2 {
		t.Fatalf("unfiltered inbox lists %d conversations, want 2", n)
	}
	choose(t, b, "#inbox-label", labelOption(t, b, "VIP"))
	run(t, b, "apply the filter", chromedp.Click(chromedp.CSS(`form.search button[type=submit]`)))
	// The unfiltered list shows Sheena's VIP label too: wait for the filtered page, not for it.
	waitFor(t, b, "the filtered page", func() bool {
		loc, _ := chromedp.Run(b, chromedp.Location())
		return strings.Contains(loc, "label=")
	})
	run(t, b, "see the filtered list", chromedp.WaitVisible(chromedp.CSS(`.conversation-item [data-label="VIP"]`)))
	if n := count(t, b, ".conversation-item"); n != 1 {
		t.Fatalf("the VIP filter lists %d conversations, want 1", n)
	}
	if got := text(t, b, ".conversation-item__contact"); got != "Sheena Nelson" {
		t.Errorf("the VIP filter lists %q", got)
	}
	atBothWidths(t, b, "inbox-filtered")
}

// labelOption is the value of the filter's option named name.
func labelOption(t *testing.T, ctx context.Context, name string) string {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[string](`[...document.querySelectorAll('#inbox-label option')].find(o => o.textContent.trim() === `+"`"+name+"`"+`)?.value || ''`))
	if err != nil || strings.TrimSpace(v) == "" {
		t.Fatalf("no filter option %q (%v)", name, err)
	}
	return v
}

// conversationWith is the id of the conversation with the contact named name, as p sees it.
func conversationWith(t *testing.T, in *apptest.Instance, p *authz.Principal, name string) int64 {
	t.Helper()
	page, err := in.App.Inbox.List(context.Background(), p, inbox.ListQuery{Box: inbox.BoxAll})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range page.Conversations {
		if c.Contact.Name == name {
			return c.ID
		}
	}
	t.Fatalf("no conversation with %s", name)
	return 0
}
