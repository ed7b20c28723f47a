package web

import (
	"errors"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/switchboard/switchboard/internal/consent"
	"github.com/switchboard/switchboard/web/views"
)

func (s *Server) privacySettingsPage(c echo.Context) error {
	words, err := s.Consent.Keywords(c.Request().Context())
	if err != nil {
		return err
	}
	return render(c, http.StatusOK, views.PrivacySettings(views.PrivacySettingsView{Page: s.page(c, "Privacy", "privacy"),
		Keywords: strings.Join(words, " ")}))
}

func (s *Server) savePrivacySettings(c echo.Context) error {
	input := c.FormValue("keywords")
	err := s.Consent.SaveKeywords(c.Request().Context(), input)
	var fe consent.FieldErrors
	if errors.As(err, &fe) {
		return render(c, http.StatusUnprocessableEntity, views.PrivacySettings(views.PrivacySettingsView{
			Page: s.page(c, "Privacy", "privacy"), Keywords: input, Error: fe["keywords"]}))
	}
	if err != nil {
		return err
	}
	return s.redirectWithFlash(c, "/settings/privacy", "Opt-out keywords saved.")
}
