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
)

// atBothWidths saves the current page at a laptop's width (1366 px) and a phone's (390 px), and
// fails when the phone view scrolls sideways.
func atBothWidths(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	run(t, ctx, "desktop width", chromedp.EmulateViewport(1366, 900))
	screenshot(t, ctx, name+"-1366")
	run(t, ctx, "phone width", chromedp.EmulateViewport(390, 844))
	width, err := chromedp.Run(ctx, chromedp.Evaluate[float64](`document.documentElement.scrollWidth`))
	if err != nil {
		t.Fatal(err)
	}
	if width > 390 {
		t.Errorf("%s is %v px wide at a 390 px viewport: it scrolls sideways on a phone", name, width)
	}
	screenshot(t, ctx, name+"-390")
	run(t, ctx, "back to desktop width", chromedp.EmulateViewport(1280, 860))
}

func value(t *testing.T, ctx context.Context, sel string) string {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Value(chromedp.CSS(sel)))
	if err != nil {
		screenshot(t, ctx, "failed-value")
		t.Fatalf("read the value of %s: %v", sel, err)
	}
	return v
}

func count(t *testing.T, ctx context.Context, sel string) int {
	t.Helper()
	n, err := chromedp.Run(ctx, chromedp.Evaluate[float64](`document.querySelectorAll(`+strconv.Quote(sel)+`).length`))
	if err != nil {
		t.Fatal(err)
	}
	return int(n)
}

// Item 8: the invitation form asks for a role instead of defaulting to Administrator.
func TestInvitationFormAsksForARole(t *testing.T) {
	in := apptest.Start(t)
	in.CreateMember("ada@example.com", "Ada Admin", authz.RoleAdministrator, adminPassword)
	ctx := browser(t)
	signIn(t, ctx, in, "ada@example.com", adminPassword)
	run(t, ctx, "open the invitation form",
		chromedp.Navigate(in.URL+"/members/invite"),
		chromedp.WaitVisible(chromedp.CSS("#field-role")),
	)
	chosen, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector("#field-role").selectedOptions[0].textContent`))
	if err != nil || chosen != "Choose a role…" {
		t.Errorf("the role select shows %q, want the prompt to choose (%v)", chosen, err)
	}
	first, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector("#field-role").options[1].textContent`))
	if err != nil || first == "Administrator" {
		t.Errorf("the first role offered is %q", first)
	}
	atBothWidths(t, ctx, "invite")
	run(t, ctx, "invite without choosing a role",
		chromedp.SendKeys(chromedp.CSS("#field-email"), "newbie@example.com"),
		chromedp.Click(chromedp.CSS("form button[type=submit].btn--primary")),
		chromedp.WaitVisible(chromedp.CSS("#field-role-error")),
	)
	if msg := text(t, ctx, "#field-role-error"); msg != "Choose a role for the new member." {
		t.Errorf("the role error reads %q", msg)
	}
	if v := value(t, ctx, "#field-email"); v != "newbie@example.com" {
		t.Errorf("the refused form lost the e-mail address: %q", v)
	}
	atBothWidths(t, ctx, "invite-refused")
}

// Items 13 and 17: an Administrator opening the inbox lands on the box with work; a send refused
// because the number was switched off meanwhile keeps the draft in the reply box.
func TestARefusedSendKeepsTheDraft(t *testing.T) {
	in := apptest.Start(t)
	in.ConnectSandbox()
	bg := context.Background()
	in.CreateMember("ada@example.com", "Ada Admin", authz.RoleAdministrator, adminPassword)
	if _, err := in.Sim.CustomerSays(bg, apptest.SandboxNumberA, "16505551234", "Sheena Nelson", "Do you deliver olive trees?"); err != nil {
		t.Fatal(err)
	}
	ctx := browser(t)
	signIn(t, ctx, in, "ada@example.com", adminPassword)
	run(t, ctx, "open the inbox",
		chromedp.Click(chromedp.CSS(`.sidebar a[href="/inbox"]`)),
		chromedp.WaitVisible(chromedp.CSS(".conversation-item__link")),
	)
	if box := text(t, ctx, `.inbox-tabs__tab[aria-current="page"]`); !strings.HasPrefix(box, "Unassigned") {
		t.Errorf("the inbox opened %q, not the box where the conversation waits", box)
	}
	atBothWidths(t, ctx, "inbox")
	run(t, ctx, "search for nothing",
		chromedp.SendKeys(chromedp.CSS("#inbox-search"), "zebra"),
		chromedp.Click(chromedp.CSS(`form.search button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS("#inbox-no-match")),
	)
	if msg := text(t, ctx, "#inbox-no-match .empty-state__title"); msg != "No conversations match “zebra”" {
		t.Errorf("an empty search says %q", msg)
	}
	atBothWidths(t, ctx, "inbox-no-match")
	run(t, ctx, "clear the search",
		chromedp.Click(chromedp.CSS("#inbox-no-match a")),
		chromedp.WaitVisible(chromedp.CSS(".conversation-item__link")),
	)
	run(t, ctx, "open the conversation",
		chromedp.Click(chromedp.CSS(".conversation-item__link")),
		chromedp.WaitVisible(chromedp.CSS("#reply-text")),
	)
	draft := "Yes, we deliver to Palo Alto on Thursdays. Shall I book a slot for you?"
	run(t, ctx, "type a reply", chromedp.SendKeys(chromedp.CSS("#reply-text"), draft))
	// Meanwhile a colleague switches the number off.
	numbers, err := in.App.Workspace.Store().PhoneNumbers(bg)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range numbers {
		if n.PhoneNumberID == apptest.SandboxNumberA {
			if err := in.App.Workspace.SetNumber(bg, n.ID, "", false); err != nil {
				t.Fatal(err)
			}
		}
	}
	sent := len(in.Sim.Sent())
	run(t, ctx, "send",
		chromedp.Click(chromedp.CSS(`#composer-send`)),
		chromedp.WaitVisible(chromedp.CSS("#send-error")),
	)
	if msg := text(t, ctx, "#send-error"); !strings.Contains(msg, "switched off") {
		t.Errorf("the refusal reads %q", msg)
	}
	if got := value(t, ctx, "#reply-text"); got != draft {
		t.Errorf("the reply box holds %q after the refusal, want the draft", got)
	}
	if len(in.Sim.Sent()) != sent {
		t.Error("a message went out from a switched-off number")
	}
	atBothWidths(t, ctx, "refused-send")
}

// Item 12: the session times out while the inbox refreshes itself; the member is told and, after
// signing in again (with the 2FA code), is back on the inbox box they had open.
func TestAnExpiredSessionReturnsToTheInbox(t *testing.T) {
	in := apptest.Start(t)
	in.ConnectSandbox()
	in.CreateMember("ada@example.com", "Ada Admin", authz.RoleAdministrator, adminPassword)
	// The page finds out at its next poll, up to 30 s after the clock moves: on top of two
	// sign-ins and the screenshots, more than the usual 90 s when the whole suite runs at once.
	ctx := browserFor(t, 3*time.Minute)
	signIn(t, ctx, in, "ada@example.com", adminPassword)
	run(t, ctx, "open a box",
		chromedp.Navigate(in.URL+"/inbox?box=all"),
		chromedp.WaitVisible(chromedp.CSS("#conversation-list")),
	)
	in.Clock.Advance(31 * time.Minute)
	run(t, ctx, "the next refresh finds the session expired",
		chromedp.WaitVisible(chromedp.CSS("#field-email")),
		chromedp.WaitVisible(chromedp.CSS(".alert")),
	)
	if msg := text(t, ctx, ".alert"); msg != "Your session expired. Sign in again to continue." {
		t.Errorf("the sign-in page says %q", msg)
	}
	atBothWidths(t, ctx, "signin-expired")
	run(t, ctx, "sign in again",
		chromedp.SendKeys(chromedp.CSS("#field-email"), "ada@example.com"),
		chromedp.SendKeys(chromedp.CSS("#field-password"), adminPassword),
		chromedp.Click(chromedp.CSS("button[type=submit]")),
		chromedp.WaitVisible(chromedp.CSS("#field-code")),
		chromedp.SendKeys(chromedp.CSS("#field-code"), in.TOTPCode("ada@example.com")),
		chromedp.Click(chromedp.CSS("button[type=submit]")),
		chromedp.WaitVisible(chromedp.CSS("#conversation-list")),
	)
	loc, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil || !strings.HasSuffix(loc, "/inbox?box=all") {
		t.Errorf("after signing in again the member is at %q, want the inbox box they had open", loc)
	}
}

// Item 9: an account with a wrong token is refused with Meta's error; saved anyway, it can be
// disconnected after a confirmation that says what happens.
func TestSaveAnywayAndDisconnect(t *testing.T) {
	in := apptest.Start(t)
	in.CreateMember("ada@example.com", "Ada Admin", authz.RoleAdministrator, adminPassword)
	ctx := browser(t)
	signIn(t, ctx, in, "ada@example.com", adminPassword)
	run(t, ctx, "connect with a wrong token",
		chromedp.Navigate(in.URL+"/settings/whatsapp"),
		chromedp.WaitVisible(chromedp.CSS("#field-waba_id")),
		chromedp.SendKeys(chromedp.CSS("#field-waba_id"), apptest.SandboxWABAID),
		chromedp.SendKeys(chromedp.CSS("#field-name"), "Lucky Shrub"),
		chromedp.SendKeys(chromedp.CSS("#field-access_token"), "EAAGwrong-token-pasted-from-old-app"),
		chromedp.SendKeys(chromedp.CSS("#field-app_secret"), apptest.SandboxAppSecret),
		chromedp.SendKeys(chromedp.CSS("#field-verify_token"), apptest.SandboxVerify),
		chromedp.Click(chromedp.CSS(`form[action="/settings/whatsapp/wabas"] button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS("#connection-refused")),
	)
	if msg := text(t, ctx, "#connection-refused .alert"); !strings.Contains(msg, "Meta error 190") {
		t.Errorf("the refusal reads %q", msg)
	}
	atBothWidths(t, ctx, "whatsapp-refused")
	run(t, ctx, "save anyway",
		chromedp.Click(chromedp.CSS(`form[action="/settings/whatsapp/wabas/save-anyway"] button`)),
		chromedp.WaitVisible(chromedp.CSS(`a[href$="/disconnect"]`)),
	)
	atBothWidths(t, ctx, "whatsapp-saved-anyway")
	run(t, ctx, "open the disconnect confirmation",
		chromedp.Click(chromedp.CSS(`a[href$="/disconnect"]`)),
		chromedp.WaitVisible(chromedp.CSS("#disconnect-consequences")),
	)
	atBothWidths(t, ctx, "whatsapp-disconnect")
	run(t, ctx, "disconnect",
		chromedp.Click(chromedp.CSS(`form[action$="/disconnect"] button`)),
		chromedp.WaitVisible(chromedp.CSS("#disconnected-wabas")),
	)
	if got := text(t, ctx, "#disconnected-wabas"); !strings.Contains(got, "Lucky Shrub") {
		t.Errorf("the disconnected accounts list reads %q", got)
	}
	if count(t, ctx, `a[href$="/disconnect"]`) != 0 {
		t.Error("the account is still offered for disconnection")
	}
	atBothWidths(t, ctx, "whatsapp-disconnected")
}

// Item 18: empty states that match the page, a confirmation before deactivating, and a 2FA key
// that never breaks inside a group of four on a phone.
func TestEmptyStatesConfirmationAndKeyGroups(t *testing.T) {
	in := apptest.Start(t)
	in.CreateMember("ada@example.com", "Ada Admin", authz.RoleAdministrator, adminPassword)
	sam := in.CreateMember("sam@example.com", "Sam Analyst", authz.RoleAnalyst, adminPassword)
	ctx := browser(t)
	signIn(t, ctx, in, "ada@example.com", adminPassword)
	run(t, ctx, "templates without an account",
		chromedp.Navigate(in.URL+"/templates"),
		chromedp.WaitVisible(chromedp.CSS("#tpl-no-account")),
	)
	atBothWidths(t, ctx, "templates-no-account")
	run(t, ctx, "follow the link to connect one",
		chromedp.Click(chromedp.CSS(`#tpl-no-account a[href="/settings/whatsapp"]`)),
		chromedp.WaitVisible(chromedp.CSS("#field-waba_id")),
	)
	run(t, ctx, "phone numbers without an account",
		chromedp.Navigate(in.URL+"/numbers"),
		chromedp.WaitVisible(chromedp.CSS(`.empty-state a[href="/settings/whatsapp"]`)),
	)
	atBothWidths(t, ctx, "numbers-empty")
	run(t, ctx, "roles page",
		chromedp.Navigate(in.URL+"/roles"),
		chromedp.WaitVisible(chromedp.CSS(".page-header__title")),
	)
	if body := text(t, ctx, "main"); strings.Contains(body, "1 members") {
		t.Error("the roles page says \"1 members\"")
	}
	atBothWidths(t, ctx, "roles")

	member := in.URL + "/members/" + strconv.FormatInt(sam.ID, 10)
	run(t, ctx, "ask to deactivate",
		chromedp.Navigate(member),
		chromedp.WaitVisible(chromedp.CSS(`a[href$="/deactivate"]`)),
		chromedp.Click(chromedp.CSS(`a[href$="/deactivate"]`)),
		chromedp.WaitVisible(chromedp.CSS(`form[action$="/deactivate"] button`)),
	)
	if h := text(t, ctx, ".page-header__title"); h != "Deactivate Sam Analyst?" {
		t.Errorf("the confirmation is titled %q", h)
	}
	atBothWidths(t, ctx, "deactivate-confirm")
	if m, _ := in.App.Members.Store().ByID(context.Background(), sam.ID); !m.Active() {
		t.Fatal("the member was deactivated before confirming")
	}
	run(t, ctx, "confirm",
		chromedp.Click(chromedp.CSS(`form[action$="/deactivate"] button`)),
		chromedp.WaitVisible(chromedp.CSS(`form[action$="/reactivate"]`)),
	)
	if m, _ := in.App.Members.Store().ByID(context.Background(), sam.ID); m.Active() {
		t.Error("confirming did not deactivate the member")
	}
	signOut(t, ctx)

	// A member without 2FA enrols on a phone.
	in.CreateMemberWithout2FA("kim@example.com", "Kim", authz.RoleAnalyst, adminPassword)
	run(t, ctx, "phone width", chromedp.EmulateViewport(390, 844))
	signIn(t, ctx, in, "kim@example.com", adminPassword)
	run(t, ctx, "open enrolment",
		chromedp.Navigate(in.URL+"/account/2fa"),
		chromedp.WaitVisible(chromedp.CSS("#totp-secret")),
	)
	groups, err := chromedp.Run(ctx, chromedp.Evaluate[[]float64](
		`[...document.querySelectorAll("#totp-secret .key-group")].map(g => g.getClientRects().length)`))
	if err != nil {
		t.Fatal(err)
	}
	if len(groups) < 8 {
		t.Fatalf("the key is shown in %d groups", len(groups))
	}
	for i, lines := range groups {
		if lines != 1 {
			t.Errorf("group %d of the key is broken over %v lines", i+1, lines)
		}
	}
	lines, err := chromedp.Run(ctx, chromedp.Evaluate[float64](
		`new Set([...document.querySelectorAll("#totp-secret .key-group")].map(g => Math.round(g.getBoundingClientRect().top))).size`))
	if err != nil {
		t.Fatal(err)
	}
	if lines < 2 {
		t.Log("the key fits one line at 390 px; the no-break rule was not exercised by wrapping")
	}
	atBothWidths(t, ctx, "enrol-2fa")
}

// Item 9: after its account is disconnected, a conversation keeps its history and says why
// nothing can be sent.
func TestADisconnectedAccountsConversationIsReadOnly(t *testing.T) {
	in := apptest.Start(t)
	ref := in.ConnectSandbox()
	bg := context.Background()
	in.CreateMember("ada@example.com", "Ada Admin", authz.RoleAdministrator, adminPassword)
	if _, err := in.Sim.CustomerSays(bg, apptest.SandboxNumberA, "16505551234", "Sheena Nelson", "Do you deliver olive trees?"); err != nil {
		t.Fatal(err)
	}
	if err := in.App.Workspace.Disconnect(bg, ref); err != nil {
		t.Fatal(err)
	}
	ctx := browser(t)
	signIn(t, ctx, in, "ada@example.com", adminPassword)
	run(t, ctx, "open the conversation",
		chromedp.Navigate(in.URL+"/inbox?box=all"),
		chromedp.WaitVisible(chromedp.CSS(".conversation-item__link")),
		chromedp.Click(chromedp.CSS(".conversation-item__link")),
		chromedp.WaitVisible(chromedp.CSS("#conversation-read-only")),
	)
	if got := text(t, ctx, "#messages"); !strings.Contains(got, "Do you deliver olive trees?") {
		t.Errorf("the history reads %q", got)
	}
	// Internal notes stay possible (they never reach the customer); nothing else does.
	if count(t, ctx, `#composer[data-can-reply="true"]`) != 0 || count(t, ctx, `#composer[data-mode="note"]`) != 1 ||
		count(t, ctx, "#template-form") != 0 || count(t, ctx, "#composer-attach") != 0 {
		t.Error("a disconnected account's conversation offers to send")
	}
	atBothWidths(t, ctx, "conversation-read-only")
}

// Item 13: a canned reply edit refused for a missing title keeps the new text in its own form.
func TestARefusedCannedEditKeepsTheText(t *testing.T) {
	in := apptest.Start(t)
	in.CreateMember("ada@example.com", "Ada Admin", authz.RoleAdministrator, adminPassword)
	ctx := browser(t)
	signIn(t, ctx, in, "ada@example.com", adminPassword)
	run(t, ctx, "add a canned reply",
		chromedp.Navigate(in.URL+"/canned"),
		chromedp.WaitVisible(chromedp.CSS("#canned-body")),
		chromedp.SendKeys(chromedp.CSS("#field-title"), "Hours"),
		chromedp.SendKeys(chromedp.CSS("#canned-body"), "9 to 5"),
		chromedp.Click(chromedp.CSS(`form[action="/canned"] button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`form[action^="/canned/"] textarea`)),
	)
	text := "Monday to Saturday, 9:00 to 18:00"
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`(() => {
		const f = document.querySelector('form[action^="/canned/"]');
		f.querySelector("input[name=title]").value = "";
		f.querySelector("textarea").value = `+strconv.Quote(text)+`;
		return true })()`)); err != nil {
		t.Fatal(err)
	}
	run(t, ctx, "save it without a title",
		chromedp.Click(chromedp.CSS(`form[action^="/canned/"] button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`form[action^="/canned/"] .field__error`)),
	)
	if got := value(t, ctx, `form[action^="/canned/"] textarea`); got != text {
		t.Errorf("the refused edit holds %q, want the new text", got)
	}
	if got := value(t, ctx, "#canned-body"); got != "" {
		t.Errorf("the refused edit filled the new-reply form with %q", got)
	}
	atBothWidths(t, ctx, "canned-refused")
	run(t, ctx, "security settings", chromedp.Navigate(in.URL+"/settings/security"), chromedp.WaitVisible(chromedp.CSS("main")))
	atBothWidths(t, ctx, "security-settings")
}
