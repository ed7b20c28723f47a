package e2e

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/switchboard/switchboard/internal/app/apptest"
	"github.com/switchboard/switchboard/internal/authz"
)

// An administrator creates an API key on the Developers page, copies it from the one page that
// shows it, and an integration uses it; the list never shows it again.
func TestCreateAnAPIKeySeeItOnceAndUseIt(t *testing.T) {
	in := apptest.Start(t)
	in.ConnectSandbox()
	if _, err := in.Sim.CustomerSays(context.Background(), apptest.SandboxNumberA, "16505551234", "Sheena Nelson", "Is my order on its way?"); err != nil {
		t.Fatal(err)
	}
	in.CreateMember("ada@example.com", "Ada Admin", authz.RoleAdministrator, adminPassword)
	ctx := browser(t)
	signIn(t, ctx, in, "ada@example.com", adminPassword)

	run(t, ctx, "open the Developers page",
		chromedp.EmulateViewport(1366, 900),
		chromedp.Click(chromedp.CSS(`.sidebar a[href="/developers"]`)),
		chromedp.WaitVisible(chromedp.CSS(`.page-header a[href="/developers/keys/new"]`)),
	)
	screenshot(t, ctx, "empty")
	run(t, ctx, "fill in the new key",
		chromedp.Click(chromedp.CSS(`.page-header a[href="/developers/keys/new"]`)),
		chromedp.WaitVisible(chromedp.CSS("#field-name")),
		chromedp.SendKeys(chromedp.CSS("#field-name"), "n8n order sync"),
		chromedp.Click(chromedp.CSS(`input[name=scope][value="conversations.view_all"]`)),
		chromedp.Click(chromedp.CSS(`input[name=scope][value="messages.send_text"]`)),
	)
	screenshot(t, ctx, "form")
	run(t, ctx, "create the key",
		chromedp.Click(chromedp.CSS("form button[type=submit].btn--primary")),
		chromedp.WaitVisible(chromedp.CSS("#new-key-secret")),
	)
	screenshot(t, ctx, "created")
	secret, err := chromedp.Run(ctx, chromedp.Value(chromedp.CSS("#new-key-secret")))
	if err != nil || !strings.HasPrefix(secret, "sb_live_") {
		t.Fatalf("secret %q: %v", secret, err)
	}

	req, _ := http.NewRequest(http.MethodGet, in.URL+"/api/v1/conversations", nil)
	req.Header.Set("Authorization", "Bearer "+secret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "Is my order on its way?") {
		t.Fatalf("the key on the API: %d %s", resp.StatusCode, body)
	}

	run(t, ctx, "reload the list", chromedp.Navigate(in.URL+"/developers"), chromedp.WaitVisible(chromedp.CSS(".card__title")))
	html, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.documentElement.outerHTML`))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(html, secret) || strings.Contains(html, secret[8:30]) {
		t.Error("the secret is shown again after the page was left")
	}
	for _, want := range []string{"n8n order sync", "…" + secret[len(secret)-4:], "Conversations: view all", "127.0.0.1"} {
		if !strings.Contains(html, want) {
			t.Errorf("the list lacks %q", want)
		}
	}
	screenshot(t, ctx, "list")
	fitsPhoneWidth(t, ctx, in.URL+"/developers")
	fitsPhoneWidth(t, ctx, in.URL+"/developers/keys/new")

	run(t, ctx, "open the API reference",
		chromedp.EmulateViewport(1366, 900),
		chromedp.Navigate(in.URL+"/developers"),
		chromedp.Click(chromedp.CSS(`.page-header a[href="/api/v1/docs"]`)),
		chromedp.WaitVisible(chromedp.CSS("#listConversations")),
	)
	screenshot(t, ctx, "reference")
	fitsPhoneWidth(t, ctx, in.URL+"/api/v1/docs")
}
