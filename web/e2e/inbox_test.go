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
	"github.com/switchboard/switchboard/internal/inbox"
)

// A customer writes through the simulator; the conversation is assigned to an agent, who sees the
// customer's next message appear without a reload, replies, and sees it delivered and read.
// A day later the reply box offers approved templates only.
func TestAgentAnswersACustomer(t *testing.T) {
	in := apptest.Start(t)
	in.ConnectSandbox()
	in.ApprovedSandboxTemplate("shipping_notice", "Hi {{1}}, your order {{2}} is on its way.", "Pablo", "860198")
	ctx := context.Background()
	admin := in.CreateMember("ada@example.com", "Ada Admin", authz.RoleAdministrator, adminPassword)
	agent := in.CreateMember("aga@example.com", "Aga Agent", authz.RoleAgent, adminPassword)

	if _, err := in.Sim.CustomerSays(ctx, apptest.SandboxNumberA, "16505551234", "Sheena Nelson", "Hi! Is my olive tree shipped?"); err != nil {
		t.Fatal(err)
	}
	adminP, _, err := in.App.Members.Store().Principal(ctx, admin.ID)
	if err != nil {
		t.Fatal(err)
	}
	page, err := in.App.Inbox.List(ctx, adminP, inbox.ListQuery{Box: inbox.BoxAll})
	if err != nil || len(page.Conversations) != 1 {
		t.Fatalf("the customer's message did not make a conversation: %v %v", page.Conversations, err)
	}
	conv := page.Conversations[0]
	if err := in.App.Inbox.Assign(ctx, adminP, conv.ID, agent.ID); err != nil {
		t.Fatal(err)
	}

	b := browser(t)
	signIn(t, b, in, "aga@example.com", adminPassword)
	run(t, b, "open the inbox",
		chromedp.Click(chromedp.CSS(`.sidebar a[href="/inbox"]`)),
		chromedp.WaitVisible(chromedp.CSS(".conversation-item__link")),
	)
	if got := text(t, b, ".conversation-item__contact"); got != "Sheena Nelson" {
		t.Errorf("inbox shows %q", got)
	}
	screenshot(t, b, "inbox")
	run(t, b, "open the conversation beside the list",
		chromedp.Click(chromedp.CSS(".conversation-item__link")),
		chromedp.WaitVisible(chromedp.CSS("#reply-text")),
		chromedp.WaitVisible(chromedp.CSS(".conversation-item.is-current")),
	)
	if loc, _ := chromedp.Run(b, chromedp.Location()); !strings.HasSuffix(loc, "/conversations/"+strconv.FormatInt(conv.ID, 10)) {
		t.Errorf("the open conversation's address is %s", loc)
	}
	run(t, b, "the back button returns to the list, forward to the conversation",
		chromedp.NavigateBack(),
		chromedp.WaitVisible(chromedp.CSS(".inbox__pane--empty")),
		chromedp.NavigateForward(),
		chromedp.WaitVisible(chromedp.CSS("#reply-text")),
	)
	if phone := text(t, b, "#contact-phone"); !strings.Contains(phone, "•••") || strings.Contains(phone, "5551234") {
		t.Errorf("an agent without contacts.view_pii sees the number %q", phone)
	}

	if _, err := in.Sim.CustomerSays(ctx, apptest.SandboxNumberA, "16505551234", "Sheena Nelson", "It is for my mother's birthday."); err != nil {
		t.Fatal(err)
	}
	// The page polls only every 30 s, as a fallback: arriving within a few seconds is the push.
	runWithin(t, b, 8*time.Second, "the new message appears without a reload, pushed",
		chromedp.WaitVisible(chromedp.Search(`//p[contains(., "mother's birthday")]`)),
	)
	run(t, b, "reply with Enter",
		chromedp.Focus(chromedp.CSS("#reply-text")),
		chromedp.KeyEvent("It ships today, Sheena."),
		pressEnter(true),
		chromedp.KeyEvent("Happy birthday to her!"),
		pressEnter(false),
		chromedp.WaitVisible(chromedp.CSS(".message--out .message__status")),
	)
	sent := in.Sim.Sent()
	if len(sent) == 0 || sent[len(sent)-1].Text != "It ships today, Sheena.\nHappy birthday to her!" {
		t.Fatalf("the simulator did not receive the reply: %+v", sent)
	}
	wamid := sent[len(sent)-1].ID
	for _, st := range []string{"delivered", "read"} {
		if err := in.Sim.Deliver(ctx, wamid, st); err != nil {
			t.Fatal(err)
		}
		runWithin(t, b, 8*time.Second, "status "+st+", pushed",
			chromedp.WaitVisible(chromedp.CSS(`.message--out [data-status="`+st+`"]`)),
		)
	}
	screenshot(t, b, "conversation")

	convURL, err := chromedp.Run(b, chromedp.Location())
	if err != nil {
		t.Fatal(err)
	}
	// A day later the session has timed out too (12 hours at most): sign in again.
	in.Clock.Advance(24*time.Hour + time.Minute)
	signIn(t, b, in, "aga@example.com", adminPassword)
	run(t, b, "open the conversation a day later",
		chromedp.Navigate(convURL),
		chromedp.WaitVisible(chromedp.CSS("#window-state")),
	)
	if w := text(t, b, "#window-state"); !strings.Contains(w, "templates only") {
		t.Errorf("after 24 hours the window reads %q", w)
	}
	if n := count(t, b, `[data-composer-mode="reply"]`); n != 0 {
		t.Error("the composer offers a free-form reply outside the 24-hour window")
	}
	if why := text(t, b, "#window-closed"); !strings.Contains(why, "24 hours") {
		t.Errorf("the closed window is explained as %q", why)
	}
	screenshot(t, b, "window-closed")
	run(t, b, "send the approved template from the dialog",
		chromedp.Click(chromedp.CSS("#choose-template")),
		chromedp.WaitVisible(chromedp.CSS("#field-body_1")),
		chromedp.SendKeys(chromedp.CSS("#field-body_1"), "Sheena"),
		chromedp.SendKeys(chromedp.CSS("#field-body_2"), "860198"),
	)
	if preview := text(t, b, ".template-preview__bubble"); !strings.Contains(preview, "Hi Sheena, your order 860198 is on its way.") {
		t.Errorf("the live preview reads %q", preview)
	}
	screenshot(t, b, "template-dialog")
	run(t, b, "send it",
		chromedp.Click(chromedp.CSS(`#template-form button[type=submit]`)),
		chromedp.WaitVisible(chromedp.Search(`//div[contains(@class,"message__template")]`)),
	)
	screenshot(t, b, "window-closed")
	fitsPhoneWidth(t, b, convURL)
	fitsPhoneWidth(t, b, in.URL+"/inbox")
	sent = in.Sim.Sent()
	last := sent[len(sent)-1]
	if last.Type != "template" || last.Err != nil {
		t.Errorf("the simulator got %s (error %v), want an accepted template", last.Type, last.Err)
	}
}

// runWithin is run with a deadline, for steps whose speed is what they show.
func runWithin(t *testing.T, ctx context.Context, limit time.Duration, step string, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	sub, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	if err := chromedp.Do(sub, actions...); err != nil {
		screenshot(t, ctx, "failed-"+step)
		t.Fatalf("%s (within %s): %v", step, limit, err)
	}
}
