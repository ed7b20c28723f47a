package e2e

import (
	"bytes"
	"context"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/switchboard/switchboard/internal/app/apptest"
	"github.com/switchboard/switchboard/internal/authz"
	"github.com/switchboard/switchboard/internal/whatsapp"
)

func greenPNG(t *testing.T, w, h int) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.Set(x, y, color.RGBA{R: 30, G: uint8(100 + x%120), B: uint8(60 + y%100), A: 255})
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// A customer's photo arrives through a signed webhook from the simulator; the assignee sees it
// inline in the conversation, pushed without a reload. The agent then sends a file with the
// picker and sees it in the conversation; the Cloud API got the upload and the media id. Another
// agent, who may not see the conversation, gets 404 for the photo's address.
func TestReceiveAndSendMedia(t *testing.T) {
	in := apptest.Start(t)
	in.ConnectSandbox()
	ctx := context.Background()
	admin := in.CreateMember("ada@example.com", "Ada Admin", authz.RoleAdministrator, adminPassword)
	agent := in.CreateMember("aga@example.com", "Aga Agent", authz.RoleAgent, adminPassword)
	in.CreateMember("otto@example.com", "Otto Other", authz.RoleAgent, adminPassword)
	if _, err := in.Sim.CustomerSays(ctx, apptest.SandboxNumberA, "16505551234", "Sheena Nelson", "My olive tree arrived damaged."); err != nil {
		t.Fatal(err)
	}
	adminP := principal(t, in, "ada@example.com")
	conv := conversationWith(t, in, adminP, "Sheena Nelson")
	if err := in.App.Inbox.Assign(ctx, adminP, conv, agent.ID); err != nil {
		t.Fatal(err)
	}
	_ = admin

	b := browser(t)
	signIn(t, b, in, "aga@example.com", adminPassword)
	run(t, b, "open the conversation",
		chromedp.Navigate(in.URL+"/conversations/"+itoa(conv)),
		chromedp.WaitVisible(chromedp.CSS("#reply-text")),
	)
	if _, err := in.Sim.CustomerSendsMedia(ctx, apptest.SandboxNumberA, "16505551234", "Sheena Nelson", whatsapp.TypeImage, "image/png",
		greenPNG(t, 240, 160), "This is how it looks", ""); err != nil {
		t.Fatal(err)
	}
	runWithin(t, b, 20*time.Second, "the photo appears, fetched and pushed",
		chromedp.WaitVisible(chromedp.CSS(`.message--in img.message__image`)),
	)
	loaded, err := chromedp.Run(b, chromedp.Evaluate[bool](`(() => { const i = document.querySelector('.message--in img.message__image'); return i.complete && i.naturalWidth === 240 })()`))
	if err != nil || !loaded {
		// The image may still be decoding: give it a moment.
		run(t, b, "wait for the image to load", chromedp.Poll[chromedp.Void](`document.querySelector('.message--in img.message__image').naturalWidth === 240`, chromedp.WithPollingTimeout(10*time.Second)))
	}
	if !strings.Contains(text(t, b, "#messages"), "This is how it looks") {
		t.Error("the caption is not shown")
	}
	photoURL, err := chromedp.Run(b, chromedp.Evaluate[string](`document.querySelector('.message--in img.message__image').getAttribute('src')`))
	if err != nil {
		t.Fatal(err)
	}
	atBothWidths(t, b, "received-photo")

	dir := t.TempDir()
	file := filepath.Join(dir, "care-guide.png")
	if err := os.WriteFile(file, greenPNG(t, 120, 80), 0o600); err != nil {
		t.Fatal(err)
	}
	run(t, b, "attach a file",
		chromedp.Navigate(in.URL+"/conversations/"+itoa(conv)),
		chromedp.WaitVisible(chromedp.CSS("#composer-attach")),
		chromedp.Click(chromedp.CSS("#composer-attach")),
		chromedp.WaitVisible(chromedp.CSS("#media-caption")),
		chromedp.SetUploadFiles(chromedp.CSS("#media-file"), []string{file}),
		chromedp.SendKeys(chromedp.CSS("#media-caption"), "Our care guide for olive trees"),
	)
	bothWidths(t, b, "file-chosen", "#media-dialog")
	run(t, b, "send it",
		chromedp.Click(chromedp.CSS(`#media-form button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`.message--out img.message__image`)),
	)
	if !strings.Contains(text(t, b, "#messages"), "Our care guide for olive trees") {
		t.Error("the sent caption is not shown")
	}
	sent := in.Sim.Sent()
	last := sent[len(sent)-1]
	if last.Type != "image" || last.Message.Image == nil || last.Message.Image.ID == "" {
		t.Fatalf("the simulator got %+v", last)
	}
	if _, mimeType, ok := in.Sim.Uploaded(last.Message.Image.ID); !ok || mimeType != "image/png" {
		t.Fatalf("the upload is missing at the simulator (%q)", mimeType)
	}
	atBothWidths(t, b, "sent-file")
	signOut(t, b)

	signIn(t, b, in, "otto@example.com", adminPassword)
	run(t, b, "another agent asks for the photo", chromedp.Navigate(in.URL+photoURL), chromedp.WaitVisible(chromedp.CSS("main")))
	if body := text(t, b, "main"); !strings.Contains(strings.ToLower(body), "not found") {
		t.Errorf("another agent was shown %q for the photo", body)
	}
	screenshot(t, b, "photo-404")
}
