package e2e

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/switchboard/switchboard/internal/app/apptest"
	"github.com/switchboard/switchboard/internal/authz"
	"github.com/switchboard/switchboard/internal/inbox"
)

// Two members work a conversation, at a laptop's and then at a phone's width: the agent answers with a
// canned reply picked after "/", with its variables filled; the administrator sees "is
// replying" while the agent types, and writes a note mentioning the agent, who is told at once.
// A third member, an agent the conversation is not assigned to, has the live stream open all
// along and receives none of the conversation's events: no change, no presence, no note, no
// mention (though the note names them too).
func TestTeamWorksAConversationTogether(t *testing.T) {
	in := apptest.Start(t)
	in.ConnectSandbox()
	ctx := context.Background()
	in.CreateMember("ada@example.com", "Ada Admin", authz.RoleAdministrator, adminPassword)
	agent := in.CreateMember("aga@example.com", "Aga Agent", authz.RoleAgent, adminPassword)
	other := in.CreateMember("bo@example.com", "Bo Other", authz.RoleAgent, adminPassword)
	adminP := principal(t, in, "ada@example.com")

	// One conversation per width, both Aga's; Mia's is Bo's.
	customers := map[int64]string{1366: "16505551234", 390: "16505552345"}
	for _, waID := range []string{customers[1366], customers[390]} {
		if _, err := in.Sim.CustomerSays(ctx, apptest.SandboxNumberA, waID, "Sheena Nelson", "Where is my olive tree?"); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := in.Sim.CustomerSays(ctx, apptest.SandboxNumberA, "16505557777", "Mia Klein", "Do you sell pots?"); err != nil {
		t.Fatal(err)
	}
	hidden := map[int64]int64{1366: conversationOf(t, in, adminP, customers[1366]), 390: conversationOf(t, in, adminP, customers[390])}
	bos := conversationOf(t, in, adminP, "16505557777")
	for conv, to := range map[int64]int64{hidden[1366]: agent.ID, hidden[390]: agent.ID, bos: other.ID} {
		if err := in.App.Inbox.Assign(ctx, adminP, conv, to); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := in.App.Inbox.CreateCanned(ctx, adminP, inbox.CannedInput{Title: "Thanks for waiting",
		Body: "Hi {{name}}, thanks for waiting! {{agent}} here, checking your order now."}); err != nil {
		t.Fatal(err)
	}

	// Bo, who may not see Sheena's conversations, listens to the live stream as his inbox does.
	bo := browserFor(t, 6*time.Minute)
	signIn(t, bo, in, "bo@example.com", adminPassword)
	var names []string
	for _, id := range []int64{hidden[1366], hidden[390], bos} {
		names = append(names, fmt.Sprintf(`"c%d", "p%d"`, id, id))
	}
	run(t, bo, "Bo opens his inbox and listens",
		chromedp.Navigate(in.URL+"/inbox"),
		chromedp.WaitVisible(chromedp.CSS("#conversation-list")),
		chromedp.Evaluate[chromedp.Void](`window.__got = []; window.__es = new EventSource("/inbox/live");
			[`+strings.Join(names, ", ")+`, "notice", "conversation", "resync"].forEach(function (n) {
				window.__es.addEventListener(n, function () { window.__got.push(n); });
			});`),
	)
	aga := browserFor(t, 6*time.Minute)
	signIn(t, aga, in, "aga@example.com", adminPassword)
	ada := browserFor(t, 6*time.Minute)
	signIn(t, ada, in, "ada@example.com", adminPassword)

	for _, width := range []int64{1366, 390} {
		t.Run(strconv.FormatInt(width, 10), func(t *testing.T) {
			teamWorksAConversation(t, in, aga, ada, width, hidden[width])
		})
	}

	// Nothing of Sheena's conversations reached Bo. A customer message in his own conversation
	// shows that his stream works, and that nothing was merely late.
	if _, err := in.Sim.CustomerSays(ctx, apptest.SandboxNumberA, "16505557777", "Mia Klein", "Terracotta ones?"); err != nil {
		t.Fatal(err)
	}
	runWithin(t, bo, 20*time.Second, "Bo's own conversation's event arrives",
		chromedp.Poll[chromedp.Void](fmt.Sprintf(`window.__got.indexOf("c%d") >= 0`, bos), chromedp.WithPollingInterval(100*time.Millisecond)),
	)
	if title, _ := chromedp.Run(bo, chromedp.Title()); !strings.HasPrefix(title, "(1) Inbox") {
		t.Errorf("Bo's tab is titled %q, want the unread count first", title)
	}
	got, err := chromedp.Run(bo, chromedp.Evaluate[[]string](`window.__got`))
	if err != nil {
		t.Fatal(err)
	}
	for _, ev := range got {
		for _, id := range []int64{hidden[1366], hidden[390]} {
			if ev == "c"+strconv.FormatInt(id, 10) || ev == "p"+strconv.FormatInt(id, 10) || ev == "notice" {
				t.Errorf("Bo, who may not see conversation %d, received its event %q (all: %v)", id, ev, got)
			}
		}
	}
}

func teamWorksAConversation(t *testing.T, in *apptest.Instance, aga, ada context.Context, width, conv int64) {
	convURL := in.URL + "/conversations/" + strconv.FormatInt(conv, 10)
	run(t, aga, "Aga opens the conversation",
		chromedp.EmulateViewport(width, 900),
		chromedp.Navigate(convURL),
		chromedp.WaitVisible(chromedp.CSS("#reply-text")),
	)
	run(t, ada, "Ada opens the same conversation",
		chromedp.EmulateViewport(width, 900),
		chromedp.Navigate(convURL),
		chromedp.WaitVisible(chromedp.CSS("#reply-text")),
	)
	run(t, aga, "Aga types / and picks the canned reply with the keyboard",
		chromedp.Focus(chromedp.CSS("#reply-text")),
		chromedp.KeyEvent("/than"),
		chromedp.WaitVisible(chromedp.CSS(`#canned-menu .picker__item[aria-selected="true"]`)),
	)
	screenshot(t, aga, "canned-menu")
	run(t, aga, "insert it", pressEnter(false))
	want := "Hi Sheena, thanks for waiting! Aga here, checking your order now."
	if got := value(t, aga, "#reply-text"); got != want {
		t.Fatalf("the canned reply was inserted as %q, want %q", got, want)
	}
	runWithin(t, ada, 20*time.Second, "Ada sees that Aga is replying",
		chromedp.WaitVisible(chromedp.CSS("#presence-typing")),
	)
	if got := text(t, ada, "#presence-typing"); !strings.Contains(got, "Aga Agent is replying") {
		t.Errorf("Ada's presence line reads %q", got)
	}
	screenshot(t, ada, "is-replying")
	run(t, aga, "send it with Enter",
		pressEnter(false),
		chromedp.WaitVisible(chromedp.Search(`//li[contains(@class,"message--out")]//p[contains(., "thanks for waiting")]`)),
	)
	sent := in.Sim.Sent()
	if last := sent[len(sent)-1]; last.Text != want {
		t.Errorf("the customer got %q, want %q", last.Text, want)
	}
	var canned int
	if err := in.App.DB.R.QueryRow(`SELECT count(*) FROM messages WHERE conversation_id = ? AND canned_id IS NOT NULL`, conv).Scan(&canned); err != nil || canned != 1 {
		t.Errorf("the reply went out as a canned reply %d times (%v), want 1", canned, err)
	}

	run(t, ada, "Ada writes a note mentioning Aga (and Bo, who cannot see it)",
		chromedp.Click(chromedp.CSS(`[data-composer-mode="note"]`)),
		chromedp.Focus(chromedp.CSS("#reply-text")),
		chromedp.KeyEvent("@Ag"),
		chromedp.WaitVisible(chromedp.CSS(`#mention-menu .picker__item[aria-selected="true"]`)),
		pressEnter(false),
		chromedp.KeyEvent("the tracking says Tuesday, can you tell her? @Bo Other FYI"),
		pressEnter(false),
		chromedp.WaitVisible(chromedp.CSS(".message--note")),
	)
	if got := text(t, ada, ".message--note .message__text"); !strings.HasPrefix(got, "@Aga Agent the tracking says Tuesday") {
		t.Errorf("the note reads %q", got)
	}
	screenshot(t, ada, "note")
	runWithin(t, aga, 20*time.Second, "Aga is told of the mention, live",
		chromedp.WaitVisible(chromedp.CSS(".toast--mention")),
		chromedp.WaitVisible(chromedp.CSS(".message--note")),
	)
	if got := text(t, aga, ".toast--mention"); !strings.Contains(got, "Ada Admin mentioned you") {
		t.Errorf("Aga's notice reads %q", got)
	}
	screenshot(t, aga, "mentioned")
}

// conversationOf is the conversation with the customer waID, as p sees it.
func conversationOf(t *testing.T, in *apptest.Instance, p *authz.Principal, waID string) int64 {
	t.Helper()
	page, err := in.App.Inbox.List(context.Background(), p, inbox.ListQuery{Box: inbox.BoxAll})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range page.Conversations {
		if strings.TrimPrefix(c.Contact.Phone, "+") == waID { // p sees numbers unmasked
			return c.ID
		}
	}
	t.Fatalf("no conversation with %s", waID)
	return 0
}

// pressEnter presses Enter (with Shift, if asked) as a keyboard does: one keydown that carries
// the key's text, so a page that handles the keydown stops the line break, as in a browser.
// (chromedp's KeyEvent sends the text as a separate event that no keydown handler can stop.)
func pressEnter(shift bool) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		var mods int64
		if shift {
			mods = int64(chromedp.ModifierShift)
		}
		for _, typ := range []input.DispatchKeyEventType{input.DispatchKeyEventTypeKeyDown, input.DispatchKeyEventTypeKeyUp} {
			ev := input.DispatchKeyEventParams{Type: typ, Key: "Enter", Code: "Enter", WindowsVirtualKeyCode: 13,
				NativeVirtualKeyCode: 13, Modifiers: mods}
			if typ == input.DispatchKeyEventTypeKeyDown {
				ev.Text, ev.UnmodifiedText = "\r", "\r"
			}
			if _, err := cdp.Call(ctx, t, input.DispatchKeyEvent, ev); err != nil {
				return err
			}
		}
		return nil
	})
}

// The inbox works from the keyboard: j/k move in the list, Enter opens, r focuses the reply
// box, Escape leaves it, a assigns the conversation to me, / searches, ? lists the shortcuts.
// A draft in the reply box survives the page reload that assigning makes.
func TestInboxFromTheKeyboard(t *testing.T) {
	in := apptest.Start(t)
	in.ConnectSandbox()
	ctx := context.Background()
	in.CreateMember("ada@example.com", "Ada Admin", authz.RoleAdministrator, adminPassword)
	for _, c := range []struct{ waID, name string }{{"16505551234", "Sheena Nelson"}, {"16505557777", "Mia Klein"}} {
		if _, err := in.Sim.CustomerSays(ctx, apptest.SandboxNumberA, c.waID, c.name, "Hello from "+c.name); err != nil {
			t.Fatal(err)
		}
	}
	b := browser(t)
	signIn(t, b, in, "ada@example.com", adminPassword)
	run(t, b, "open the inbox, move down twice and open",
		chromedp.Navigate(in.URL+"/inbox?box=all"),
		chromedp.WaitVisible(chromedp.CSS(".conversation-item__link")),
		chromedp.KeyEvent("j"),
		chromedp.KeyEvent("j"),
		chromedp.WaitVisible(chromedp.CSS(".conversation-item:nth-child(2).is-selected")),
		pressEnter(false),
		chromedp.WaitVisible(chromedp.CSS("#reply-text")),
	)
	if got := text(t, b, "#convo-title"); got != "Sheena Nelson" {
		t.Errorf("the second conversation is %q, want Sheena Nelson (the older one)", got)
	}
	run(t, b, "r focuses the reply box, Escape leaves it",
		chromedp.KeyEvent("r"),
		chromedp.Poll[chromedp.Void](`document.activeElement.id === "reply-text"`),
		chromedp.KeyEvent(" Draft for Sheena"),
		chromedp.KeyEvent(kb.Escape),
		chromedp.Poll[chromedp.Void](`document.activeElement.id !== "reply-text"`),
	)
	run(t, b, "a assigns it to me",
		chromedp.KeyEvent("a"),
		chromedp.WaitVisible(chromedp.Search(`//span[contains(@class,"convo__assignee") and contains(., "Ada Admin")]`)),
	)
	// Assigning reloaded the page: what was typed is still in the reply box.
	if got := value(t, b, "#reply-text"); !strings.Contains(got, "Draft for Sheena") {
		t.Errorf("after a reload the reply box holds %q, want the draft", got)
	}
	run(t, b, "? lists the shortcuts",
		chromedp.KeyEvent("?"),
		chromedp.WaitVisible(chromedp.CSS("#shortcuts-dialog")),
	)
	screenshot(t, b, "shortcuts")
	run(t, b, "Escape closes it, / searches",
		chromedp.KeyEvent(kb.Escape),
		chromedp.WaitNotVisible(chromedp.CSS("#shortcuts-dialog")),
		chromedp.KeyEvent("/"),
		chromedp.Poll[chromedp.Void](`document.activeElement.id === "inbox-search"`),
	)
}
