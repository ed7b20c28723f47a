package web_test

import (
	"bytes"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/authz"
)

// apiFile is one file part of a multipart API request.
type apiFile struct {
	name, mimeType string
	data           []byte
}

// upload posts a multipart form with the file (and any extra fields) as an integration would,
// with a fresh random boundary each time, and checks the answer against the OpenAPI document.
func (a *apiClient) upload(path string, f apiFile, fields map[string]string, headers ...string) apiResponse {
	a.t.Helper()
	var body bytes.Buffer
	w := multipart.NewWriter(&body)
	for k, v := range fields {
		_ = w.WriteField(k, v)
	}
	h := textproto.MIMEHeader{}
	h.Set("Content-Disposition", `form-data; name="file"; filename="`+f.name+`"`)
	h.Set("Content-Type", f.mimeType)
	part, _ := w.CreatePart(h)
	_, _ = part.Write(f.data)
	_ = w.Close()
	req, err := http.NewRequest(http.MethodPost, a.in.URL+path, &body)
	if err != nil {
		a.t.Fatal(err)
	}
	req.Header.Set("Content-Type", w.FormDataContentType())
	req.Header.Set("Authorization", "Bearer "+a.key)
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := a.http.Do(req)
	if err != nil {
		a.t.Fatalf("POST %s: %v", path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	out := apiResponse{Status: resp.StatusCode, Header: resp.Header, Body: string(b)}
	if a.check != nil {
		req.Body = nil
		a.check(req, out)
	}
	return out
}

// A key with messages.send_media sends a file the way the composer does: uploaded to the Cloud
// API, then sent by its media id. Without the permission, with a file WhatsApp refuses, or
// again with the same Idempotency-Key, nothing (more) reaches the Cloud API.
func TestAPISendsMedia(t *testing.T) {
	f := newAPIFixture(t)
	in := f.in
	path := conv(f.convA) + "/messages/media"
	pic := testPNG(t)
	outgoing := func() int {
		return f.count(t, `SELECT count(*) FROM messages WHERE conversation_id = ? AND direction = 'out'`, f.convA)
	}

	// Without messages.send_media: 403, nothing sent, nothing uploaded.
	_, noMedia := makeKey(t, in, f.admin, authz.NewSet(authz.ConversationsViewAll, authz.MessagesSendText))
	before := len(in.Sim.Sent())
	r := newAPIClient(t, in, noMedia).upload(path, apiFile{"photo.png", "image/png", pic}, nil)
	if r.Status != http.StatusForbidden || !strings.HasSuffix(r.problemType(), "#problem-missing-scope") {
		t.Fatalf("a key without messages.send_media: %d %s", r.Status, r.Body)
	}
	if len(in.Sim.Sent()) != before || outgoing() != 0 {
		t.Fatal("a key without messages.send_media sent a file")
	}

	k, secret := makeKey(t, in, f.admin, authz.NewSet(authz.ConversationsViewAll, authz.MessagesSendMedia))
	api := newAPIClient(t, in, secret)

	// Files WhatsApp would refuse: a problem naming the field, before anything is uploaded.
	big := append([]byte("\x89PNG\r\n\x1a\n"), make([]byte, 5<<20)...)
	for _, bad := range []struct {
		file   apiFile
		fields map[string]string
		field  string
		want   string
	}{
		{apiFile{"setup.exe", "application/x-msdownload", []byte("MZ...")}, nil, "file", "does not accept this kind of file"},
		{apiFile{"huge.png", "image/png", big}, nil, "file", "up to 5 MB"},
		{apiFile{"note.ogg", "audio/ogg", []byte("OggS....")}, map[string]string{"caption": "listen"}, "caption", "without a caption"},
		{apiFile{"photo.png", "image/png", pic}, map[string]string{"title": "x"}, "title", "not part of the request"},
	} {
		r := api.upload(path, bad.file, bad.fields)
		if r.Status != http.StatusUnprocessableEntity || !strings.HasSuffix(r.problemType(), "#problem-validation-failed") ||
			!strings.Contains(r.Body, `"field":"`+bad.field+`"`) || !strings.Contains(r.Body, bad.want) {
			t.Errorf("%s: %d %s", bad.file.name, r.Status, r.Body)
		}
	}
	if r := api.post(path, `{"file": "aGVsbG8="}`); r.Status != http.StatusUnsupportedMediaType {
		t.Errorf("a JSON body: %d %s", r.Status, r.Body)
	}
	if len(in.Sim.Sent()) != before || outgoing() != 0 {
		t.Fatal("a refused file reached the Cloud API")
	}

	// A good image, twice with the same Idempotency-Key (a new boundary each time): sent once.
	first := api.upload(path, apiFile{"damage.png", "image/png", pic}, map[string]string{"caption": "The replacement part"}, "Idempotency-Key", "claim-77-photo")
	if first.Status != http.StatusCreated {
		t.Fatalf("send an image: %d %s", first.Status, first.Body)
	}
	var msg struct {
		ID   int64
		Type string
		Text string
	}
	_ = json.Unmarshal([]byte(first.Body), &msg)
	if msg.Type != "image" || msg.Text != "The replacement part" {
		t.Errorf("the answer: %s", first.Body)
	}
	sent := in.Sim.Sent()
	if len(sent) != before+1 {
		t.Fatalf("the simulator got %d messages, want 1", len(sent)-before)
	}
	last := sent[len(sent)-1]
	if last.Type != "image" || last.Err != nil || last.Message.Image == nil || last.Message.Image.ID == "" || last.Message.Image.Caption != "The replacement part" {
		t.Fatalf("the simulator got %+v", last)
	}
	if got, mt, ok := in.Sim.Uploaded(last.Message.Image.ID); !ok || !bytes.Equal(got, pic) || mt != "image/png" {
		t.Fatalf("uploaded %d bytes of %q (%v)", len(got), mt, ok)
	}
	again := api.upload(path, apiFile{"damage.png", "image/png", pic}, map[string]string{"caption": "The replacement part"}, "Idempotency-Key", "claim-77-photo")
	if again.Status != http.StatusCreated || again.Body != first.Body || again.Header.Get("Idempotent-Replayed") != "true" {
		t.Errorf("retry: %d %s replayed=%q", again.Status, again.Body, again.Header.Get("Idempotent-Replayed"))
	}
	other := api.upload(path, apiFile{"other.png", "image/png", pic}, nil, "Idempotency-Key", "claim-77-photo")
	if other.Status != http.StatusUnprocessableEntity || !strings.HasSuffix(other.problemType(), "#problem-idempotency-key-reused") {
		t.Errorf("the same key with another file: %d %s", other.Status, other.Body)
	}
	if len(in.Sim.Sent()) != before+1 || outgoing() != 1 {
		t.Errorf("%d messages sent for one Idempotency-Key, want 1", outgoing())
	}
	if n := f.count(t, `SELECT count(*) FROM audit_events WHERE action = 'message.sent' AND actor_type = 'api_key' AND actor_id = ? AND outcome = 'success'`, strconv.FormatInt(k.ID, 10)); n != 1 {
		t.Errorf("message.sent events by the key: %d, want 1", n)
	}
	if n := f.count(t, `SELECT count(*) FROM media WHERE conversation_id = ? AND kind = 'image'`, f.convA); n != 1 {
		t.Errorf("stored files of the conversation: %d, want 1", n)
	}

	// A day after the customer's last message the window is closed: refused before upload.
	in.Clock.Advance(25 * time.Hour)
	closed := api.upload(path, apiFile{"late.png", "image/png", pic}, nil)
	if closed.Status != http.StatusConflict || !strings.HasSuffix(closed.problemType(), "#problem-window-closed") {
		t.Errorf("outside the 24-hour window: %d %s", closed.Status, closed.Body)
	}
	if len(in.Sim.Sent()) != before+1 || outgoing() != 1 {
		t.Error("a file was sent outside the 24-hour window")
	}
}
