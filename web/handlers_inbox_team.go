package web

import (
	"errors"
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"

	"github.com/switchboard/switchboard/internal/inbox"
	"github.com/switchboard/switchboard/web/views"
)

// addNote writes an internal note; a refused note comes back in the composer with the reason.
func (s *Server) addNote(c echo.Context) error {
	body := c.FormValue("body")
	_, err := s.Inbox.AddNote(c.Request().Context(), principalOf(c), pathID(c), body)
	var fe inbox.FieldErrors
	if errors.As(err, &fe) {
		return s.renderDraft(c, views.Draft{Form: "note", Text: body, Problem: sendProblem(err)})
	}
	if err != nil {
		return err
	}
	return s.redirectWithFlash(c, memberlessURL(c), "Note added.")
}

// presence answers who else has the conversation open, for its header.
func (s *Server) presence(c echo.Context) error {
	present, err := s.Inbox.Present(c.Request().Context(), principalOf(c), pathID(c))
	if err != nil {
		return err
	}
	var names, typing []string
	for _, m := range present {
		if m.Typing {
			typing = append(typing, m.Name)
		} else {
			names = append(names, m.Name)
		}
	}
	return render(c, http.StatusOK, views.Presence(append(names, typing...), typing))
}

// reportPresence records that the member has the conversation open, is typing, or left it.
func (s *Server) reportPresence(c echo.Context) error {
	err := s.Inbox.SetPresence(c.Request().Context(), principalOf(c), pathID(c), inbox.PresenceState(c.FormValue("state")))
	var fe inbox.FieldErrors
	if errors.As(err, &fe) {
		return echo.NewHTTPError(http.StatusUnprocessableEntity, sendProblem(err))
	}
	if err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

// notices answers what the member asked to hear about since the page's cursors: new customer
// messages (in their conversations, unassigned ones, ones they were mentioned in) and mentions.
func (s *Server) notices(c echo.Context) error {
	q := inbox.NoticeQuery{Mine: c.QueryParam("mine") == "1", Unassigned: c.QueryParam("unassigned") == "1",
		Mentioned: c.QueryParam("mentioned") == "1"}
	q.MessagesAfter, _ = strconv.ParseInt(c.QueryParam("messages_after"), 10, 64)
	q.MentionsAfter, _ = strconv.ParseInt(c.QueryParam("mentions_after"), 10, 64)
	list, err := s.Inbox.Notices(c.Request().Context(), principalOf(c), q)
	if err != nil {
		return err
	}
	out := make([]views.NoticeView, 0, len(list))
	for _, n := range list {
		nv := views.NoticeView{ID: n.ID, Kind: n.Kind, Title: n.Contact, Text: n.Text,
			Href: "/conversations/" + strconv.FormatInt(n.ConversationID, 10)}
		switch n.Kind {
		case "mention":
			nv.Title = n.From + " mentioned you · " + n.Contact
			q.MentionsAfter = max(q.MentionsAfter, n.ID)
		default:
			q.MessagesAfter = max(q.MessagesAfter, n.ID)
		}
		out = append(out, nv)
	}
	return render(c, http.StatusOK, views.Notices(q.MessagesAfter, q.MentionsAfter, out))
}
