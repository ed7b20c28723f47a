package web

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/labstack/echo/v4"

	"github.com/switchboard/switchboard/internal/authz"
	"github.com/switchboard/switchboard/internal/inbox"
	"github.com/switchboard/switchboard/internal/templates"
	"github.com/switchboard/switchboard/internal/whatsapp"
	"github.com/switchboard/switchboard/web/views"
)

var boxLabels = map[inbox.Box]string{
	inbox.BoxMine: "Mine", inbox.BoxUnassigned: "Unassigned", inbox.BoxEscalated: "Escalated", inbox.BoxAll: "All", inbox.BoxClosed: "Closed",
}

func (s *Server) inboxPage(c echo.Context) error {
	v, err := s.inboxView(c, 0)
	if err != nil {
		return err
	}
	if isHTMX(c) {
		return render(c, http.StatusOK, views.InboxList(v))
	}
	return render(c, http.StatusOK, views.Inbox(v))
}

// inboxView is the list of the chosen box (and search), with current marking the open
// conversation beside it.
func (s *Server) inboxView(c echo.Context, current int64) (views.InboxView, error) {
	ctx := c.Request().Context()
	p := principalOf(c)
	counts, err := s.Inbox.Counts(ctx, p)
	if err != nil {
		return views.InboxView{}, err
	}
	if len(counts.Boxes) == 0 {
		return views.InboxView{}, echo.NewHTTPError(http.StatusForbidden, "Your role does not allow this. Ask an administrator if you need it.")
	}
	box := s.chooseBox(c, counts)
	before, _ := inbox.ParseCursor(c.QueryParam("before"))
	search := strings.TrimSpace(c.QueryParam("q"))
	v := views.InboxView{Page: s.livePage(c, "Inbox", "inbox"), Box: string(box), Search: search, Unread: counts.Unread,
		SearchHint: "Search by name or message text; by phone number only with the last four digits."}
	if p.Can(authz.ContactsViewPII) {
		v.SearchHint = "Search by name, message text or phone number."
	}
	label, err := s.labelFilter(c, &v)
	if err != nil {
		return v, err
	}
	page, err := s.Inbox.List(ctx, p, inbox.ListQuery{Box: box, Search: search, LabelID: label, Before: before})
	var fe inbox.FieldErrors
	var refused *inbox.RuleError
	switch {
	case errors.As(err, &fe):
		for _, msg := range fe {
			v.Error = msg
		}
	case errors.As(err, &refused):
		// A search the member may not make (by full phone number) is explained, not a 403 page.
		v.Error = refused.Message
	case err != nil:
		return v, err
	}
	now := s.Clock.Now()
	_, loc := s.viewerZone(c)
	for _, conv := range page.Conversations {
		name := listContact(conv.Contact)
		v.Conversations = append(v.Conversations, views.ConversationRow{ID: conv.ID, URL: "/conversations/" + strconv.FormatInt(conv.ID, 10),
			Contact: name, Initials: initials(name), Number: conv.NumberName, Preview: conv.Preview, When: relativeTime(now, conv.LastMessageAt.In(loc)),
			Unread: conv.Unread, Assignee: conv.AssigneeName, Escalated: conv.Escalated, Closed: conv.Status == inbox.StatusClosed,
			Current: conv.ID == current, Labels: labelChips(conv.Labels)})
	}
	query := "/inbox?box=" + string(box)
	if search != "" {
		query += "&q=" + url.QueryEscape(search)
	}
	if label != 0 {
		query += "&label=" + strconv.FormatInt(label, 10)
	}
	if !page.Next.IsZero() {
		v.NextHref = query + "&before=" + page.Next.String()
	}
	v.PollURL = query
	if !before.IsZero() {
		v.PollURL += "&before=" + before.String()
	}
	for _, b := range counts.Boxes {
		tab := views.BoxTab{Label: boxLabels[b], Href: "/inbox?box=" + string(b), Current: b == box}
		if n := boxCount(counts, b); n > 0 {
			tab.Count = strconv.Itoa(n)
			if n >= inbox.CountCap {
				tab.Count = strconv.Itoa(inbox.CountCap-1) + "+"
			}
		}
		v.Tabs = append(v.Tabs, tab)
	}
	if !isHTMX(c) {
		cur, err := s.Inbox.Cursors(ctx, p)
		if err != nil {
			return v, err
		}
		v.MessagesAfter, v.MentionsAfter = cur.Messages, cur.Mentions
	}
	return v, nil
}

// initials are the letters of a contact's avatar; "#" for a number.
func initials(name string) string {
	var out []rune
	start := true
	for _, r := range name {
		switch {
		case unicode.IsLetter(r):
			if start && len(out) < 2 {
				out = append(out, unicode.ToUpper(r))
			}
			start = false
		case unicode.IsSpace(r):
			start = true
		}
	}
	if len(out) == 0 {
		return "#"
	}
	return string(out)
}

func boxCount(c inbox.Counts, b inbox.Box) int { return c.Count(b) }

// chooseBox opens the box named in the URL, and remembers it in the session as the member's
// choice when they picked it (not when the list refreshes itself); without one it opens
// inbox.Counts.DefaultBox of the remembered choice.
func (s *Server) chooseBox(c echo.Context, counts inbox.Counts) inbox.Box {
	ctx := c.Request().Context()
	if box, err := inbox.ParseBox(c.QueryParam("box")); err == nil && slices.Contains(counts.Boxes, box) {
		if !isHTMX(c) && s.Sessions.GetString(ctx, sessionInboxBox) != string(box) {
			s.Sessions.Put(ctx, sessionInboxBox, string(box))
		}
		return box
	}
	return counts.DefaultBox(inbox.Box(s.Sessions.GetString(ctx, sessionInboxBox)))
}

// listContact is how lists show a customer: never the full number, even to those who may see
// it; revealing a number is a deliberate, recorded act on the conversation page.
func listContact(ct inbox.Contact) string {
	name := ct.Name
	if name == "" {
		name = ct.Username
	}
	if name != "" {
		if ct.Masked {
			return name
		}
		return inbox.MaskName(name, ct.Phone)
	}
	if ct.Phone != "" {
		return maskedPhone(ct)
	}
	return ct.Label()
}

// maskedPhone is the contact's number masked, whether or not the service masked it already.
func maskedPhone(ct inbox.Contact) string {
	if ct.Masked || ct.Phone == "" {
		return ct.Phone
	}
	return inbox.MaskPhone(ct.Phone)
}

func (s *Server) conversationPage(c echo.Context) error {
	return s.renderConversation(c, false)
}

// revealContact shows a customer's number: a sensitive read, recorded by the inbox service.
func (s *Server) revealContact(c echo.Context) error {
	if _, err := s.Inbox.RevealContact(c.Request().Context(), principalOf(c), pathID(c)); err != nil {
		return err
	}
	return s.renderConversation(c, true)
}

func (s *Server) renderConversation(c echo.Context, reveal bool) error {
	ctx := c.Request().Context()
	p := principalOf(c)
	v, err := s.conversationView(c, reveal)
	if err != nil {
		return err
	}
	if err := s.Inbox.MarkRead(ctx, p, pathID(c)); err != nil && !errors.Is(err, inbox.ErrNotFound) {
		return err
	}
	return s.renderConversationView(c, http.StatusOK, v)
}

// isPaneRequest is an htmx request for the open conversation alone: a list link, a send.
func isPaneRequest(c echo.Context) bool {
	return isHTMX(c) && c.Request().Header.Get("HX-Target") == "conversation-pane"
}

// renderConversationView answers with the pane alone for htmx, else the whole split view.
func (s *Server) renderConversationView(c echo.Context, status int, v views.ConversationView) error {
	if isPaneRequest(c) {
		return render(c, status, views.ConversationPane(v))
	}
	list, err := s.inboxView(c, v.ID)
	if err != nil {
		return err
	}
	list.Page = v.Page
	v.List = &list
	return render(c, status, views.Conversation(v))
}

func (s *Server) conversationMessages(c echo.Context) error {
	v, err := s.conversationView(c, false)
	if err != nil {
		return err
	}
	return render(c, http.StatusOK, views.ConversationMessages(v))
}

const conversationPageSize = 100

func (s *Server) conversationView(c echo.Context, reveal bool) (views.ConversationView, error) {
	ctx := c.Request().Context()
	p := principalOf(c)
	conv, err := s.Inbox.Get(ctx, p, pathID(c))
	if err != nil {
		return views.ConversationView{}, err
	}
	msgs, err := s.Inbox.Messages(ctx, p, conv.ID, 0, conversationPageSize)
	if err != nil {
		return views.ConversationView{}, err
	}
	now := s.Clock.Now()
	url := "/conversations/" + strconv.FormatInt(conv.ID, 10)
	v := views.ConversationView{Page: s.livePage(c, listContact(conv.Contact), "inbox"), ID: conv.ID, URL: url,
		Contact: listContact(conv.Contact), Phone: maskedPhone(conv.Contact), Number: conv.NumberName,
		Closed: conv.Status == inbox.StatusClosed, Assignee: conv.AssigneeName, Escalated: conv.Escalated,
		EscalationReason: conv.EscalationReason, WindowOpen: conv.Window.Open,
		CanReveal: p.Can(authz.ContactsViewPII) && conv.Contact.Phone != "",
		CanText:   p.Can(authz.MessagesSendText), CanCanned: p.Can(authz.MessagesSendCanned),
		CanTemplate: p.Can(authz.MessagesSendTemplate), CanMedia: p.Can(authz.MessagesSendMedia),
		CanAssign: p.Can(authz.ConversationsAssign), CanEscalate: p.Can(authz.ConversationsEscalate),
		CanClose: p.Can(authz.ConversationsAssign) || (conv.AssigneeID != 0 && conv.AssigneeID == p.MemberID)}
	if conv.Contact.Phone == "" {
		v.Phone = conv.Contact.UserID
	}
	served, err := s.Workspace.NumberServed(ctx, conv.PhoneNumberID)
	if err != nil {
		return v, err
	}
	if !served {
		// Its account was disconnected: the history stays, nothing can be sent.
		v.Disconnected = true
		v.CanText, v.CanCanned, v.CanTemplate, v.CanMedia = false, false, false, false
	}
	if reveal && v.CanReveal {
		v.Revealed, v.Phone, v.Contact = true, conv.Contact.Phone, conv.Contact.Label()
	}
	v.WindowText = windowText(conv.Window, now)
	notes, err := s.Inbox.Notes(ctx, p, conv.ID)
	if err != nil {
		return v, err
	}
	automated, err := s.automatedIDs(ctx, msgs)
	if err != nil {
		return v, err
	}
	_, loc := s.viewerZone(c)
	v.Messages = timeline(msgs, notes, automated, loc)
	if isHTMX(c) && strings.HasSuffix(c.Path(), "/messages") {
		return v, nil // the poll needs the timeline only
	}
	v.BackHref, v.MemberID, v.Initials = "/inbox", p.MemberID, initials(v.Contact)
	v.AssignedToMe = conv.AssigneeID != 0 && conv.AssigneeID == p.MemberID
	v.CanNote = inbox.CanNote(p)
	if v.CanNote {
		team, err := s.Inbox.Mentionable(ctx, p, conv.ID)
		if err != nil {
			return v, err
		}
		for _, m := range team {
			v.Mentionable = append(v.Mentionable, m.Name)
		}
	}
	if v.CanCanned && v.WindowOpen {
		canned, err := s.Inbox.CannedResponses(ctx, p)
		if err != nil {
			return v, err
		}
		for _, cr := range canned {
			v.Canned = append(v.Canned, views.CannedOption{ID: cr.ID, Title: cr.Title, Body: inbox.FillCanned(cr.Body, conv.Contact, p.Name)})
		}
	}
	if v.CanTemplate && p.Can(authz.TemplatesView) {
		list, err := s.Templates.List(ctx, p, templates.ListFilter{Sendable: true})
		if err != nil {
			return v, err
		}
		for _, t := range list {
			v.Templates = append(v.Templates, views.Option{Value: strconv.FormatInt(t.ID, 10), Label: t.Name + " (" + t.Language + ")"})
		}
	}
	if v.CanAssign {
		assignees, err := s.Inbox.Assignees(ctx, p, conv.ID)
		if err != nil {
			return v, err
		}
		v.Assignees = append(v.Assignees, views.Option{Value: "0", Label: "Nobody"})
		for _, a := range assignees {
			o := views.Option{Value: strconv.FormatInt(a.ID, 10), Label: a.Name + " (" + a.RoleName + ")"}
			if a.Current {
				v.Assignees = append([]views.Option{o}, v.Assignees...)
				continue
			}
			v.Assignees = append(v.Assignees, o)
		}
	}
	if v.Consent, err = s.consentPanel(c, conv.Contact.ID); err != nil {
		return v, err
	}
	v.MediaComposer = mediaComposer(c, url, v.Draft)
	if v.Labels, err = s.labelsPanel(ctx, p, conv.ID); err != nil {
		return v, err
	}
	v.Labels.ContactURL = contactURL(conv.Contact.ID)
	if v.Automation, err = s.conversationAutomation(c, conv.ID); err != nil {
		return v, err
	}
	return v, nil
}

// timeline merges messages (newest first, as read) and notes (oldest first) into the page's
// order, oldest first, with their times in the viewer's zone loc.
func timeline(msgs []inbox.Message, notes []inbox.Note, automated map[int64]bool, loc *time.Location) []views.MessageRow {
	out := make([]views.MessageRow, 0, len(msgs)+len(notes))
	n := 0
	addNotesBefore := func(t time.Time, all bool) {
		for ; n < len(notes) && (all || notes[n].CreatedAt.Before(t)); n++ {
			note := notes[n]
			out = append(out, views.MessageRow{ID: note.ID, Note: true, Text: note.Body, SentBy: note.AuthorName,
				When: note.CreatedAt.In(loc).Format("2 Jan 15:04")})
		}
	}
	for i := len(msgs) - 1; i >= 0; i-- {
		m := msgs[i]
		addNotesBefore(m.CreatedAt, false)
		row := views.MessageRow{ID: m.ID, Outbound: m.Direction == inbox.Outbound, Type: m.Type, Text: m.Text,
			When: m.CreatedAt.In(loc).Format("2 Jan 15:04"), Status: m.Status, SentBy: m.SentByName, Template: m.TemplateName, Extra: messageExtra(m)}
		if automated[m.ID] {
			row.SentBy = inbox.AutomationName
		}
		if m.Error != nil {
			row.Error = "WhatsApp did not deliver this message: " + m.Error.Title + " (error " + strconv.Itoa(m.Error.Code) + ")"
			if m.Error.Details != "" {
				row.Error += ". " + m.Error.Details
			}
		}
		out = append(out, row)
	}
	addNotesBefore(time.Time{}, true)
	return out
}

func windowText(w inbox.Window, now time.Time) string {
	if !w.Open {
		return "Window closed: templates only"
	}
	left := w.ClosesAt.Sub(now).Round(time.Minute)
	h, m := int(left.Hours()), int(left.Minutes())%60
	if h > 0 {
		return "Window open: " + strconv.Itoa(h) + " h " + strconv.Itoa(m) + " min left"
	}
	return "Window open: " + strconv.Itoa(m) + " min left"
}

func relativeTime(now, t time.Time) string {
	d := now.Sub(t)
	switch {
	case t.IsZero():
		return ""
	case d < time.Minute:
		return "now"
	case d < time.Hour:
		return strconv.Itoa(int(d.Minutes())) + " min"
	case d < 24*time.Hour:
		return strconv.Itoa(int(d.Hours())) + " h"
	}
	return t.Format("2 Jan")
}

// afterSend answers a reply form: back to the conversation when it went through. A refusal (the
// window, a switched-off number, a rule, Meta) answers the conversation page again with the
// reason beside the form and what the member typed still in it: a refused send must not cost
// them the draft.
func (s *Server) afterSend(c echo.Context, err error, ok string, draft views.Draft) error {
	var fe inbox.FieldErrors
	var tfe templates.FieldErrors
	switch {
	case err == nil:
		return s.redirectWithFlash(c, memberlessURL(c), ok)
	case errors.Is(err, inbox.ErrWindowClosed), errors.Is(err, inbox.ErrSendFailed), errors.Is(err, inbox.ErrNumberDisabled), errors.Is(err, inbox.ErrNumberDisconnected),
		errors.As(err, &fe), errors.As(err, &tfe),
		errors.Is(err, templates.ErrNotSendable), errors.Is(err, templates.ErrInvalidState):
		draft.Problem = sendProblem(err)
		return s.renderDraft(c, draft)
	}
	return err
}

// renderDraft shows the conversation with a refused form filled in as it was sent.
func (s *Server) renderDraft(c echo.Context, draft views.Draft) error {
	v, err := s.conversationView(c, false)
	if err != nil {
		return err
	}
	v.Draft = draft
	v.MediaComposer = mediaComposer(c, v.URL, draft)
	if draft.Form == "template" && draft.TemplateID != "" {
		id, _ := strconv.ParseInt(draft.TemplateID, 10, 64)
		v.DraftFields, v.DraftPreview = s.templateVars(c.Request().Context(), principalOf(c), id)
		for i := range v.DraftFields {
			v.DraftFields[i].Value = draft.Values[v.DraftFields[i].Name]
		}
	}
	return s.renderConversationView(c, http.StatusUnprocessableEntity, v)
}

func sendProblem(err error) string {
	var fe inbox.FieldErrors
	if errors.As(err, &fe) {
		for _, msg := range fe {
			return msg
		}
	}
	var tfe templates.FieldErrors
	if errors.As(err, &tfe) {
		for _, msg := range tfe {
			return msg
		}
	}
	if apiErr, ok := whatsapp.AsAPIError(err); ok {
		return "WhatsApp refused the message: " + apiErr.Message + " (error " + strconv.Itoa(apiErr.Code) + ")."
	}
	msg := err.Error()
	return strings.ToUpper(msg[:1]) + msg[1:] + "."
}

func memberlessURL(c echo.Context) string { return "/conversations/" + c.Param("id") }

func (s *Server) sendText(c echo.Context) error {
	body := c.FormValue("body")
	_, err := s.Inbox.SendText(c.Request().Context(), principalOf(c), pathID(c), body)
	return s.afterSend(c, err, "Message sent.", views.Draft{Form: "text", Text: body})
}

func (s *Server) sendCanned(c echo.Context) error {
	id, _ := strconv.ParseInt(c.FormValue("canned"), 10, 64)
	_, err := s.Inbox.SendCanned(c.Request().Context(), principalOf(c), pathID(c), id)
	return s.afterSend(c, err, "Canned reply sent.", views.Draft{Form: "canned", Canned: c.FormValue("canned")})
}

// templateFields answers the template picker with inputs for the chosen template's variables.
func (s *Server) templateFields(c echo.Context) error {
	id, _ := strconv.ParseInt(c.QueryParam("template"), 10, 64)
	vars, preview := s.templateVars(c.Request().Context(), principalOf(c), id)
	return render(c, http.StatusOK, views.TemplateFields(vars, preview))
}

// templateVars lists the inputs a sendable template needs, with its body as a preview; nothing
// for a template the member may not send.
func (s *Server) templateVars(ctx context.Context, p *authz.Principal, id int64) ([]views.TemplateVariable, string) {
	t, err := s.Templates.Get(ctx, p, id)
	if err != nil || !t.Sendable() {
		return nil, ""
	}
	content := t.Live.Content
	var vars []views.TemplateVariable
	if content.Header.Format == templates.HeaderText {
		for _, name := range templateVariables(content.Header.Text) {
			vars = append(vars, views.TemplateVariable{Name: "header_" + name, Label: "Header {{" + name + "}}", Example: content.Header.Example})
		}
	}
	for _, name := range templateVariables(content.Body.Text) {
		vars = append(vars, views.TemplateVariable{Name: "body_" + name, Label: "{{" + name + "}}", Example: content.Body.Examples[name]})
	}
	for i, b := range content.Buttons {
		key := "button_" + strconv.Itoa(i)
		switch {
		case b.Type == templates.ButtonURL && len(templateVariables(b.URL)) > 0:
			vars = append(vars, views.TemplateVariable{Name: key, Label: "Button “" + b.Text + "”: end of its web address", Example: b.Example})
		case b.Type == templates.ButtonCopyCode:
			vars = append(vars, views.TemplateVariable{Name: key, Label: "Button “" + b.Text + "”: the code to copy", Example: b.Example})
		}
	}
	return vars, content.Body.Text
}

func (s *Server) sendTemplate(c echo.Context) error {
	ctx := c.Request().Context()
	p := principalOf(c)
	id, _ := strconv.ParseInt(c.FormValue("template"), 10, 64)
	form, _ := c.FormParams()
	draft := views.Draft{Form: "template", TemplateID: c.FormValue("template"), Values: map[string]string{}}
	for key, vals := range form {
		if strings.HasPrefix(key, "body_") || strings.HasPrefix(key, "header_") || strings.HasPrefix(key, "button_") {
			draft.Values[key] = vals[0]
		}
	}
	t, err := s.Templates.Get(ctx, p, id)
	if errors.Is(err, templates.ErrNotFound) {
		draft.Problem = "Choose one of the approved templates."
		return s.renderDraft(c, draft)
	}
	if err != nil {
		return err
	}
	values := templates.Values{Header: map[string]string{}, Body: map[string]string{}, Buttons: map[int]string{}}
	for key, vals := range form {
		switch {
		case strings.HasPrefix(key, "body_"):
			values.Body[strings.TrimPrefix(key, "body_")] = strings.TrimSpace(vals[0])
		case strings.HasPrefix(key, "header_"):
			values.Header[strings.TrimPrefix(key, "header_")] = strings.TrimSpace(vals[0])
		case strings.HasPrefix(key, "button_"):
			if i, err := strconv.Atoi(strings.TrimPrefix(key, "button_")); err == nil {
				values.Buttons[i] = strings.TrimSpace(vals[0])
			}
		}
	}
	msg, shown, err := templateMessage(t, values)
	if err != nil {
		return s.afterSend(c, err, "", draft)
	}
	_, err = s.Inbox.SendTemplateAs(ctx, p, pathID(c), msg, shown)
	return s.afterSend(c, err, "Template "+t.Name+" sent.", draft)
}

func (s *Server) assignConversation(c echo.Context) error {
	member, _ := strconv.ParseInt(c.FormValue("member"), 10, 64)
	err := s.Inbox.Assign(c.Request().Context(), principalOf(c), pathID(c), member)
	var fe inbox.FieldErrors
	if errors.As(err, &fe) {
		s.flash(c, "error", sendProblem(err))
		return c.Redirect(http.StatusSeeOther, memberlessURL(c))
	}
	if err != nil {
		return err
	}
	return s.redirectWithFlash(c, memberlessURL(c), "Conversation assigned.")
}

func (s *Server) escalateConversation(c echo.Context) error {
	reason := c.FormValue("reason")
	err := s.Inbox.Escalate(c.Request().Context(), principalOf(c), pathID(c), reason)
	var fe inbox.FieldErrors
	if errors.As(err, &fe) {
		return s.renderDraft(c, views.Draft{Form: "escalate", Reason: reason, Problem: sendProblem(err)})
	}
	if err != nil {
		return err
	}
	return s.redirectWithFlash(c, memberlessURL(c), "Escalated. Members who assign conversations see it in Escalated.")
}

func (s *Server) closeConversation(c echo.Context) error {
	if err := s.Inbox.Close(c.Request().Context(), principalOf(c), pathID(c)); err != nil {
		return err
	}
	return s.redirectWithFlash(c, memberlessURL(c), "Conversation closed. A new message from the customer opens it again.")
}

func (s *Server) reopenConversation(c echo.Context) error {
	if err := s.Inbox.Reopen(c.Request().Context(), principalOf(c), pathID(c)); err != nil {
		return err
	}
	return s.redirectWithFlash(c, memberlessURL(c), "Conversation reopened.")
}

func (s *Server) cannedPage(c echo.Context) error {
	return s.renderCanned(c, http.StatusOK, "", "", nil)
}

func (s *Server) renderCanned(c echo.Context, status int, title, body string, errs map[string]string) error {
	return s.renderCannedView(c, status, views.CannedView{Title: title, Body: body, Errors: errs})
}

// renderCannedEdit shows a refused edit of reply id with what was typed still in its form.
func (s *Server) renderCannedEdit(c echo.Context, id int64, title, body string, errs map[string]string) error {
	return s.renderCannedView(c, http.StatusUnprocessableEntity, views.CannedView{Title: title, Body: body, Errors: errs, EditID: id})
}

func (s *Server) renderCannedView(c echo.Context, status int, v views.CannedView) error {
	list, err := s.Inbox.CannedResponses(c.Request().Context(), principalOf(c))
	if err != nil {
		return err
	}
	v.Page = s.page(c, "Canned replies", "canned")
	for _, cr := range list {
		v.Canned = append(v.Canned, views.CannedRow{ID: cr.ID, Title: cr.Title, Body: cr.Body})
	}
	return render(c, status, views.Canned(v))
}

func (s *Server) createCanned(c echo.Context) error {
	in := inbox.CannedInput{Title: c.FormValue("title"), Body: c.FormValue("body")}
	_, err := s.Inbox.CreateCanned(c.Request().Context(), principalOf(c), in)
	var fe inbox.FieldErrors
	if errors.As(err, &fe) {
		return s.renderCanned(c, http.StatusUnprocessableEntity, in.Title, in.Body, fe)
	}
	if err != nil {
		return err
	}
	return s.redirectWithFlash(c, "/canned", "Canned reply added.")
}

func (s *Server) updateCanned(c echo.Context) error {
	in := inbox.CannedInput{Title: c.FormValue("title"), Body: c.FormValue("body")}
	_, err := s.Inbox.UpdateCanned(c.Request().Context(), principalOf(c), pathID(c), in)
	var fe inbox.FieldErrors
	if errors.As(err, &fe) {
		return s.renderCannedEdit(c, pathID(c), in.Title, in.Body, fe)
	}
	if err != nil {
		return err
	}
	return s.redirectWithFlash(c, "/canned", "Canned reply saved.")
}

func (s *Server) deleteCanned(c echo.Context) error {
	if err := s.Inbox.DeleteCanned(c.Request().Context(), principalOf(c), pathID(c)); err != nil {
		return err
	}
	return s.redirectWithFlash(c, "/canned", "Canned reply deleted.")
}
