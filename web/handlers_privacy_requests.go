package web

import (
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/switchboard/switchboard/internal/alerts"
	"github.com/switchboard/switchboard/internal/audit"
	"github.com/switchboard/switchboard/internal/authz"
	"github.com/switchboard/switchboard/internal/privacy"
	"github.com/switchboard/switchboard/web/views"
)

func (s *Server) privacyRequestsView(c echo.Context) (views.PrivacyRequestsView, error) {
	ctx := c.Request().Context()
	p := principalOf(c)
	st, err := s.Privacy.Settings(ctx)
	if err != nil {
		return views.PrivacyRequestsView{}, err
	}
	v := views.PrivacyRequestsView{Page: s.page(c, "Privacy requests", "privacy_requests"), Errors: map[string]string{},
		CanExport: p.Can(authz.ContactsExport), CanErase: p.Can(authz.ContactsErase), FourEyes: st.ErasureFourEyes}
	reqs, err := s.Privacy.Requests(ctx, 50)
	if err != nil {
		return v, err
	}
	for _, r := range reqs {
		row := views.ErasureRow{ID: r.ID, ContactID: r.ContactID, Reference: r.Reference, Status: r.Status, RequestedBy: r.RequestedByName,
			RequestedAt: s.viewerTime(c, r.RequestedAt), DecidedBy: r.DecidedByName, CanConfirm: r.RequestedBy != p.MemberID}
		if !r.DecidedAt.IsZero() {
			row.DecidedAt = s.viewerTime(c, r.DecidedAt)
		}
		row.Removed = removedSummary(r.Removed)
		if r.Status == "pending" {
			if ct, err := s.Privacy.FindContact(ctx, p, "", r.ContactID); err == nil {
				row.Customer = strings.TrimSpace(ct.Label() + " " + ct.Phone)
			}
		}
		v.Erasures = append(v.Erasures, row)
	}
	return v, nil
}

// removedSummary says what an erasure deleted, in words, largest areas first.
func removedSummary(m map[string]int64) string {
	var parts []string
	for area, n := range m {
		if n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n, strings.ReplaceAll(area, "_", " ")))
		}
	}
	sort.Strings(parts)
	return strings.Join(parts, ", ")
}

func (s *Server) privacyRequestsPage(c echo.Context) error {
	v, err := s.privacyRequestsView(c)
	if err != nil {
		return err
	}
	number := strings.TrimSpace(c.QueryParam("number"))
	id, _ := strconv.ParseInt(c.QueryParam("contact"), 10, 64)
	if number == "" && id == 0 {
		return render(c, http.StatusOK, views.PrivacyRequests(v))
	}
	v.Number = number
	ctx := c.Request().Context()
	contact, err := s.Privacy.FindContact(ctx, principalOf(c), number, id)
	var fe *privacy.FieldError
	switch {
	case errors.As(err, &fe):
		v.Errors[fe.Field] = fe.Message
		return render(c, http.StatusUnprocessableEntity, views.PrivacyRequests(v))
	case errors.Is(err, privacy.ErrNotFound):
		v.NotFound = true
		return render(c, http.StatusNotFound, views.PrivacyRequests(v))
	case err != nil:
		return err
	}
	convs, msgs, err := s.Privacy.Counts(ctx, contact.ID)
	if err != nil {
		return err
	}
	v.Contact = &views.PrivacyContact{ID: contact.ID, Name: contact.Label(), Phone: contact.Phone, Conversations: convs, Messages: msgs}
	return render(c, http.StatusOK, views.PrivacyRequests(v))
}

// privacyError answers a domain error of the privacy area: 404 for a customer out of reach,
// 403 for a missing permission, the page with the message for input it refused.
func (s *Server) privacyError(c echo.Context, err error) error {
	var fe *privacy.FieldError
	switch {
	case errors.Is(err, privacy.ErrNotFound):
		return echo.NewHTTPError(http.StatusNotFound)
	case errors.Is(err, privacy.ErrForbidden):
		return echo.NewHTTPError(http.StatusForbidden)
	case errors.Is(err, privacy.ErrSameMember):
		return s.privacyRefusal(c, http.StatusForbidden, "reference", "You asked for this erasure: a second member must confirm it.")
	case errors.As(err, &fe):
		return s.privacyRefusal(c, http.StatusUnprocessableEntity, fe.Field, fe.Message)
	}
	return err
}

func (s *Server) privacyRefusal(c echo.Context, status int, field, msg string) error {
	v, err := s.privacyRequestsView(c)
	if err != nil {
		return err
	}
	v.Errors[field] = msg
	v.Page.Flash = nil
	return render(c, status, views.PrivacyRequests(v))
}

func (s *Server) exportContact(c echo.Context) error {
	id := pathID(c)
	// Checked before the download starts: once the ZIP streams, an error cannot become a page.
	if _, err := s.Privacy.FindContact(c.Request().Context(), principalOf(c), "", id); err != nil {
		return s.privacyError(c, err)
	}
	h := c.Response().Header()
	h.Set(echo.HeaderContentType, "application/zip")
	h.Set(echo.HeaderContentDisposition, fmt.Sprintf(`attachment; filename="customer-%d-data-%s.zip"`, id, s.Clock.Now().UTC().Format("2006-01-02")))
	h.Set("Cache-Control", "no-store")
	c.Response().WriteHeader(http.StatusOK)
	if err := s.Privacy.WriteExport(c.Request().Context(), principalOf(c), id, c.Response()); err != nil {
		s.Logger.ErrorContext(c.Request().Context(), "subject access export failed mid-way", "contact", id, "error", err)
	}
	return nil
}

func (s *Server) eraseContact(c echo.Context) error {
	r, err := s.Privacy.RequestErasure(c.Request().Context(), principalOf(c), pathID(c), c.FormValue("reference"))
	if err != nil {
		return s.privacyError(c, err)
	}
	if r.Status == "pending" {
		return s.redirectWithFlash(c, "/privacy/requests", "Erasure asked for: a second member who may erase customers must confirm it.")
	}
	return s.redirectWithFlash(c, "/privacy/requests", "The customer's data was erased.")
}

func (s *Server) confirmErasure(c echo.Context) error {
	if _, err := s.Privacy.ConfirmErasure(c.Request().Context(), principalOf(c), pathID(c)); err != nil {
		return s.privacyError(c, err)
	}
	return s.redirectWithFlash(c, "/privacy/requests", "The customer's data was erased.")
}

func (s *Server) cancelErasure(c echo.Context) error {
	if err := s.Privacy.CancelErasure(c.Request().Context(), principalOf(c), pathID(c)); err != nil {
		return s.privacyError(c, err)
	}
	return s.redirectWithFlash(c, "/privacy/requests", "Erasure request withdrawn.")
}

func (s *Server) recordsPage(c echo.Context) error {
	recs, st, err := s.Privacy.Records(c.Request().Context())
	if err != nil {
		return err
	}
	v := views.RecordsView{Page: s.page(c, "Records of processing", "records"), Updated: "never",
		CanEdit: principalOf(c).Can(authz.WorkspaceSettingsManage)}
	if st.UpdatedAt.UnixMilli() > 0 {
		v.Updated = s.viewerTime(c, st.UpdatedAt)
	}
	for _, r := range recs {
		v.Records = append(v.Records, views.RecordRow{Data: r.Data, Subjects: r.Subjects, Where: r.Where, Purpose: r.Purpose, Retention: r.Retention})
	}
	return render(c, http.StatusOK, views.Records(v))
}

// privacySettingsView fills the whole privacy settings page from the stored settings.
func (s *Server) privacySettingsView(c echo.Context) (views.PrivacySettingsView, error) {
	ctx := c.Request().Context()
	words, err := s.Consent.Keywords(ctx)
	if err != nil {
		return views.PrivacySettingsView{}, err
	}
	st, err := s.Privacy.Settings(ctx)
	if err != nil {
		return views.PrivacySettingsView{}, err
	}
	runs, err := s.Privacy.LastRuns(ctx)
	if err != nil {
		return views.PrivacySettingsView{}, err
	}
	v := views.PrivacySettingsView{Page: s.page(c, "Privacy", "privacy"), Keywords: strings.Join(words, " "), FourEyes: st.ErasureFourEyes,
		MessagesDays: strconv.Itoa(st.MessagesDays), MediaDays: strconv.Itoa(st.MediaDays), WebhookDays: strconv.Itoa(st.WebhookDays),
		ActivityDays: strconv.Itoa(st.ActivityDays), Errors: map[string]string{}}
	keep := map[privacy.Job]int{privacy.JobMessages: st.MessagesDays, privacy.JobMedia: st.MediaDays, privacy.JobWebhooks: st.WebhookDays, privacy.JobActivity: st.ActivityDays}
	for _, j := range privacy.Jobs() {
		r := runs[j]
		row := views.RetentionJobRow{Label: j.Label(), Keep: "Forever", LastRun: "Not run yet", Removed: "–", Detail: r.Detail, Error: r.Error}
		if d := keep[j]; d > 0 {
			row.Keep = views.Plural(d, "day", "days")
		}
		if !r.StartedAt.IsZero() {
			row.LastRun = s.viewerTime(c, r.StartedAt)
			row.Removed = strconv.FormatInt(r.Removed, 10)
		}
		v.Jobs = append(v.Jobs, row)
	}
	return v, nil
}

func (s *Server) saveRetention(c echo.Context) error {
	v, err := s.privacySettingsView(c)
	if err != nil {
		return err
	}
	st := privacy.Settings{ErasureFourEyes: c.FormValue("four_eyes") == "1"}
	fields := []struct {
		name string
		dst  *int
		src  *string
	}{{"messages_days", &st.MessagesDays, &v.MessagesDays}, {"media_days", &st.MediaDays, &v.MediaDays},
		{"webhook_days", &st.WebhookDays, &v.WebhookDays}, {"activity_days", &st.ActivityDays, &v.ActivityDays}}
	for _, f := range fields {
		*f.src = strings.TrimSpace(c.FormValue(f.name))
		n, err := strconv.Atoi(*f.src)
		if err != nil {
			v.Errors[f.name] = "Enter a whole number of days."
			continue
		}
		*f.dst = n
	}
	v.FourEyes = st.ErasureFourEyes
	if len(v.Errors) == 0 {
		err = s.Privacy.SaveSettings(c.Request().Context(), principalOf(c), st)
		var fe *privacy.FieldError
		switch {
		case errors.As(err, &fe):
			v.Errors[fe.Field] = fe.Message
		case errors.Is(err, privacy.ErrForbidden):
			return echo.NewHTTPError(http.StatusForbidden)
		case err != nil:
			return err
		}
	}
	if len(v.Errors) > 0 {
		return render(c, http.StatusUnprocessableEntity, views.PrivacySettings(v))
	}
	return s.redirectWithFlash(c, "/settings/privacy", "Retention saved.")
}

func (s *Server) runRetention(c echo.Context) error {
	runs, err := s.Privacy.RunRetention(c.Request().Context())
	if err != nil {
		return err
	}
	var removed int64
	for _, r := range runs {
		removed += r.Removed
	}
	return s.redirectWithFlash(c, "/settings/privacy", fmt.Sprintf("Retention jobs ran: %d removed.", removed))
}

func (s *Server) alertRulesView(c echo.Context) (views.AlertRulesView, error) {
	ctx := c.Request().Context()
	v := views.AlertRulesView{Page: s.page(c, "Alert rules", "alert_rules"), HasWebhooks: s.Alerts.HasWebhooks(), HasMail: s.MailService != nil}
	list, err := s.Members.Store().List(ctx)
	if err != nil {
		return v, err
	}
	for _, m := range list {
		if ok, err := s.Members.Store().MayReceiveAlerts(ctx, s.DB.R, m.ID); err != nil {
			return v, err
		} else if ok {
			v.Recipients = append(v.Recipients, views.AlertRecipient{ID: m.ID, Name: m.Name, Email: m.Email})
		}
	}
	rules, err := s.Alerts.Rules(ctx)
	if err != nil {
		return v, err
	}
	for _, r := range rules {
		v.Rules = append(v.Rules, alertRuleRow(r))
	}
	return v, nil
}

func alertRuleRow(r alerts.Rule) views.AlertRuleRow {
	sp := alerts.SpecOf(r.Kind)
	row := views.AlertRuleRow{Kind: string(r.Kind), Label: r.Kind.Label(), Enabled: r.Enabled, ThresholdLabel: sp.ThresholdLabel,
		Threshold2Label: sp.Threshold2Label, Windowed: sp.Windowed, EmailEveryone: r.EmailEveryone, Webhook: r.Webhook,
		EmailTo: map[int64]bool{}, Errors: map[string]string{}}
	if sp.ThresholdLabel != "" {
		row.Threshold = strconv.Itoa(r.Threshold)
	}
	if sp.Threshold2Label != "" {
		row.Threshold2 = strconv.Itoa(r.Threshold2)
	}
	if sp.Windowed {
		row.Window = strconv.Itoa(int(r.Window / time.Minute))
	}
	for _, id := range r.EmailTo {
		row.EmailTo[id] = true
	}
	var parts []string
	if sp.ThresholdLabel != "" {
		when := fmt.Sprintf("%d %s", r.Threshold, strings.ToLower(sp.ThresholdLabel))
		if sp.Threshold2Label != "" {
			when += fmt.Sprintf(" or %d %s", r.Threshold2, strings.ToLower(strings.TrimSuffix(sp.Threshold2Label, " by one member or key")))
		}
		parts = append(parts, when+fmt.Sprintf(" in %d min", int(r.Window/time.Minute)))
	}
	switch {
	case r.EmailEveryone:
		parts = append(parts, "e-mail to everyone who sees alerts")
	case len(r.EmailTo) == 0:
		parts = append(parts, "no e-mail")
	default:
		parts = append(parts, views.Plural(len(r.EmailTo), "member", "members")+" e-mailed")
	}
	if r.Webhook {
		parts = append(parts, "webhooks")
	}
	row.Summary = strings.Join(parts, " · ")
	return row
}

func (s *Server) alertRulesPage(c echo.Context) error {
	v, err := s.alertRulesView(c)
	if err != nil {
		return err
	}
	return render(c, http.StatusOK, views.AlertRules(v))
}

func (s *Server) saveAlertRule(c echo.Context) error {
	kind := alerts.Kind(c.Param("kind"))
	if !kind.Valid() {
		return echo.NewHTTPError(http.StatusNotFound)
	}
	r := alerts.Rule{Kind: kind, Enabled: c.FormValue("enabled") == "1", Webhook: c.FormValue("webhook") == "1",
		EmailEveryone: c.FormValue("email") != "chosen"}
	errs := map[string]string{}
	num := func(field string) int {
		raw := strings.TrimSpace(c.FormValue(field))
		if raw == "" {
			return 0
		}
		n, err := strconv.Atoi(raw)
		if err != nil {
			errs[field] = "Enter a whole number."
		}
		return n
	}
	r.Threshold, r.Threshold2 = num("threshold"), num("threshold2")
	r.Window = time.Duration(num("window")) * time.Minute
	form, _ := c.FormParams()
	for _, raw := range form["email_to"] {
		id, err := strconv.ParseInt(raw, 10, 64)
		if err != nil {
			errs["email_to"] = "Choose members from the list."
			continue
		}
		r.EmailTo = append(r.EmailTo, id)
	}
	if len(errs) == 0 {
		err := s.Alerts.SaveRule(c.Request().Context(), audit.PrincipalActor(principalOf(c)), r, s.Members.Store().MayReceiveAlerts)
		var re *alerts.RuleError
		switch {
		case errors.As(err, &re):
			errs[re.Field] = re.Message
		case err != nil:
			return err
		}
	}
	if len(errs) == 0 {
		return s.redirectWithFlash(c, "/settings/alerts", "Rule saved: "+kind.Label()+".")
	}
	v, err := s.alertRulesView(c)
	if err != nil {
		return err
	}
	for i := range v.Rules {
		if v.Rules[i].Kind == string(kind) {
			row := alertRuleRow(r)
			row.Threshold, row.Threshold2 = c.FormValue("threshold"), c.FormValue("threshold2")
			row.Window, row.Errors, row.Open = c.FormValue("window"), errs, true
			v.Rules[i] = row
		}
	}
	return render(c, http.StatusUnprocessableEntity, views.AlertRules(v))
}
