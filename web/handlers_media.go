package web

import (
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/switchboard/switchboard/internal/inbox"
	"github.com/switchboard/switchboard/web/views"
)

// maxUploadBody bounds a file upload's request: Switchboard's own cap on a file, with room for
// the form around it. Every other form stays under the 1 MB limit.
const maxUploadBody = inbox.DefaultMaxMediaBytes + 1<<20

// uploadPaths take bodies up to maxUploadBody (see the body limits in NewServer).
var uploadPaths = map[string]bool{"/conversations/:id/media": true, "/contacts/import": true,
	apiPrefix + "/conversations/:id/messages/media": true}

func isUpload(c echo.Context) bool { return uploadPaths[c.Path()] }

// mediaFile serves a message's file to a member who may see its conversation; anyone else,
// and a file not stored yet, gets 404 exactly like a conversation that does not exist. The
// file is served as an attachment unless it is an image, audio or video of a type browsers
// render safely, with a sandboxing policy of its own: a customer's file is never a page of ours.
func (s *Server) mediaFile(c echo.Context) error {
	f, err := s.Inbox.MediaFile(c.Request().Context(), principalOf(c), pathID(c))
	if err != nil {
		return err
	}
	content, err := s.Inbox.OpenMedia(f)
	if err != nil {
		return err
	}
	defer content.Close()
	h := c.Response().Header()
	ctype, inline := servedType(f.MimeType)
	h.Set(echo.HeaderContentType, ctype)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", "default-src 'none'; sandbox")
	h.Set("Cache-Control", "private, max-age=3600")
	disposition := "attachment"
	if inline {
		disposition = "inline"
	}
	name := f.FileName
	if name == "" {
		name = f.Kind + "-" + strconv.FormatInt(f.ID, 10) + extensionOf(ctype)
	}
	h.Set("Content-Disposition", mime.FormatMediaType(disposition, map[string]string{"filename": name}))
	// ServeContent answers Range requests, which audio and video players need to seek.
	http.ServeContent(c.Response(), c.Request(), "", time.Time{}, content)
	return nil
}

// servedType is the Content-Type a stored file is served with, and whether it may show in the
// page: only image, audio and video types that browsers do not run as documents. SVG is not
// among them (it can carry script), so it downloads.
func servedType(stored string) (string, bool) {
	mt, _, err := mime.ParseMediaType(stored)
	if err != nil {
		return "application/octet-stream", false
	}
	switch mt {
	case "image/jpeg", "image/png", "image/webp", "image/gif",
		"audio/aac", "audio/amr", "audio/mpeg", "audio/mp4", "audio/ogg",
		"video/mp4", "video/3gpp":
		return mt, true
	}
	if strings.ContainsAny(mt, "\r\n") {
		return "application/octet-stream", false
	}
	return mt, false
}

func extensionOf(ctype string) string {
	if exts, _ := mime.ExtensionsByType(ctype); len(exts) > 0 {
		return exts[0]
	}
	return ""
}

// sendMedia sends the uploaded file of the reply box. Without JavaScript it is a plain form
// post; app.js sends the same form with a progress bar and follows the answer.
func (s *Server) sendMedia(c echo.Context) error {
	caption := c.FormValue("caption")
	draft := views.Draft{Form: "media", MediaCaption: caption}
	fh, err := c.FormFile("file")
	if err != nil {
		draft.Problem = "Choose a file to send."
		return s.renderDraft(c, draft)
	}
	file, err := fh.Open()
	if err != nil {
		return fmt.Errorf("open upload: %w", err)
	}
	defer file.Close()
	data, err := io.ReadAll(io.LimitReader(file, inbox.DefaultMaxMediaBytes+1))
	if err != nil {
		return fmt.Errorf("read upload: %w", err)
	}
	up := inbox.Upload{FileName: fh.Filename, MimeType: uploadType(fh.Header.Get(echo.HeaderContentType), fh.Filename),
		Data: data, Caption: caption}
	_, err = s.Inbox.SendMediaFile(c.Request().Context(), principalOf(c), pathID(c), up)
	return s.afterSend(c, err, "File sent.", draft)
}

// uploadType is the file's MIME type as the browser named it, or from its extension when the
// browser gave none.
func uploadType(given, name string) string {
	if mt, _, err := mime.ParseMediaType(given); err == nil && mt != "application/octet-stream" {
		return mt
	}
	if i := strings.LastIndexByte(name, '.'); i >= 0 {
		if t := mime.TypeByExtension(strings.ToLower(name[i:])); t != "" {
			mt, _, _ := mime.ParseMediaType(t)
			return mt
		}
	}
	return "application/octet-stream"
}

// messageExtra is what the conversation shows of a message beyond its text.
func messageExtra(m inbox.Message) views.MessageExtra {
	x := views.MessageExtra{Edited: !m.EditedAt.IsZero(), Deleted: !m.DeletedAt.IsZero(), Reaction: m.Reaction}
	if md := m.Media; md != nil {
		mv := &views.MediaView{Kind: md.Kind, MimeType: md.MimeType, FileName: md.FileName, State: md.State, Error: md.Error}
		if md.State == inbox.MediaStored {
			mv.URL = "/media/" + strconv.FormatInt(md.ID, 10)
			mv.Size = sizeText(md.Size)
		}
		x.Media = mv
	}
	d := m.Detail
	if d == nil {
		return x
	}
	if x.Media != nil && x.Media.FileName == "" {
		x.Media.FileName = d.FileName
	}
	if l := d.Location; l != nil {
		lat, lon := strconv.FormatFloat(l.Latitude, 'f', 5, 64), strconv.FormatFloat(l.Longitude, 'f', 5, 64)
		x.Location = &views.LocationView{Coordinates: lat + ", " + lon, Name: l.Name, Address: l.Address,
			MapURL: "https://www.openstreetmap.org/?mlat=" + url.QueryEscape(lat) + "&mlon=" + url.QueryEscape(lon) + "#map=16/" + lat + "/" + lon}
	}
	if d.Description != "" {
		x.Lines = append(x.Lines, d.Description)
	}
	if d.Payload != "" {
		x.Lines = append(x.Lines, "Button payload: "+d.Payload)
	}
	if r := d.Referral; r != nil {
		x.Referral = "Came from " + firstNonBlank(r.SourceType, "an ad")
		if r.Headline != "" {
			x.Referral += ": “" + r.Headline + "”"
		}
	}
	if o := d.Order; o != nil {
		for _, it := range o.Items {
			line := it.Product
			if it.Quantity != "" {
				line = it.Quantity + " × " + line
			}
			if it.Price != "" {
				line += " at " + it.Price + " " + it.Currency
			}
			x.Lines = append(x.Lines, line)
		}
	}
	for _, card := range d.Contacts {
		x.Lines = append(x.Lines, "Contact card: "+strings.Join(append([]string{card.Name}, card.Phones...), " · "))
	}
	for k, v := range d.FlowAnswers {
		x.Lines = append(x.Lines, k+": "+v)
	}
	for _, e := range d.Errors {
		line := "WhatsApp: " + e.Title + " (error " + strconv.Itoa(e.Code) + ")"
		if e.Details != "" {
			line += ". " + e.Details
		}
		x.Lines = append(x.Lines, line)
	}
	if d.ReactionTo != "" || d.System != "" {
		x.Notice = true
		x.ReactedWith, x.Removed = d.Emoji, d.ReactionTo != "" && d.Emoji == ""
	}
	return x
}

func firstNonBlank(ss ...string) string {
	for _, s := range ss {
		if strings.TrimSpace(s) != "" {
			return s
		}
	}
	return ""
}

// sizeText is a file size as people read it.
func sizeText(n int64) string {
	switch {
	case n >= 1<<20:
		return strconv.FormatFloat(float64(n)/(1<<20), 'f', 1, 64) + " MB"
	case n >= 1<<10:
		return strconv.FormatInt(n>>10, 10) + " KB"
	case n > 0:
		return strconv.FormatInt(n, 10) + " bytes"
	}
	return ""
}

// mediaComposer is the attach form for a member who may send files.
func mediaComposer(c echo.Context, url string, draft views.Draft) views.MediaComposerView {
	return views.MediaComposerView{Action: url + "/media", CSRF: csrfToken(c), Accept: inbox.AcceptedMedia,
		MaxSize: strconv.Itoa(inbox.DefaultMaxMediaBytes>>20) + " MB", Caption: draft.MediaCaption, Open: draft.Form == "media"}
}
