package e2e

import (
	"context"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/switchboard/switchboard/internal/app/apptest"
	"github.com/switchboard/switchboard/internal/authz"
	"github.com/switchboard/switchboard/internal/inbox"
	"github.com/switchboard/switchboard/internal/members"
)

// builtinRoles are the roles every workspace starts with, in the order the walk signs in.
var builtinRoles = []string{authz.RoleAdministrator, authz.RoleAgent, authz.RoleSupport,
	authz.RoleDeveloper, authz.RoleAnalyst, authz.RoleAuditor}

// walkWidths are a phone (390 px, an iPhone) and a common laptop (1366 px).
var walkWidths = []int64{390, 1366}

// A long token without spaces, as customers paste tracking links and order codes: pages must
// wrap it rather than grow sideways.
const unbrokenText = "https://track.example.com/parcel/ZX9841772301DE?ref=whatsapp&session=8c1f4e2a9b7d6c5e4f3a2b1c0d9e8f7a6b5c4d3e2f1a0b9c8d7e6f5a4b3c2d1e0f"

// busyWorkspace starts a server with what a real workspace has after a few weeks: the sandbox
// WhatsApp Business Account with its two numbers, approved templates, customers who wrote in
// (one conversation assigned), canned replies, one member per built-in role (enrolled in 2FA
// where the role asks for it) and two custom roles. It returns the e-mail of each role's member.
func busyWorkspace(t *testing.T) (*apptest.Instance, map[string]string) {
	t.Helper()
	in := apptest.Start(t)
	in.ConnectSandbox()
	in.ApprovedSandboxTemplate("shipping_notice", "Hi {{1}}, your order {{2}} is on its way.", "Pablo", "860198")
	in.ApprovedSandboxTemplate("appointment_reminder_for_the_spring_planting_workshop_series",
		"Hello {{1}}, a reminder of your planting workshop on {{2}}. Reply STOP to opt out.", "Sheena", "12 April")
	ctx := context.Background()
	emails := map[string]string{}
	for _, key := range builtinRoles {
		email := key + "@example.com"
		name := strings.ToUpper(key[:1]) + key[1:] + " Member"
		in.CreateMember(email, name, key, adminPassword)
		emails[key] = email
	}
	// A member whose name and address are long, as real ones are.
	in.CreateMember("maximiliane.wolkenstein-oberhausen.customer-care@lucky-shrub-gardening-supplies.example.com",
		"Maximiliane Wolkenstein-Oberhausen", authz.RoleAgent, adminPassword)
	admin := principal(t, in, emails[authz.RoleAdministrator])
	for _, c := range []struct{ number, waID, name, text string }{
		{apptest.SandboxNumberA, "16505551234", "Sheena Nelson", "Hi! Do you deliver olive trees to Palo Alto?"},
		{apptest.SandboxNumberA, "16505559876", "+1 650 555 9876", "Is my order on its way? " + unbrokenText},
		{apptest.SandboxNumberB, "4915112341234", "Jonas Weber", "Hallo, meine Monstera hat gelbe Blätter. Was tun?"},
	} {
		if _, err := in.Sim.CustomerSays(ctx, c.number, c.waID, c.name, c.text); err != nil {
			t.Fatal(err)
		}
	}
	page, err := in.App.Inbox.List(ctx, admin, inbox.ListQuery{Box: inbox.BoxAll})
	if err != nil || len(page.Conversations) != 3 {
		t.Fatalf("customers' messages made %d conversations: %v", len(page.Conversations), err)
	}
	// Each role that answers customers has one in "Mine", so the walk opens a conversation;
	// the agent's is the one with the long link.
	assignee := map[string]string{"order": authz.RoleAgent, "olive": authz.RoleAdministrator, "Monstera": authz.RoleSupport}
	for _, c := range page.Conversations {
		for word, role := range assignee {
			if strings.Contains(c.Preview, word) {
				if err := in.App.Inbox.Assign(ctx, admin, c.ID, principal(t, in, emails[role]).MemberID); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	if _, err := in.App.Inbox.CreateCanned(ctx, admin, inbox.CannedInput{Title: "Opening hours",
		Body: "Our shop is open Monday to Saturday, 9:00 to 18:00."}); err != nil {
		t.Fatal(err)
	}
	if _, err := in.App.Inbox.CreateCanned(ctx, admin, inbox.CannedInput{Title: "Track your parcel",
		Body: "Follow your parcel here: " + unbrokenText}); err != nil {
		t.Fatal(err)
	}
	for _, r := range []struct {
		name  string
		perms []authz.Permission
	}{
		{"Marketing lead", []authz.Permission{authz.TemplatesView, authz.TemplatesCreate, authz.TemplatesApprove}},
		{"Night shift supervisors (Berlin)", []authz.Permission{authz.ConversationsViewAll, authz.ConversationsAssign,
			authz.MessagesSendText, authz.MessagesSendTemplate}},
	} {
		if _, err := in.App.Members.CreateRole(ctx, admin, members.RoleInput{Name: r.name}, authz.NewSet(r.perms...)); err != nil {
			t.Fatal(err)
		}
	}
	return in, emails
}

// principal loads the signed-in view of a member, as the server builds it for each request.
func principal(t *testing.T, in *apptest.Instance, email string) *authz.Principal {
	t.Helper()
	ctx := context.Background()
	m, err := in.App.Members.Store().ByEmail(ctx, email)
	if err != nil {
		t.Fatal(err)
	}
	p, _, err := in.App.Members.Store().Principal(ctx, m.ID)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// consoleWatch keeps every console message, uncaught exception and browser log entry of the tab.
type consoleWatch struct {
	mu   sync.Mutex
	msgs []chromedp.ConsoleMessage
}

func watchConsole(ctx context.Context) *consoleWatch {
	w := &consoleWatch{}
	msgs := chromedp.Console(ctx)
	go func() {
		for m, err := range msgs {
			if err != nil {
				return
			}
			w.mu.Lock()
			w.msgs = append(w.msgs, m)
			w.mu.Unlock()
		}
	}()
	return w
}

// errorsSince returns the errors and exceptions after the first n messages, and the new count.
func (w *consoleWatch) errorsSince(n int) ([]string, int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []string
	for _, m := range w.msgs[n:] {
		if m.Type == chromedp.ConsoleError || m.IsException() {
			out = append(out, fmt.Sprintf("%s (%s:%d)", m, m.URL, m.Line))
		}
	}
	return out, len(w.msgs)
}

// settle waits a moment for messages the browser sends after the load event (htmx requests
// that start on load) to arrive; a later one is still caught, on the next page.
func settle(ctx context.Context) { _ = chromedp.Do(ctx, chromedp.Sleep(100*time.Millisecond)) }

// Pages found in the navigation and one level below: the first record a page links to (a path
// ending in an id, such as /members/3 or /conversations/7) and the links among the page's
// header actions (Invite, New role, …).
const (
	navLinksJS = `[...document.querySelectorAll('.sidebar nav a.nav__link, .sidebar .user-menu a[href]')].map(a => a.getAttribute('href'))`
	subLinksJS = `(() => {
		const out = [];
		const rec = [...document.querySelectorAll('main a[href^="/"]')].map(a => a.getAttribute('href'))
			.find(h => /^\/[a-z-]+\/\d+$/.test(h.split(/[?#]/)[0]));
		if (rec) out.push(rec);
		for (const a of document.querySelectorAll('main .page-header__actions a[href^="/"]:not([download])')) out.push(a.getAttribute('href'));
		return out;
	})()`
	// overflowJS names the outermost elements that reach past the right edge of the viewport
	// while their parent does not, so a failure says what to fix.
	overflowJS = `(() => {
		const w = window.innerWidth + 0.5, out = [];
		for (const el of document.querySelectorAll('body *')) {
			const r = el.getBoundingClientRect(), p = el.parentElement.getBoundingClientRect();
			if (r.width > 0 && r.right > w && p.right <= w && el.checkVisibility()) {
				const cls = typeof el.className === 'string' && el.className.trim() ? '.' + el.className.trim().split(/\s+/).join('.') : '';
				const parent = el.parentElement.tagName.toLowerCase() + (typeof el.parentElement.className === 'string' && el.parentElement.className.trim() ? '.' + el.parentElement.className.trim().split(/\s+/).join('.') : '');
				out.push(parent + ' > ' + el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') + cls + ' → ' + Math.round(r.right) + 'px');
				if (out.length === 6) break;
			}
		}
		return out;
	})()`
)

type pageMetrics struct {
	ScrollWidth float64 `json:"scrollWidth"`
	InnerWidth  float64 `json:"innerWidth"`
	Heading     string  `json:"heading"`
	Words       string  `json:"words"`
}

// metricsJS measures the page and collects the words a person reads or hears on it: the
// rendered text and the labels and tooltips of controls. The permission ids the roles matrix
// shows as secondary text, for those who script against them, are left out.
const metricsJS = `(() => {
	const hidden = [...document.querySelectorAll('.matrix__permission-id')];
	hidden.forEach(el => el.dataset.walkText = el.textContent);
	hidden.forEach(el => el.textContent = '');
	const words = [document.body.innerText,
		...[...document.querySelectorAll('[aria-label], [title], [placeholder], img[alt]')]
			.filter(el => !el.classList.contains('matrix__permission-id'))
			.map(el => [el.getAttribute('aria-label'), el.getAttribute('title'), el.getAttribute('placeholder'), el.getAttribute('alt')].join(' '))
	].join('\n');
	hidden.forEach(el => el.textContent = el.dataset.walkText);
	return {scrollWidth: document.documentElement.scrollWidth, innerWidth: window.innerWidth,
		heading: ((document.querySelector('main h1') || {}).textContent || '').trim(), words};
})()`

// permissionID matches any id of the permission catalogue standing on its own (not as part of a
// longer dotted word such as an activity code).
var permissionID = func() *regexp.Regexp {
	var ids []string
	for _, d := range authz.All() {
		ids = append(ids, regexp.QuoteMeta(d.ID))
	}
	return regexp.MustCompile(`(?:^|[^\w.])(` + strings.Join(ids, "|") + `)(?:$|[^\w.]|\.(?:\s|$))`)
}()

// Every page of the navigation, and one level below, for every built-in role at phone and laptop
// width: it answers 200 with its heading, does not scroll sideways, and writes no error to the
// console. Links come from the rendered navigation, so a new page is walked without a change here.
func TestEveryPageForEveryRole(t *testing.T) {
	in, emails := busyWorkspace(t)
	ctx := browserFor(t, 8*time.Minute)
	console := watchConsole(ctx)
	seen := 0
	walked := 0
	for _, role := range builtinRoles {
		run(t, ctx, "laptop width", chromedp.EmulateViewport(1366, 900))
		signIn(t, ctx, in, emails[role], adminPassword)
		var errs []string
		errs, seen = console.errorsSince(seen)
		for _, e := range errs {
			t.Errorf("signing in as %s writes to the console: %s", role, e)
		}
		nav, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](navLinksJS))
		if err != nil || len(nav) < 2 {
			t.Fatalf("%s: navigation links %v: %v", role, nav, err)
		}
		pages := append([]string(nil), nav...)
		visited := map[string]bool{}
		for _, p := range pages {
			visited[p] = true
		}
		for wi, width := range walkWidths {
			t.Run(fmt.Sprintf("%s/%d", role, width), func(t *testing.T) {
				run(t, ctx, "viewport", chromedp.EmulateViewport(width, 900))
				for i := 0; i < len(pages); i++ {
					path := pages[i]
					seen = checkPage(t, ctx, in, console, seen, path, width)
					walked++
					if wi > 0 || i >= len(nav) {
						continue
					}
					subs, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](subLinksJS))
					if err != nil {
						t.Fatalf("links below %s: %v", path, err)
					}
					for _, s := range subs {
						if !visited[s] {
							visited[s] = true
							pages = append(pages, s)
						}
					}
				}
			})
		}
		t.Logf("%s walked %d pages: %s", role, len(pages), strings.Join(pages, " "))
		run(t, ctx, "laptop width", chromedp.EmulateViewport(1366, 900))
		signOut(t, ctx)
	}
	t.Logf("%d page views", walked)
}

var shotName = regexp.MustCompile(`[^a-z0-9]+`)

// checkPage opens path at the current width and reports what a person would notice.
func checkPage(t *testing.T, ctx context.Context, in *apptest.Instance, console *consoleWatch, seen int, path string, width int64) int {
	t.Helper()
	resp, err := chromedp.Run(ctx, chromedp.NavigateResponse(in.URL+path))
	if err != nil {
		t.Errorf("%s: %v", path, err)
		return seen
	}
	if resp.Status != http.StatusOK {
		t.Errorf("%s answers %d", path, resp.Status)
	}
	settle(ctx)
	m, err := chromedp.Run(ctx, chromedp.Evaluate[pageMetrics](metricsJS))
	if err != nil {
		t.Fatalf("%s: measure: %v", path, err)
	}
	if m.Heading == "" {
		t.Errorf("%s has no heading", path)
	}
	// People read labels; ids belong to storage and the API. The activity log records events
	// as they were stored (its readable labels are another page's work), so it is left out.
	if !strings.HasPrefix(path, "/activity") {
		for _, id := range permissionID.FindAllStringSubmatch(m.Words, -1) {
			t.Errorf("%s shows the raw permission id %q", path, id[1])
		}
	}
	if m.ScrollWidth > m.InnerWidth {
		culprits, _ := chromedp.Run(ctx, chromedp.Evaluate[[]string](overflowJS))
		t.Errorf("%s (%q) scrolls sideways at %d px: %v px wide; too wide: %s", path, m.Heading, width, m.ScrollWidth,
			strings.Join(culprits, ", "))
	}
	errs, seen := console.errorsSince(seen)
	for _, e := range errs {
		t.Errorf("%s writes to the console: %s", path, e)
	}
	screenshot(t, ctx, shotName.ReplaceAllString(strings.ToLower(path), "-"))
	return seen
}
