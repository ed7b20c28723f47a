package web

import (
	"errors"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/switchboard/switchboard/internal/authz"
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
	v := views.NumbersView{Page: s.page(c, "Phone numbers", "numbers"), CanConnect: p.Can(authz.WorkspaceSettingsManage)}
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
	return s.renderWhatsAppSettings(c, http.StatusOK, wabaForm{})
}

// wabaForm is a refused form of the WhatsApp settings page, to show again with its problems.
type wabaForm struct {
	errs      map[string]string
	in        workspace.WABAInput // the connect form's WABA ID and name (never the secrets)
	testError string              // the Cloud API refused the credentials: offer "Save anyway"
	editID    int64               // the account whose "Change name or secrets" form was refused
}

func (s *Server) renderWhatsAppSettings(c echo.Context, status int, form wabaForm) error {
	ctx := c.Request().Context()
	errs := form.errs
	wabas, err := s.Workspace.Store().WABAs(ctx)
	if err != nil {
		return err
	}
	gone, err := s.Workspace.Store().DisconnectedWABAs(ctx)
	if err != nil {
		return err
	}
	numbers, err := s.Numbers.PhoneNumbers(ctx)
	if err != nil {
		return err
	}
	numbers = inScope(principalOf(c), numbers)
	v := views.WhatsAppSettingsView{Page: s.page(c, "WhatsApp", "whatsapp"), WebhookURL: s.Config.BaseURL.String() + "/webhooks/whatsapp",
		FormWABAID: form.in.WABAID, FormName: form.in.Name, TestError: form.testError, CanDisconnect: principalOf(c).Numbers.All}
	if form.editID == 0 {
		v.Errors = errs
	}
	for _, w := range gone {
		v.Disconnected = append(v.Disconnected, views.DisconnectedWABA{WABAID: w.WABAID, Name: w.Name,
			On: s.viewerTime(c, w.DisconnectedAt), Numbers: plural(w.Numbers, "phone number", "phone numbers")})
	}
	for _, w := range wabas {
		row := views.WABARow{ID: w.ID, WABAID: w.WABAID, Name: w.Name, TokenLast4: w.AccessTokenLast4, SecretLast4: w.AppSecretLast4,
			VerifyLast4: w.VerifyTokenLast4}
		if form.editID == w.ID {
			row.Errors, row.FormName, row.Open = errs, form.in.Name, true
		} else {
			row.FormName = w.Name
		}
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

// connectWABA stores an account whose credentials the Cloud API accepts. When it refuses them,
// nothing is stored: the page shows Meta's answer and offers "Save anyway", which uses the input
// kept, encrypted, in the member's session (secrets are never sent back to the browser).
func (s *Server) connectWABA(c echo.Context) error {
	ctx := c.Request().Context()
	in := wabaInput(c)
	w, err := s.Workspace.Connect(ctx, in)
	var fe workspace.FieldErrors
	if errors.As(err, &fe) {
		return s.renderWhatsAppSettings(c, http.StatusUnprocessableEntity, wabaForm{errs: fe, in: in})
	}
	var refused *workspace.ConnectionTestError
	if errors.As(err, &refused) {
		sealed, err := s.Workspace.SealPending(in)
		if err != nil {
			return err
		}
		s.Sessions.Put(ctx, sessionPendingWABA, sealed)
		return s.renderWhatsAppSettings(c, http.StatusUnprocessableEntity, wabaForm{in: in,
			testError: "The Cloud API refused these credentials: " + apiMessage(refused.Err)})
	}
	if err != nil {
		return err
	}
	s.Sessions.Remove(ctx, sessionPendingWABA)
	return s.afterConnect(c, w.ID, "Connected.")
}

// connectWABAAnyway stores the connection the Cloud API refused, because the administrator
// chose to (for example to fix the token later, or while Meta is unreachable).
func (s *Server) connectWABAAnyway(c echo.Context) error {
	ctx := c.Request().Context()
	sealed := s.Sessions.GetBytes(ctx, sessionPendingWABA)
	s.Sessions.Remove(ctx, sessionPendingWABA)
	in, err := s.Workspace.OpenPending(sealed)
	if err != nil {
		return s.redirectWithFlashKind(c, "error", "/settings/whatsapp", "Nothing was saved: "+err.Error()+".")
	}
	in.SaveUntested = true
	_, err = s.Workspace.Connect(ctx, in)
	var fe workspace.FieldErrors
	if errors.As(err, &fe) {
		return s.renderWhatsAppSettings(c, http.StatusUnprocessableEntity, wabaForm{errs: fe, in: in})
	}
	if err != nil {
		return err
	}
	return s.redirectWithFlashKind(c, "warning", "/settings/whatsapp", "Saved without a working connection: nothing can be sent or fetched "+
		"for this account until the Cloud API accepts its token. Replace the token under “Change name or secrets”, then use Test connection.")
}

func (s *Server) afterConnect(c echo.Context, ref int64, what string) error {
	// Fetch the numbers right away; a failure here is reported but the connection stays.
	if n, err := s.Workspace.SyncNumbers(c.Request().Context(), ref); err != nil {
		s.flash(c, "warning", what+" But fetching the phone numbers failed: "+apiMessage(err))
	} else {
		s.flash(c, "success", what+" "+plural(n, "phone number", "phone numbers")+" found.")
	}
	return c.Redirect(http.StatusSeeOther, "/settings/whatsapp")
}

func (s *Server) redirectWithFlashKind(c echo.Context, kind, to, msg string) error {
	s.flash(c, kind, msg)
	return c.Redirect(http.StatusSeeOther, to)
}

// disconnectWABAPage says what disconnecting does before it is done.
func (s *Server) disconnectWABAPage(c echo.Context) error {
	if !principalOf(c).Numbers.All {
		return errDisconnectScope
	}
	w, err := s.Workspace.Store().WABA(c.Request().Context(), pathID(c))
	if errors.Is(err, workspace.ErrNotFound) {
		return echo.NewHTTPError(http.StatusNotFound)
	}
	if err != nil {
		return err
	}
	return render(c, http.StatusOK, views.DisconnectWABA(views.DisconnectWABAView{Page: s.page(c, "Disconnect "+wabaName(w), "whatsapp"),
		ID: w.ID, Name: wabaName(w), WABAID: w.WABAID, Numbers: servedNumbers(w.Numbers)}))
}

// errDisconnectScope: disconnecting takes every number of the account out of service, including
// numbers outside a number-scoped administrator's own.
var errDisconnectScope = echo.NewHTTPError(http.StatusForbidden, "Disconnecting an account needs access to all numbers.")

func (s *Server) disconnectWABA(c echo.Context) error {
	if !principalOf(c).Numbers.All {
		return errDisconnectScope
	}
	ctx := c.Request().Context()
	w, err := s.Workspace.Store().WABA(ctx, pathID(c))
	if err == nil {
		err = s.Workspace.Disconnect(ctx, w.ID)
	}
	if errors.Is(err, workspace.ErrNotFound) {
		return echo.NewHTTPError(http.StatusNotFound)
	}
	if err != nil {
		return err
	}
	msg := "Disconnected " + wabaName(w) + "."
	if w.Numbers > 0 {
		msg += " Its " + servedNumbers(w.Numbers) + " no longer served; their conversations stay in the inbox, read-only."
	}
	return s.redirectWithFlash(c, "/settings/whatsapp", msg)
}

// servedNumbers is "phone number is" or "2 phone numbers are"; "" for none.
func servedNumbers(n int) string {
	switch n {
	case 0:
		return ""
	case 1:
		return "phone number is"
	}
	return plural(n, "phone number", "phone numbers") + " are"
}

func wabaName(w workspace.WABA) string {
	if w.Name != "" {
		return w.Name
	}
	return "WhatsApp Business Account " + w.WABAID
}

func (s *Server) updateWABA(c echo.Context) error {
	in := wabaInput(c)
	err := s.Workspace.Update(c.Request().Context(), pathID(c), in)
	var fe workspace.FieldErrors
	if errors.As(err, &fe) {
		return s.renderWhatsAppSettings(c, http.StatusUnprocessableEntity, wabaForm{errs: fe, in: in, editID: pathID(c)})
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
