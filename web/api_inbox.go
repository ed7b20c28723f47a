package web

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/switchboard/switchboard/internal/authz"
	"github.com/switchboard/switchboard/internal/inbox"
	"github.com/switchboard/switchboard/internal/templates"
	"github.com/switchboard/switchboard/internal/whatsapp"
)

// Wire types of the API. Numbers and names arrive masked for keys without contacts.view_pii,
// exactly as on the pages.

type apiContact struct {
	ID       int64  `json:"id"`
	Phone    string `json:"phone"`
	Name     string `json:"name"`
	UserID   string `json:"user_id"`
	Username string `json:"username"`
	Masked   bool   `json:"masked"`
}

// apiContactEntry is a contact as the contacts endpoints answer it: with its labels (a
// conversation's contact leaves them to the conversation's own).
type apiContactEntry struct {
	apiContact
	Labels []apiLabel `json:"labels"`
}

type apiMemberRef struct {
	ID   int64  `json:"id"`
	Name string `json:"name"`
}

type apiWindow struct {
	Open     bool    `json:"open"`
	ClosesAt *string `json:"closes_at"`
}

type apiConversation struct {
	ID               int64         `json:"id"`
	PhoneNumberID    int64         `json:"phone_number_id"`
	NumberName       string        `json:"number_name"`
	Contact          apiContact    `json:"contact"`
	Status           string        `json:"status"`
	Assignee         *apiMemberRef `json:"assignee"`
	Escalated        bool          `json:"escalated"`
	EscalationReason string        `json:"escalation_reason"`
	Unread           int           `json:"unread"`
	Preview          string        `json:"preview"`
	Window           apiWindow     `json:"window"`
	LastMessageAt    string        `json:"last_message_at"`
	LastInboundAt    *string       `json:"last_inbound_at"`
	CreatedAt        string        `json:"created_at"`
	Labels           []apiLabel    `json:"labels"`
}

type apiMessageJSON struct {
	ID             int64   `json:"id"`
	ConversationID int64   `json:"conversation_id"`
	Direction      string  `json:"direction"`
	Type           string  `json:"type"`
	Text           string  `json:"text"`
	Status         string  `json:"status"`
	StatusAt       *string `json:"status_at"`
	Template       string  `json:"template"`
	SentBy         *int64  `json:"sent_by"`
	Error          *string `json:"error"`
	WAMID          string  `json:"wamid"`
	CreatedAt      string  `json:"created_at"`
}

// Request bodies.
type (
	assignRequest struct {
		// MemberID is who gets the conversation; null takes it from its assignee.
		MemberID *int64 `json:"member_id"`
	}
	escalateRequest struct {
		Reason string `json:"reason"`
	}
	sendTextRequest struct {
		Body string `json:"body"`
	}
	sendTemplateRequest struct {
		TemplateID int64 `json:"template_id"`
		// Values of the template's variables, keyed like the variables ("1", "first_name").
		Header map[string]string `json:"header,omitempty"`
		Body   map[string]string `json:"body,omitempty"`
		// Buttons are keyed by the button's position, from "0".
		Buttons map[string]string `json:"buttons,omitempty"`
	}
)

func toAPIContact(c inbox.Contact) apiContact {
	return apiContact{ID: c.ID, Phone: c.Phone, Name: c.Name, UserID: c.UserID, Username: c.Username, Masked: c.Masked}
}

func toAPIContactEntry(c inbox.Contact, labels []inbox.Label) apiContactEntry {
	return apiContactEntry{apiContact: toAPIContact(c), Labels: toAPILabels(labels)}
}

func toAPIConversation(c inbox.Conversation) apiConversation {
	out := apiConversation{ID: c.ID, PhoneNumberID: c.PhoneNumberID, NumberName: c.NumberName, Contact: toAPIContact(c.Contact),
		Status: string(c.Status), Escalated: c.Escalated, EscalationReason: c.EscalationReason, Unread: c.Unread,
		Preview: c.Preview, Window: apiWindow{Open: c.Window.Open, ClosesAt: apiTime(c.Window.ClosesAt)},
		LastMessageAt: *apiTime(c.LastMessageAt), LastInboundAt: apiTime(c.LastInboundAt), CreatedAt: *apiTime(c.CreatedAt),
		Labels: toAPILabels(c.Labels)}
	if c.AssigneeID != 0 {
		out.Assignee = &apiMemberRef{ID: c.AssigneeID, Name: c.AssigneeName}
	}
	return out
}

func toAPIMessage(m inbox.Message) apiMessageJSON {
	out := apiMessageJSON{ID: m.ID, ConversationID: m.ConversationID, Direction: string(m.Direction), Type: m.Type, Text: m.Text,
		Status: m.Status, StatusAt: apiTime(m.StatusAt), Template: m.TemplateName, WAMID: m.WAMID, CreatedAt: *apiTime(m.CreatedAt)}
	if m.SentBy != 0 {
		out.SentBy = &m.SentBy
	}
	if m.Error != nil {
		msg := strings.TrimSpace(m.Error.Title + " " + m.Error.Details)
		out.Error = &msg
	}
	return out
}

func (s *Server) apiListConversations(c echo.Context) error {
	limit, err := limitParam(c, inbox.DefaultLimit, inbox.MaxLimit)
	if err != nil {
		return err
	}
	cur, err := inbox.ParseCursor(c.QueryParam("cursor"))
	if err != nil {
		return fieldProblem("cursor", "Use the next_cursor of the previous page.")
	}
	box := inbox.Box(c.QueryParam("box"))
	if box == "" {
		box = inbox.BoxAll
	}
	pg, err := s.Inbox.List(c.Request().Context(), principalOf(c), inbox.ListQuery{Box: box, Search: c.QueryParam("q"), Before: cur, Limit: limit})
	if err != nil {
		return err
	}
	items := make([]apiConversation, 0, len(pg.Conversations))
	for _, conv := range pg.Conversations {
		items = append(items, toAPIConversation(conv))
	}
	return c.JSON(http.StatusOK, newPage(items, pg.Next.String()))
}

func (s *Server) apiGetConversation(c echo.Context) error {
	id, err := apiPathID(c, "id")
	if err != nil {
		return err
	}
	return s.apiConversationAnswer(c, id)
}

func (s *Server) apiConversationAnswer(c echo.Context, id int64) error {
	conv, err := s.Inbox.GetLabelled(c.Request().Context(), principalOf(c), id)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, toAPIConversation(conv))
}

func (s *Server) apiAssignConversation(c echo.Context) error {
	id, err := apiPathID(c, "id")
	if err != nil {
		return err
	}
	var in assignRequest
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	var member int64
	if in.MemberID != nil {
		member = *in.MemberID
	}
	if err := s.Inbox.Assign(c.Request().Context(), principalOf(c), id, member); err != nil {
		return err
	}
	return s.apiConversationAnswer(c, id)
}

func (s *Server) apiEscalateConversation(c echo.Context) error {
	id, err := apiPathID(c, "id")
	if err != nil {
		return err
	}
	var in escalateRequest
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	if err := s.Inbox.Escalate(c.Request().Context(), principalOf(c), id, in.Reason); err != nil {
		return err
	}
	return s.apiConversationAnswer(c, id)
}

func (s *Server) apiCloseConversation(c echo.Context) error {
	return s.apiSetStatus(c, s.Inbox.Close)
}

func (s *Server) apiReopenConversation(c echo.Context) error {
	return s.apiSetStatus(c, s.Inbox.Reopen)
}

func (s *Server) apiSetStatus(c echo.Context, change func(ctx context.Context, p *authz.Principal, id int64) error) error {
	id, err := apiPathID(c, "id")
	if err != nil {
		return err
	}
	if err := change(c.Request().Context(), principalOf(c), id); err != nil {
		return err
	}
	return s.apiConversationAnswer(c, id)
}

func (s *Server) apiListMessages(c echo.Context) error {
	id, err := apiPathID(c, "id")
	if err != nil {
		return err
	}
	limit, err := limitParam(c, inbox.DefaultLimit, inbox.MaxLimit)
	if err != nil {
		return err
	}
	var before int64
	if v := c.QueryParam("cursor"); v != "" {
		if before, err = strconv.ParseInt(v, 10, 64); err != nil || before <= 0 {
			return fieldProblem("cursor", "Use the next_cursor of the previous page.")
		}
	}
	msgs, err := s.Inbox.Messages(c.Request().Context(), principalOf(c), id, before, limit)
	if err != nil {
		return err
	}
	items := make([]apiMessageJSON, 0, len(msgs))
	for _, m := range msgs {
		items = append(items, toAPIMessage(m))
	}
	next := ""
	if len(msgs) == limit {
		next = strconv.FormatInt(msgs[len(msgs)-1].ID, 10)
	}
	return c.JSON(http.StatusOK, newPage(items, next))
}

func (s *Server) apiSendText(c echo.Context) error {
	id, err := apiPathID(c, "id")
	if err != nil {
		return err
	}
	var in sendTextRequest
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	msg, err := s.Inbox.SendText(c.Request().Context(), principalOf(c), id, in.Body)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, toAPIMessage(msg))
}

func (s *Server) apiSendTemplate(c echo.Context) error {
	id, err := apiPathID(c, "id")
	if err != nil {
		return err
	}
	var in sendTemplateRequest
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	ctx := c.Request().Context()
	p := principalOf(c)
	t, err := s.Templates.Get(ctx, p, in.TemplateID)
	if errors.Is(err, templates.ErrNotFound) {
		return fieldProblem("template_id", "Choose one of the approved templates.")
	}
	if err != nil {
		return err
	}
	values := templates.Values{Header: in.Header, Body: in.Body, Buttons: map[int]string{}}
	for k, v := range in.Buttons {
		i, err := strconv.Atoi(k)
		if err != nil {
			return fieldProblem("buttons", "Key the button values by their position, from \"0\".")
		}
		values.Buttons[i] = v
	}
	if !t.Sendable() {
		return fieldProblem("template_id", "This template cannot be sent: Meta has not approved it, or it is paused or deleted.")
	}
	msg, shown, err := templateMessage(t, values)
	if errors.Is(err, templates.ErrNotSendable) {
		// The template is sendable, so what is wrong is a value: name the part it belongs to.
		field := "body"
		switch detail := err.Error(); {
		case strings.Contains(detail, "header"):
			field = "header"
		case strings.Contains(detail, "button"):
			field = "buttons"
		}
		return fieldProblem(field, strings.TrimPrefix(err.Error(), templates.ErrNotSendable.Error()+": "))
	}
	if err != nil {
		return err
	}
	sent, err := s.Inbox.SendTemplateAs(ctx, p, id, msg, shown)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, toAPIMessage(sent))
}

// templateMessage builds the Cloud API message of an approved template and the text the
// conversation shows for it, as the inbox's template form does.
func templateMessage(t templates.Template, values templates.Values) (whatsapp.TemplateMessage, string, error) {
	built, err := templates.BuildMessage(t, values)
	if err != nil {
		return whatsapp.TemplateMessage{}, "", err
	}
	var msg whatsapp.TemplateMessage
	b, err := json.Marshal(built)
	if err != nil {
		return msg, "", err
	}
	if err := json.Unmarshal(b, &msg); err != nil {
		return msg, "", err
	}
	if t.Live == nil {
		return msg, "", templates.ErrNotSendable
	}
	preview := templates.Render(t.Live.Content, values)
	var shown []string
	for _, part := range []string{preview.Header, preview.Body, preview.Footer} {
		if part != "" {
			shown = append(shown, part)
		}
	}
	return msg, strings.Join(shown, "\n"), nil
}

// idempotent honours an Idempotency-Key header on a write: the first request with the key is
// processed and its answer stored; a retry of the same request within 24 hours gets the stored
// answer (with Idempotent-Replayed: true) and changes nothing; the same key on a different
// request is refused.
func (s *Server) idempotent(h echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		idemKey := c.Request().Header.Get("Idempotency-Key")
		p := principalOf(c)
		if idemKey == "" || p == nil {
			return h(c)
		}
		if len(idemKey) > 255 || strings.IndexFunc(idemKey, func(r rune) bool { return r < 0x21 || r > 0x7e }) >= 0 {
			return fieldProblem("Idempotency-Key", "Use up to 255 visible ASCII characters, such as a UUID.")
		}
		body, err := io.ReadAll(c.Request().Body)
		if err != nil {
			var maxErr *http.MaxBytesError
			if errors.As(err, &maxErr) {
				return echo.NewHTTPError(http.StatusRequestEntityTooLarge)
			}
			return apiProblem(problemBadRequest, "The body could not be read.")
		}
		c.Request().Body = io.NopCloser(bytes.NewReader(body))
		hash := sha256.Sum256([]byte(c.Request().Method + " " + c.Request().URL.Path + "\n" + string(body)))
		if form := c.Request().MultipartForm; form != nil {
			// parseForms has read a file upload already; its parts identify the request.
			if hash, err = formFingerprint(c.Request().Method, c.Request().URL.Path, form); err != nil {
				return err
			}
		}
		ctx := c.Request().Context()
		replay, err := s.APIKeys.BeginIdempotent(ctx, p.APIKeyID, idemKey, hash)
		if err != nil {
			return err
		}
		if replay != nil {
			c.Response().Header().Set("Idempotent-Replayed", "true")
			ct := echo.MIMEApplicationJSON
			if replay.Status >= 400 {
				ct = "application/problem+json"
			}
			return c.Blob(replay.Status, ct, replay.Body)
		}
		rec := &captureWriter{ResponseWriter: c.Response().Writer}
		c.Response().Writer = rec
		if err := h(c); err != nil {
			c.Error(err)
		}
		status := c.Response().Status
		if status >= 500 {
			return s.APIKeys.AbandonIdempotent(ctx, p.APIKeyID, idemKey)
		}
		return s.APIKeys.FinishIdempotent(ctx, p.APIKeyID, idemKey, status, rec.buf.Bytes())
	}
}

// captureWriter keeps a copy of what is written, for the idempotency record.
type captureWriter struct {
	http.ResponseWriter
	buf bytes.Buffer
}

func (w *captureWriter) Write(b []byte) (int, error) {
	w.buf.Write(b)
	return w.ResponseWriter.Write(b)
}

func (s *Server) apiListContacts(c echo.Context) error {
	limit, err := limitParam(c, inbox.DefaultLimit, inbox.MaxLimit)
	if err != nil {
		return err
	}
	var after int64
	if v := c.QueryParam("cursor"); v != "" {
		if after, err = strconv.ParseInt(v, 10, 64); err != nil || after <= 0 {
			return fieldProblem("cursor", "Use the next_cursor of the previous page.")
		}
	}
	pg, err := s.Inbox.Contacts(c.Request().Context(), principalOf(c), after, limit)
	if err != nil {
		return err
	}
	items := make([]apiContactEntry, 0, len(pg.Contacts))
	for _, ct := range pg.Contacts {
		items = append(items, toAPIContactEntry(ct, pg.Labels[ct.ID]))
	}
	next := ""
	if pg.Next != 0 {
		next = strconv.FormatInt(pg.Next, 10)
	}
	return c.JSON(http.StatusOK, newPage(items, next))
}

func (s *Server) apiGetContact(c echo.Context) error {
	id, err := apiPathID(c, "id")
	if err != nil {
		return err
	}
	ct, labels, err := s.Inbox.ContactLabelled(c.Request().Context(), principalOf(c), id)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, toAPIContactEntry(ct, labels))
}
