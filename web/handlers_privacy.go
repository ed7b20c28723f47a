package web

import (
	"errors"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/switchboard/switchboard/internal/consent"
	"github.com/switchboard/switchboard/web/views"
)

func (s *Server) privacySettingsPage(c echo.Context) error {
	v, err := s.privacySettingsView(c)
	if err != nil {
		return err
	}
	return render(c, http.StatusOK, views.PrivacySettings(v))
}

func (s *Server) savePrivacySettings(c echo.Context) error {
	input := c.FormValue("keywords")
	err := s.Consent.SaveKeywords(c.Request().Context(), input)
	var fe consent.FieldErrors
	if errors.As(err, &fe) {
		v, verr := s.privacySettingsView(c)
		if verr != nil {
			return verr
		}
		v.Keywords, v.Error = input, fe["keywords"]
		return render(c, http.StatusUnprocessableEntity, views.PrivacySettings(v))
	}
	if err != nil {
		return err
	}
	return s.redirectWithFlash(c, "/settings/privacy", "Opt-out keywords saved.")
}
