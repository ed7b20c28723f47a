package e2e

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/switchboard/switchboard/internal/app/apptest"
	"github.com/switchboard/switchboard/internal/authz"
)

// A Developer adds a webhook endpoint on a desktop and again on a phone, copies the signing
// secret from the one page that shows it, sends a test event to a receiver on this machine
// (the sandbox allows loopback), and sees it delivered in the endpoint's log.
func TestAddAWebhookEndpointAndSendATestEvent(t *testing.T) {
	in := apptest.StartWith(t, apptest.Options{Sandbox: true})
	in.ConnectSandbox() // calls to the Cloud API, for its log
	var got atomic.Int64
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		if r.Header.Get("webhook-signature") != "" {
			got.Add(1)
		}
		_, _ = io.WriteString(w, `{"ok":true}`)
	}))
	defer rcv.Close()
	in.CreateMember("dev@example.com", "Dana Developer", authz.RoleDeveloper, adminPassword)
	ctx := browser(t)
	signIn(t, ctx, in, "dev@example.com", adminPassword)

	for i, width := range []int64{1366, 390} {
		viewport := chromedp.EmulateViewport(width, 900)
		if width == 390 {
			viewport = chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile)
		}
		name := map[int64]string{1366: "desktop", 390: "phone"}[width]
		run(t, ctx, name+": open the Webhooks tab",
			viewport,
			chromedp.Navigate(in.URL+"/developers"),
			chromedp.Click(chromedp.CSS(`.tabs a[href="/developers/webhooks"]`)),
			chromedp.WaitVisible(chromedp.CSS(`.page-header a[href="/developers/webhooks/new"]`)),
		)
		if i == 0 {
			atBothWidths(t, ctx, "webhooks-empty")
			run(t, ctx, "desktop again", viewport)
		}
		run(t, ctx, name+": fill in the endpoint",
			chromedp.Click(chromedp.CSS(`.page-header a[href="/developers/webhooks/new"]`)),
			chromedp.WaitVisible(chromedp.CSS("#field-url")),
			chromedp.SendKeys(chromedp.CSS("#field-url"), rcv.URL+"/hooks/"+name),
			chromedp.SendKeys(chromedp.CSS("#field-description"), "Template decisions to the "+name+" CRM"),
			chromedp.Click(chromedp.CSS(`input[name=event][value="template.status"]`)),
		)
		screenshot(t, ctx, name+"-form")
		run(t, ctx, name+": add it",
			chromedp.Click(chromedp.CSS("form button[type=submit].btn--primary")),
			chromedp.WaitVisible(chromedp.CSS("#new-webhook-secret")),
		)
		secret := value(t, ctx, "#new-webhook-secret")
		if !strings.HasPrefix(secret, "whsec_") {
			t.Fatalf("signing secret %q", secret)
		}
		screenshot(t, ctx, name+"-added")
		before := got.Load()
		run(t, ctx, name+": send a test event",
			chromedp.Click(chromedp.CSS(`form[action$="/test"] button`)),
			chromedp.WaitVisible(chromedp.CSS(`#delivery-log .badge--green`)),
		)
		if got.Load() != before+1 {
			t.Errorf("%s: the receiver got %d signed events, want %d", name, got.Load(), before+1)
		}
		log := text(t, ctx, "#delivery-log")
		if !strings.Contains(log, "webhook.test") || !strings.Contains(log, "200") || !strings.Contains(log, `{"ok":true}`) {
			t.Errorf("%s: the delivery log shows %q", name, log)
		}
		html, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.documentElement.outerHTML`))
		if err != nil || strings.Contains(html, secret) {
			t.Errorf("%s: the secret is shown again after sending (%v)", name, err)
		}
		atBothWidths(t, ctx, name+"-log")
	}
	fitsPhoneWidth(t, ctx, in.URL+"/developers/webhooks")
	run(t, ctx, "open the Cloud API log",
		chromedp.EmulateViewport(1366, 900),
		chromedp.Navigate(in.URL+"/developers/webhooks"),
		chromedp.Click(chromedp.CSS(`.tabs a[href="/developers/api-log"]`)),
		chromedp.WaitVisible(chromedp.CSS(`.table`)),
	)
	if log := text(t, ctx, ".table"); !strings.Contains(log, "/phone_numbers") || strings.Contains(log, apptest.SandboxToken) {
		t.Errorf("the Cloud API log shows %q", log)
	}
	atBothWidths(t, ctx, "api-log")
}
