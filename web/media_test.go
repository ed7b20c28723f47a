package web_test

import (
	"bytes"
	"context"
	"image"
	"image/color"
	"image/png"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/app/apptest"
	"github.com/switchboard/switchboard/internal/authz"
	"github.com/switchboard/switchboard/internal/inbox"
	"github.com/switchboard/switchboard/internal/whatsapp"
)

const mediaPassword = "harbour lights over the quiet bay"

// testPNG is a small real PNG (a green square), so browsers and image decoders accept it.
func testPNG(t testing.TB) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 48, 32))
	for y := range 32 {
		for x := range 48 {
			img.Set(x, y, color.RGBA{R: 20, G: 140 + uint8(x), B: 90, A: 255})
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// storedMedia waits for the fetcher to store the media of the newest message of conv.
func storedMedia(t *testing.T, in *apptest.Instance, p *authz.Principal, conv int64) inbox.MediaFile {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		msgs, err := in.App.Inbox.Messages(context.Background(), p, conv, 0, 5)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range msgs {
			if m.Media != nil && m.Media.State == inbox.MediaStored {
				return *m.Media
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatal("the image was not fetched from the simulator")
	return inbox.MediaFile{}
}

func onlyConversation(t *testing.T, in *apptest.Instance, p *authz.Principal) int64 {
	t.Helper()
	page, err := in.App.Inbox.List(context.Background(), p, inbox.ListQuery{Box: inbox.BoxAll})
	if err != nil || len(page.Conversations) != 1 {
		t.Fatalf("conversations %+v %v", page.Conversations, err)
	}
	return page.Conversations[0].ID
}

// A customer's image arrives by signed webhook, is fetched from the Cloud API (media id, URL,
// download with the token) and is served to the members who see the conversation: the
// assignee gets it, another agent gets 404 as for a conversation that does not exist.
func TestMediaRouteFollowsTheConversationsVisibility(t *testing.T) {
	in := apptest.Start(t)
	in.ConnectSandbox()
	ctx := context.Background()
	admin := in.CreateMember("ada@example.com", "Ada Admin", authz.RoleAdministrator, mediaPassword)
	mine := in.CreateMember("aga@example.com", "Aga Agent", authz.RoleAgent, mediaPassword)
	in.CreateMember("otto@example.com", "Otto Other", authz.RoleAgent, mediaPassword)
	pic := testPNG(t)
	if _, err := in.Sim.CustomerSendsMedia(ctx, apptest.SandboxNumberA, "16505551234", "Sheena Nelson", whatsapp.TypeImage, "image/png", pic, "The damage", ""); err != nil {
		t.Fatal(err)
	}
	adminP, _, err := in.App.Members.Store().Principal(ctx, admin.ID)
	if err != nil {
		t.Fatal(err)
	}
	conv := onlyConversation(t, in, adminP)
	if err := in.App.Inbox.Assign(ctx, adminP, conv, mine.ID); err != nil {
		t.Fatal(err)
	}
	md := storedMedia(t, in, adminP, conv)
	path := "/media/" + strconv.FormatInt(md.ID, 10)

	other := in.Client()
	other.SignIn("otto@example.com", mediaPassword)
	if r := other.Get(path); r.Status != http.StatusNotFound || strings.Contains(r.Body, "PNG") {
		t.Fatalf("an agent outside the conversation got %d", r.Status)
	}
	if r := other.Get("/media/999999"); r.Status != http.StatusNotFound {
		t.Fatalf("a missing file answered %d", r.Status)
	}
	if r := in.Client().Get(path); r.Status == http.StatusOK {
		t.Fatal("the media route answered without a session")
	}

	agent := in.Client()
	agent.SignIn("aga@example.com", mediaPassword)
	r := agent.Get(path)
	if r.Status != http.StatusOK || r.Body != string(pic) {
		t.Fatalf("the assignee got %d (%d bytes)", r.Status, len(r.Body))
	}
	if r.Header.Get("Content-Type") != "image/png" || r.Header.Get("X-Content-Type-Options") != "nosniff" ||
		!strings.Contains(r.Header.Get("Content-Security-Policy"), "sandbox") {
		t.Fatalf("served with %v", r.Header)
	}
	page := agent.Get("/conversations/" + strconv.FormatInt(conv, 10))
	if !strings.Contains(page.Body, `src="`+path+`"`) || !strings.Contains(page.Body, "The damage") {
		t.Fatal("the conversation page does not show the image with its caption")
	}
}

func multipartUpload(t *testing.T, c *apptest.Client, path, fileName, mimeType string, data []byte, caption string) apptest.Response {
	t.Helper()
	var body bytes.Buffer
	w := multipart.NewWriter(&body)
	_ = w.WriteField("_csrf", c.CSRFToken())
	_ = w.WriteField("caption", caption)
	h := textproto.MIMEHeader{}
	h.Set("Content-Disposition", `form-data; name="file"; filename="`+fileName+`"`)
	h.Set("Content-Type", mimeType)
	part, _ := w.CreatePart(h)
	_, _ = part.Write(data)
	_ = w.Close()
	req, err := http.NewRequest(http.MethodPost, c.URL(path), &body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", w.FormDataContentType())
	return c.Do(req)
}

// Sending a file uploads it to the Cloud API and sends the media id; a file WhatsApp would
// refuse is refused before upload with a readable reason, and a member without
// messages.send_media is refused. Neither refusal sends or stores anything.
func TestSendingAFile(t *testing.T) {
	in := apptest.Start(t)
	in.ConnectSandbox()
	ctx := context.Background()
	admin := in.CreateMember("ada@example.com", "Ada Admin", authz.RoleAdministrator, mediaPassword)
	agentM := in.CreateMember("aga@example.com", "Aga Agent", authz.RoleAgent, mediaPassword)
	support := in.CreateMember("sue@example.com", "Sue Support", authz.RoleSupport, mediaPassword)
	if _, err := in.Sim.CustomerSays(ctx, apptest.SandboxNumberA, "16505551234", "Sheena Nelson", "Can you send the invoice?"); err != nil {
		t.Fatal(err)
	}
	adminP, _, _ := in.App.Members.Store().Principal(ctx, admin.ID)
	conv := onlyConversation(t, in, adminP)
	for _, m := range []int64{agentM.ID} {
		if err := in.App.Inbox.Assign(ctx, adminP, conv, m); err != nil {
			t.Fatal(err)
		}
	}
	path := "/conversations/" + strconv.FormatInt(conv, 10) + "/media"
	agent := in.Client()
	agent.SignIn("aga@example.com", mediaPassword)

	before := len(in.Sim.Sent())
	r := multipartUpload(t, agent, path, "setup.exe", "application/x-msdownload", []byte("MZ..."), "")
	if r.Status != http.StatusUnprocessableEntity || !strings.Contains(r.Body, "WhatsApp does not accept this kind of file") {
		t.Fatalf("an executable: %d", r.Status)
	}
	big := append([]byte("\x89PNG\r\n\x1a\n"), make([]byte, 5<<20)...)
	r = multipartUpload(t, agent, path, "huge.png", "image/png", big, "")
	if r.Status != http.StatusUnprocessableEntity || !strings.Contains(r.Body, "up to 5 MB") {
		t.Fatalf("a 5 MB+ image: %d", r.Status)
	}
	if len(in.Sim.Sent()) != before {
		t.Fatal("a refused file reached the Cloud API")
	}

	sup := in.Client()
	sup.SignIn("sue@example.com", mediaPassword)
	_ = support
	if r := multipartUpload(t, sup, path, "a.png", "image/png", testPNG(t), ""); r.Status != http.StatusForbidden && r.Status != http.StatusNotFound {
		t.Fatalf("support without messages.send_media: %d", r.Status)
	}

	pdf := []byte("%PDF-1.4\n% Lucky Shrub invoice\n")
	r = multipartUpload(t, agent, path, "invoice-860198.pdf", "application/pdf", pdf, "Your invoice")
	if r.Status != http.StatusSeeOther {
		t.Fatalf("sending a PDF: %d %s", r.Status, r.Body)
	}
	sent := in.Sim.Sent()
	last := sent[len(sent)-1]
	if last.Type != "document" || last.Err != nil || last.Message.Document == nil || last.Message.Document.ID == "" ||
		last.Message.Document.Filename != "invoice-860198.pdf" {
		t.Fatalf("the simulator got %+v", last)
	}
	got, mimeType, ok := in.Sim.Uploaded(last.Message.Document.ID)
	if !ok || string(got) != string(pdf) || mimeType != "application/pdf" {
		t.Fatalf("uploaded %q %q %v", got, mimeType, ok)
	}
	page := agent.Get("/conversations/" + strconv.FormatInt(conv, 10))
	if !strings.Contains(page.Body, "invoice-860198.pdf") || !strings.Contains(page.Body, `href="/media/`) {
		t.Fatal("the sent document is not shown with a download link")
	}
}
