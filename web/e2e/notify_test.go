package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/switchboard/switchboard/internal/app/apptest"
	"github.com/switchboard/switchboard/internal/authz"
)

// The headless browser has no speaker and no notification centre, so the test watches the two
// browser APIs the page calls instead: each Notification made and each AudioContext the chime
// plays through, and it reports the tab as in the background (document.hasFocus false), as
// when the agent works in another window.
const watchNotifications = `(function () {
	window.__notes = [];
	window.__chimes = 0;
	var Note = function (title, opts) { window.__notes.push(title + " | " + ((opts && opts.body) || "")); };
	Note.permission = "granted";
	Note.requestPermission = function () { return Promise.resolve("granted"); };
	window.Notification = Note;
	var node = function () { return { frequency: {}, gain: { setValueAtTime: function () {}, exponentialRampToValueAtTime: function () {} },
		connect: function (next) { return next || {}; }, start: function () {}, stop: function () {} }; };
	window.AudioContext = function () {
		window.__chimes++;
		return { currentTime: 0, destination: {}, createOscillator: node, createGain: node };
	};
	document.hasFocus = function () { return false; };
})()`

// A member who asked for a sound and browser notifications, working in another window, is told
// of a new customer message in their own conversation (toast, notification, sound, the unread
// count in the tab's title), and of nothing in a colleague's conversation or in the unassigned
// ones they turned off, though they may see both. The choices survive a reload (they stay in
// this browser). That nobody is told of what they may not see is TestTeamWorksAConversationTogether's.
func TestNotificationsForTheConversationsAMemberFollows(t *testing.T) {
	in := apptest.Start(t)
	in.ConnectSandbox()
	ctx := context.Background()
	adaM := in.CreateMember("ada@example.com", "Ada Admin", authz.RoleAdministrator, adminPassword)
	other := in.CreateMember("bo@example.com", "Bo Other", authz.RoleAgent, adminPassword)
	adminP := principal(t, in, "ada@example.com")
	for waID, name := range map[string]string{"16505551234": "Sheena Nelson", "16505557777": "Mia Klein", "16505558888": "Ken Ito"} {
		if _, err := in.Sim.CustomerSays(ctx, apptest.SandboxNumberA, waID, name, "Hello!"); err != nil {
			t.Fatal(err)
		}
	}
	mine, bos := conversationOf(t, in, adminP, "16505551234"), conversationOf(t, in, adminP, "16505557777")
	if err := in.App.Inbox.Assign(ctx, adminP, mine, adaM.ID); err != nil {
		t.Fatal(err)
	}
	if err := in.App.Inbox.Assign(ctx, adminP, bos, other.ID); err != nil {
		t.Fatal(err)
	}

	ada := browserFor(t, 3*time.Minute)
	signIn(t, ada, in, "ada@example.com", adminPassword)
	run(t, ada, "Ada opens the notification settings at phone width",
		chromedp.EmulateViewport(390, 844),
		chromedp.Navigate(in.URL+"/inbox"),
		chromedp.WaitVisible(chromedp.CSS("#conversation-list")),
		chromedp.Click(chromedp.CSS("#notify-settings summary")),
		chromedp.WaitVisible(chromedp.CSS(`[data-notify-pref="sound"]`)),
	)
	screenshot(t, ada, "settings-390")
	run(t, ada, "asks for a sound, not for unassigned conversations, and reloads",
		chromedp.EmulateViewport(1366, 900),
		chromedp.Click(chromedp.CSS(`[data-notify-pref="sound"]`)),
		chromedp.Click(chromedp.CSS(`[data-notify-pref="unassigned"]`)),
		chromedp.Reload(),
		chromedp.WaitVisible(chromedp.CSS("#conversation-list")),
		chromedp.Evaluate[chromedp.Void](watchNotifications),
	)
	prefs, err := chromedp.Run(ada, chromedp.Evaluate[[]bool](`[document.querySelector('[data-notify-pref="sound"]').checked,
		document.querySelector('[data-notify-pref="unassigned"]').checked]`))
	if err != nil {
		t.Fatal(err)
	}
	if !prefs[0] || prefs[1] {
		t.Fatalf("after a reload, sound is %v and unassigned %v: the choices were not kept", prefs[0], prefs[1])
	}
	run(t, ada, "Ada turns on browser notifications",
		chromedp.Click(chromedp.CSS("#notify-settings summary")),
		chromedp.Click(chromedp.CSS("#notify-enable")),
		chromedp.Poll[chromedp.Void](`document.getElementById("notify-state").textContent.indexOf("on") >= 0`, chromedp.WithPollingInterval(100*time.Millisecond)),
	)

	// First what Ada must not hear about though she sees it: Bo's conversation, an unassigned one.
	if _, err := in.Sim.CustomerSays(ctx, apptest.SandboxNumberA, "16505557777", "Mia Klein", "Terracotta pots, any left?"); err != nil {
		t.Fatal(err)
	}
	if _, err := in.Sim.CustomerSays(ctx, apptest.SandboxNumberA, "16505558888", "Ken Ito", "Do you deliver to Osaka?"); err != nil {
		t.Fatal(err)
	}
	// Then her own: the one she must hear about, after the others, so that nothing was merely late.
	if _, err := in.Sim.CustomerSays(ctx, apptest.SandboxNumberA, "16505551234", "Sheena Nelson", "Is my olive tree on its way?"); err != nil {
		t.Fatal(err)
	}
	runWithin(t, ada, 20*time.Second, "Ada is told of her customer's message",
		chromedp.WaitVisible(chromedp.CSS(".toast--message")),
		chromedp.Poll[chromedp.Void](`window.__notes.length > 0 && window.__chimes > 0`, chromedp.WithPollingInterval(100*time.Millisecond)),
	)
	screenshot(t, ada, "told")
	// A moment for anything that should not come to come.
	time.Sleep(1500 * time.Millisecond)
	notes, err := chromedp.Run(ada, chromedp.Evaluate[[]string](`window.__notes`))
	if err != nil {
		t.Fatal(err)
	}
	toasts, err := chromedp.Run(ada, chromedp.Evaluate[[]string](`Array.prototype.map.call(document.querySelectorAll(".toast"), function (e) { return e.textContent; })`))
	if err != nil {
		t.Fatal(err)
	}
	for _, got := range append(append([]string{}, notes...), toasts...) {
		if strings.Contains(got, "Terracotta") || strings.Contains(got, "Osaka") || strings.Contains(got, "Mia") || strings.Contains(got, "Ken") {
			t.Errorf("Ada was told of a conversation she did not ask about: %q", got)
		}
	}
	if len(notes) != 1 || !strings.Contains(notes[0], "olive tree") {
		t.Errorf("browser notifications %q, want one for Sheena's message", notes)
	}
	if len(toasts) != 1 || !strings.Contains(toasts[0], "olive tree") {
		t.Errorf("toasts %q, want one for Sheena's message", toasts)
	}
	title, err := chromedp.Run(ada, chromedp.Title())
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(title, "(") {
		t.Errorf("the tab is titled %q, want the unread count first", title)
	}
}
