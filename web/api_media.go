package web

import (
	"crypto/sha256"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"sort"

	"github.com/labstack/echo/v4"

	"github.com/switchboard/switchboard/internal/inbox"
)

// sendMediaForm documents the multipart body of a media send (for the OpenAPI document): the
// file itself and an optional caption.
type sendMediaForm struct {
	// File is the file's content; its part's Content-Type names its type (or its file name's
	// extension does).
	File []byte `json:"file"`
	// Caption is shown under an image, video or document; audio takes none.
	Caption string `json:"caption,omitempty"`
}

// apiMediaFields are the parts a media send may have; any other is refused by name.
var apiMediaFields = map[string]bool{"file": true, "caption": true}

// apiSendMedia sends a file, uploaded in the request as multipart/form-data, exactly as the
// conversation's composer does: the inbox service checks the permission, WhatsApp's type and
// size limits and the window before anything is uploaded to the Cloud API.
func (s *Server) apiSendMedia(c echo.Context) error {
	id, err := apiPathID(c, "id")
	if err != nil {
		return err
	}
	form, err := multipartForm(c)
	if err != nil {
		return err
	}
	var parts []string
	for name := range form.Value {
		parts = append(parts, name)
	}
	for name := range form.File {
		parts = append(parts, name)
	}
	sort.Strings(parts)
	for _, name := range parts {
		if !apiMediaFields[name] {
			return fieldProblem(name, "This field is not part of the request: send file and, optionally, caption.")
		}
	}
	files := form.File["file"]
	if len(files) != 1 {
		return fieldProblem("file", "Send exactly one file, in a part named file.")
	}
	caption := ""
	if v := form.Value["caption"]; len(v) > 0 {
		caption = v[0]
	}
	fh := files[0]
	f, err := fh.Open()
	if err != nil {
		return fmt.Errorf("open upload: %w", err)
	}
	defer f.Close()
	// One byte past the cap is enough for the service to say the file is too large.
	data, err := io.ReadAll(io.LimitReader(f, inbox.DefaultMaxMediaBytes+1))
	if err != nil {
		return fmt.Errorf("read upload: %w", err)
	}
	up := inbox.Upload{FileName: fh.Filename, MimeType: uploadType(fh.Header.Get(echo.HeaderContentType), fh.Filename), Data: data, Caption: caption}
	msg, err := s.Inbox.SendMediaFile(c.Request().Context(), principalOf(c), id, up)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, toAPIMessage(msg))
}

// multipartForm is the request's multipart form (parsed by parseForms), or the problem of a
// request that is not one.
func multipartForm(c echo.Context) (*multipart.Form, error) {
	req := c.Request()
	mt, _, err := mime.ParseMediaType(req.Header.Get(echo.HeaderContentType))
	if err != nil || mt != echo.MIMEMultipartForm {
		return nil, apiProblem(problemMediaType, "Send the file as multipart/form-data, in a part named file.")
	}
	if req.MultipartForm == nil {
		if err := req.ParseMultipartForm(1 << 20); err != nil {
			return nil, apiProblem(problemBadRequest, "The multipart body could not be read.")
		}
	}
	return req.MultipartForm, nil
}

// formFingerprint is what identifies a multipart request for Idempotency-Key: its fields and
// files by name, file name, type and content, in a fixed order. The raw body will not do: every
// client picks a new random boundary for each attempt, so a retry's bytes differ.
func formFingerprint(method, path string, f *multipart.Form) ([32]byte, error) {
	h := sha256.New()
	fmt.Fprintf(h, "%s %s\nmultipart\n", method, path)
	names := make([]string, 0, len(f.Value))
	for n := range f.Value {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		for _, v := range f.Value[n] {
			fmt.Fprintf(h, "value %q %q\n", n, v)
		}
	}
	names = names[:0]
	for n := range f.File {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		for _, fh := range f.File[n] {
			file, err := fh.Open()
			if err != nil {
				return [32]byte{}, fmt.Errorf("open upload: %w", err)
			}
			sum := sha256.New()
			_, err = io.Copy(sum, file)
			file.Close()
			if err != nil {
				return [32]byte{}, fmt.Errorf("read upload: %w", err)
			}
			fmt.Fprintf(h, "file %q %q %q %x\n", n, fh.Filename, fh.Header.Get(echo.HeaderContentType), sum.Sum(nil))
		}
	}
	var out [32]byte
	copy(out[:], h.Sum(nil))
	return out, nil
}
