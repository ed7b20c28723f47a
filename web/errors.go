package web

import (
	"errors"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/switchboard/switchboard/internal/apikeys"
	"github.com/switchboard/switchboard/internal/audit"
	"github.com/switchboard/switchboard/internal/campaigns"
	"github.com/switchboard/switchboard/internal/inbox"
	"github.com/switchboard/switchboard/internal/members"
	"github.com/switchboard/switchboard/internal/reviews"
	"github.com/switchboard/switchboard/internal/templates"
	"github.com/switchboard/switchboard/internal/webhooks"
	"github.com/switchboard/switchboard/web/views"
)

// handleError is the one place where errors become answers: domain errors map to statuses, and
// people get a page while API clients get JSON. Internal details are logged, never shown.
func (s *Server) handleError(err error, c echo.Context) {
	if c.Response().Committed {
		return
	}
	if isAPI(c) {
		s.writeProblem(c, err)
		return
	}
	status, message := classify(err)
	if status == http.StatusNotFound && principalOf(c) != nil && isRecordNotFound(err) {
		// Outside the member's visibility looks exactly like missing to them; the log keeps both
		// as a denied attempt, so probing for records shows up (sampled like other refusals).
		s.recordDenied(c, "access.not_found", "record missing or outside the member's visibility")
	}
	if status >= 500 {
		s.Logger.ErrorContext(c.Request().Context(), "request failed", "error", err,
			"request_id", c.Response().Header().Get(echo.HeaderXRequestID))
	}
	if wantsJSON(c) {
		_ = c.JSON(status, map[string]string{"error": message})
		return
	}
	if c.Request().Method == http.MethodHead {
		_ = c.NoContent(status)
		return
	}
	v := views.ErrorView{Page: s.page(c, http.StatusText(status), ""), Status: status, Title: errorTitle(status), Message: message}
	if rerr := render(c, status, views.Error(v)); rerr != nil {
		s.Logger.ErrorContext(c.Request().Context(), "render error page", "error", rerr)
		_ = c.String(status, message)
	}
}

func classify(err error) (int, string) {
	var he *echo.HTTPError
	switch {
	case errors.As(err, &he):
		msg, ok := he.Message.(string)
		if !ok || msg == "" || msg == http.StatusText(he.Code) || he.Code == http.StatusNotFound {
			msg = defaultMessage(he.Code)
		}
		return he.Code, msg
	case errors.Is(err, members.ErrNotFound), errors.Is(err, members.ErrInvitationInvalid), errors.Is(err, apikeys.ErrNotFound):
		return http.StatusNotFound, defaultMessage(http.StatusNotFound)
	case errors.Is(err, inbox.ErrNotFound), errors.Is(err, templates.ErrNotFound), errors.Is(err, audit.ErrNotFound):
		return http.StatusNotFound, defaultMessage(http.StatusNotFound)
	case errors.Is(err, members.ErrForbidden), errors.Is(err, inbox.ErrForbidden), errors.Is(err, templates.ErrForbidden), errors.Is(err, apikeys.ErrForbidden):
		return http.StatusForbidden, err.Error()
	case errors.Is(err, members.ErrConflict), errors.Is(err, reviews.ErrConflict):
		return http.StatusConflict, err.Error()
	case errors.Is(err, reviews.ErrNotFound), errors.Is(err, webhooks.ErrNotFound), errors.Is(err, campaigns.ErrNotFound):
		return http.StatusNotFound, defaultMessage(http.StatusNotFound)
	case errors.Is(err, webhooks.ErrForbidden), errors.Is(err, campaigns.ErrForbidden):
		return http.StatusForbidden, err.Error()
	case errors.Is(err, campaigns.ErrState):
		return http.StatusConflict, "The campaign has moved on in the meantime: reload the page to see where it is."
	default:
		return http.StatusInternalServerError, defaultMessage(http.StatusInternalServerError)
	}
}

func isRecordNotFound(err error) bool {
	return errors.Is(err, members.ErrNotFound) || errors.Is(err, inbox.ErrNotFound) ||
		errors.Is(err, templates.ErrNotFound) || errors.Is(err, audit.ErrNotFound) || errors.Is(err, reviews.ErrNotFound) ||
		errors.Is(err, webhooks.ErrNotFound) || errors.Is(err, campaigns.ErrNotFound)
}

func defaultMessage(status int) string {
	switch status {
	case http.StatusNotFound:
		return "There is nothing here, or you do not have access to it."
	case http.StatusForbidden:
		return "Your role does not allow this."
	case http.StatusUnauthorized:
		return "Sign in first."
	case http.StatusRequestEntityTooLarge:
		return "What you sent is too large."
	case http.StatusMethodNotAllowed:
		return "This address does not take that kind of request."
	}
	if status >= 500 {
		return "Something went wrong on our side. It has been logged; try again in a moment."
	}
	return http.StatusText(status)
}

func errorTitle(status int) string {
	switch status {
	case http.StatusNotFound:
		return "Not found"
	case http.StatusForbidden:
		return "Not allowed"
	case http.StatusUnauthorized:
		return "Sign in first"
	case http.StatusConflict:
		return "That cannot be done now"
	}
	if status >= 500 {
		return "Something went wrong"
	}
	return http.StatusText(status)
}

func wantsJSON(c echo.Context) bool {
	r := c.Request()
	return strings.HasPrefix(r.URL.Path, "/api/") || strings.HasPrefix(r.URL.Path, "/webhooks/") ||
		strings.Contains(r.Header.Get(echo.HeaderAccept), echo.MIMEApplicationJSON) && !strings.Contains(r.Header.Get(echo.HeaderAccept), "text/html")
}
