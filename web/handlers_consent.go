package web

import (
	"errors"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/switchboard/switchboard/internal/authz"
	"github.com/switchboard/switchboard/internal/consent"
	"github.com/switchboard/switchboard/web/views"
)

// canWorkConversation: the member may send in conversations, so they may record consent for
// the contacts of the conversations they see.
func canWorkConversation(p *authz.Principal) bool {
	return p.CanAny(authz.MessagesSendText, authz.MessagesSendMedia, authz.MessagesSendTemplate, authz.MessagesSendCanned)
}

func (s *Server) consentPanel(c echo.Context, contactID int64) (views.ConsentPanelView, error) {
	ctx := c.Request().Context()
	history, err := s.Consent.History(ctx, contactID)
	if err != nil {
		return views.ConsentPanelView{}, err
	}
	v := views.ConsentPanelView{Status: consent.StatusNone.Label(), CanEdit: canWorkConversation(principalOf(c))}
	if len(history) > 0 {
		v.Status, v.OptedIn = history[0].Status.Label(), history[0].Status == consent.StatusOptedIn
	}
	for _, r := range history {
		v.History = append(v.History, views.ConsentRecordRow{Status: r.Status.Label(), Source: r.Source.Label(), Text: r.Text,
			By: r.ActorName, When: s.viewerTime(c, r.RecordedAt)})
	}
	for _, src := range consent.Sources() {
		v.Sources = append(v.Sources, views.Option{Value: string(src), Label: src.Label()})
	}
	return v, nil
}

func (s *Server) setConsent(c echo.Context) error {
	ctx := c.Request().Context()
	p := principalOf(c)
	// Visibility first: a conversation the member does not see answers 404 like any other.
	conv, err := s.Inbox.Get(ctx, p, pathID(c))
	if err != nil {
		return err
	}
	_, err = s.Consent.Set(ctx, conv.Contact.ID, p.Name, consent.Change{Status: consent.Status(c.FormValue("status")),
		Source: consent.Source(c.FormValue("source")), Text: c.FormValue("text")})
	var fe consent.FieldErrors
	if errors.As(err, &fe) {
		for _, msg := range fe {
			s.flash(c, "error", msg)
			break
		}
		return c.Redirect(http.StatusSeeOther, memberlessURL(c))
	}
	if err != nil {
		return err
	}
	return s.redirectWithFlash(c, memberlessURL(c), "Marketing consent recorded.")
}
