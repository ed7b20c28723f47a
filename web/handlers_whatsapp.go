package web

import (
	"errors"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/switchboard/switchboard/internal/whatsapp"
	"github.com/switchboard/switchboard/internal/workspace"
	"github.com/switchboard/switchboard/web/views"
)

func (s *Server) numbersPage(c echo.Context) error {
	p := principalOf(c)
	numbers, err := s.Numbers.PhoneNumbers(c.Request().Context())
	if err != nil {
		return err
	}
	v := views.NumbersView{Page: s.page(c, "Phone numbers", "numbers")}
	for _, n := range inScope(p, numbers) {
		v.Numbers = append(v.Numbers, numberRow(n))
	}
	return render(c, http.StatusOK, views.Numbers(v))
}

func numberRow(n workspace.PhoneNumber) views.NumberRow {
	return views.NumberRow{ID: n.ID, Display: n.DisplayPhoneNumber, VerifiedName: n.VerifiedName, Label: n.Label,
		Quality: n.QualityRating, Limit: n.MessagingLimit, Enabled: n.Enabled}
}

func (s *Server) whatsappSettingsPage(c echo.Context) error {
	return s.renderWhatsAppSettings(c, http.StatusOK, nil, workspace.WABAInput{})
}

func (s *Server) renderWhatsAppSettings(c echo.Context, status int, errs map[string]string, form workspace.WABAInput) error {
	ctx := c.Request().Context()
	wabas, err := s.Workspace.Store().WABAs(ctx)
	if err != nil {
		return err
	}
	numbers, err := s.Numbers.PhoneNumbers(ctx)
	if err != nil {
		return err
	}
	numbers = inScope(principalOf(c), numbers)
	v := views.WhatsAppSettingsView{Page: s.page(c, "WhatsApp", "whatsapp"), WebhookURL: s.Config.BaseURL.String() + "/webhooks/whatsapp",
		Errors: errs, FormWABAID: form.WABAID, FormName: form.Name}
	for _, w := range wabas {
		row := views.WABARow{ID: w.ID, WABAID: w.WABAID, Name: w.Name, TokenLast4: w.AccessTokenLast4, SecretLast4: w.AppSecretLast4,
			VerifyLast4: w.VerifyTokenLast4}
		for _, n := range numbers {
			if n.WABARef == w.ID {
				row.Numbers = append(row.Numbers, numberRow(n))
			}
		}
		v.WABAs = append(v.WABAs, row)
	}
	return render(c, status, views.WhatsAppSettings(v))
}

func wabaInput(c echo.Context) workspace.WABAInput {
	return workspace.WABAInput{WABAID: c.FormValue("waba_id"), Name: c.FormValue("name"), AccessToken: c.FormValue("access_token"),
		AppSecret: c.FormValue("app_secret"), VerifyToken: c.FormValue("verify_token")}
}

func (s *Server) connectWABA(c echo.Context) error {
	in := wabaInput(c)
	w, err := s.Workspace.Connect(c.Request().Context(), in)
	var fe workspace.FieldErrors
	if errors.As(err, &fe) {
		return s.renderWhatsAppSettings(c, http.StatusUnprocessableEntity, fe, workspace.WABAInput{WABAID: in.WABAID, Name: in.Name})
	}
	if err != nil {
		return err
	}
	// Fetch the numbers right away; a failure here is reported but the connection stays.
	if n, err := s.Workspace.SyncNumbers(c.Request().Context(), w.ID); err != nil {
		s.flash(c, "warning", "Connected, but fetching the phone numbers failed: "+apiMessage(err))
	} else {
		s.flash(c, "success", "Connected. "+plural(n, "phone number", "phone numbers")+" found.")
	}
	return c.Redirect(http.StatusSeeOther, "/settings/whatsapp")
}

func (s *Server) updateWABA(c echo.Context) error {
	err := s.Workspace.Update(c.Request().Context(), pathID(c), wabaInput(c))
	var fe workspace.FieldErrors
	if errors.As(err, &fe) {
		return s.renderWhatsAppSettings(c, http.StatusUnprocessableEntity, fe, workspace.WABAInput{})
	}
	if errors.Is(err, workspace.ErrNotFound) {
		return echo.NewHTTPError(http.StatusNotFound)
	}
	if err != nil {
		return err
	}
	return s.redirectWithFlash(c, "/settings/whatsapp", "Saved. Secrets you left empty were kept.")
}

func (s *Server) syncNumbers(c echo.Context) error {
	if !principalOf(c).Numbers.All {
		// Fetching changes every number of the account, including ones outside the scope.
		return echo.NewHTTPError(http.StatusForbidden, "Fetching phone numbers needs access to all numbers.")
	}
	n, err := s.Workspace.SyncNumbers(c.Request().Context(), pathID(c))
	if errors.Is(err, workspace.ErrNotFound) {
		return echo.NewHTTPError(http.StatusNotFound)
	}
	if err != nil {
		s.flash(c, "error", "Fetching the phone numbers failed: "+apiMessage(err))
		return c.Redirect(http.StatusSeeOther, "/settings/whatsapp")
	}
	return s.redirectWithFlash(c, "/settings/whatsapp", plural(n, "phone number", "phone numbers")+" fetched from Meta.")
}

func (s *Server) testConnection(c echo.Context) error {
	err := s.Workspace.TestConnection(c.Request().Context(), pathID(c))
	if errors.Is(err, workspace.ErrNotFound) {
		return echo.NewHTTPError(http.StatusNotFound)
	}
	if err != nil {
		s.flash(c, "error", "The Cloud API refused the connection: "+apiMessage(err))
		return c.Redirect(http.StatusSeeOther, "/settings/whatsapp")
	}
	return s.redirectWithFlash(c, "/settings/whatsapp", "The connection works: the Cloud API accepted the access token.")
}

func (s *Server) updateNumber(c echo.Context) error {
	if !principalOf(c).Numbers.SeesNumber(pathID(c)) {
		return echo.NewHTTPError(http.StatusNotFound)
	}
	err := s.Workspace.SetNumber(c.Request().Context(), pathID(c), c.FormValue("label"), c.FormValue("enabled") == "on")
	var fe workspace.FieldErrors
	if errors.As(err, &fe) {
		return echo.NewHTTPError(http.StatusUnprocessableEntity, fe["label"])
	}
	if errors.Is(err, workspace.ErrNotFound) {
		return echo.NewHTTPError(http.StatusNotFound)
	}
	if err != nil {
		return err
	}
	return s.redirectWithFlash(c, "/settings/whatsapp", "Phone number saved.")
}

// apiMessage says what the Cloud API answered, without internals.
func apiMessage(err error) string {
	if apiErr, ok := whatsapp.AsAPIError(err); ok {
		switch {
		case apiErr.IsAuth():
			return "the access token is not valid or has expired (Meta error " + itoa(apiErr.Code) + ")."
		case apiErr.IsPermission():
			return "the token lacks a permission for this account (Meta error " + itoa(apiErr.Code) + ")."
		}
		return apiErr.Message + " (Meta error " + itoa(apiErr.Code) + ")."
	}
	return "Meta could not be reached. Check the server's network and try again."
}
