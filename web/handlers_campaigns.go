package web

import (
	"errors"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/switchboard/switchboard/internal/authz"
	"github.com/switchboard/switchboard/internal/campaigns"
	"github.com/switchboard/switchboard/internal/inbox"
	"github.com/switchboard/switchboard/internal/templates"
	"github.com/switchboard/switchboard/web/views"
)

func (s *Server) campaignsPage(c echo.Context) error {
	p := principalOf(c)
	list, err := s.Campaigns.List(c.Request().Context(), p)
	if err != nil {
		return err
	}
	v := views.CampaignsView{Page: s.page(c, "Campaigns", "campaigns"), CanCreate: p.Can(authz.CampaignsManage)}
	zone, loc := s.viewerZone(c)
	for _, cp := range list {
		pr, err := s.Campaigns.Progress(c.Request().Context(), cp.ID)
		if err != nil {
			return err
		}
		v.Items = append(v.Items, views.CampaignListItem{ID: cp.ID, Name: cp.Name, Status: cp.Status.Label(), Tone: statusTone(cp.Status),
			Number: cp.PhoneNumberName, Template: cp.TemplateName, Recipients: cp.Recipients, Percent: pr.Percent(),
			Progress: strconv.Itoa(pr.Percent()) + " %", Start: cp.StartIn(loc, zone), CreatedBy: cp.CreatedByName})
	}
	return render(c, http.StatusOK, views.Campaigns(v))
}

func statusTone(st campaigns.Status) string {
	switch st {
	case campaigns.StatusRunning:
		return "blue"
	case campaigns.StatusCompleted:
		return "green"
	case campaigns.StatusPaused, campaigns.StatusAwaitingApproval:
		return "yellow"
	case campaigns.StatusCancelled:
		return "red"
	}
	return "grey"
}

// campaignTimeZones are the zones the form offers; the member's own comes first when known.
var campaignTimeZones = []string{"UTC", "Europe/London", "Europe/Berlin", "Europe/Madrid", "Europe/Istanbul", "Africa/Lagos",
	"Africa/Johannesburg", "Asia/Dubai", "Asia/Kolkata", "Asia/Jakarta", "Asia/Singapore", "Asia/Tokyo", "Australia/Sydney",
	"America/Sao_Paulo", "America/Mexico_City", "America/New_York", "America/Chicago", "America/Los_Angeles"}

func (s *Server) newCampaignPage(c echo.Context) error {
	return s.renderCampaignForm(c, http.StatusOK, s.campaignDraftOf(c, false), nil, nil)
}

// campaignDraftOf reads the form; fromForm false gives an empty draft with defaults. The start
// time is read in the creator's own zone unless they chose another in the form.
func (s *Server) campaignDraftOf(c echo.Context, fromForm bool) campaigns.Draft {
	d := campaigns.Draft{TimeZone: s.viewerZoneName(c), Bindings: map[string]campaigns.Binding{}}
	if !fromForm {
		return d
	}
	d.Name = c.FormValue("name")
	d.TemplateID, _ = strconv.ParseInt(c.FormValue("template"), 10, 64)
	d.PhoneNumberID, _ = strconv.ParseInt(c.FormValue("phone_number"), 10, 64)
	d.Segment.PhonePrefix = c.FormValue("phone_prefix")
	if t, err := time.Parse("2006-01-02", c.FormValue("contacted_since")); err == nil {
		d.Segment.ContactedSince = t
	}
	if t, err := time.Parse("2006-01-02", c.FormValue("contacted_before")); err == nil {
		d.Segment.ContactedBefore = t
	}
	d.StartAt = c.FormValue("start_at")
	if tz := c.FormValue("time_zone"); tz != "" {
		d.TimeZone = tz
	}
	form, _ := c.FormParams()
	for _, l := range form["label"] {
		if id, err := strconv.ParseInt(l, 10, 64); err == nil {
			d.Segment.LabelIDs = append(d.Segment.LabelIDs, id)
		}
	}
	d.Segment.FieldID, _ = strconv.ParseInt(c.FormValue("field"), 10, 64)
	d.Segment.FieldValue = c.FormValue("field_value")
	for key, vals := range form {
		if k, ok := strings.CutPrefix(key, "var_source_"); ok {
			b := d.Bindings[k]
			b.Source = vals[0]
			d.Bindings[k] = b
		}
		if k, ok := strings.CutPrefix(key, "var_value_"); ok {
			b := d.Bindings[k]
			b.Value = vals[0]
			d.Bindings[k] = b
		}
	}
	return d
}

func (s *Server) renderCampaignForm(c echo.Context, status int, d campaigns.Draft, errs campaigns.FieldErrors, preview *views.CampaignPreviewView) error {
	ctx := c.Request().Context()
	p := principalOf(c)
	v := views.CampaignFormView{Page: s.page(c, "New campaign", "campaigns"), Name: d.Name, PhonePrefix: d.Segment.PhonePrefix,
		StartAt: d.StartAt, TimeZone: d.TimeZone, Errors: errs, Preview: preview}
	if d.TemplateID != 0 {
		v.TemplateID = strconv.FormatInt(d.TemplateID, 10)
	}
	if d.PhoneNumberID != 0 {
		v.NumberID = strconv.FormatInt(d.PhoneNumberID, 10)
	}
	if !d.Segment.ContactedSince.IsZero() {
		v.ContactedSince = d.Segment.ContactedSince.Format("2006-01-02")
	}
	if !d.Segment.ContactedBefore.IsZero() {
		v.ContactedBefore = d.Segment.ContactedBefore.Format("2006-01-02")
	}
	numbers, err := s.Numbers.PhoneNumbers(ctx)
	if err != nil {
		return err
	}
	for _, n := range numbers {
		if n.Enabled && p.Numbers.SeesNumber(n.ID) {
			v.Numbers = append(v.Numbers, views.Option{Value: strconv.FormatInt(n.ID, 10), Label: n.Name()})
		}
	}
	tpls, err := s.Templates.List(ctx, p, templates.ListFilter{Sendable: true, Limit: 500})
	if err != nil && !errors.Is(err, templates.ErrForbidden) {
		return err
	}
	for _, t := range tpls {
		label := t.Name + " (" + t.Language + ", " + strings.ToLower(string(t.Live.Content.Category)) + ")"
		v.Templates = append(v.Templates, views.Option{Value: strconv.FormatInt(t.ID, 10), Label: label})
	}
	own := s.viewerZoneName(c)
	v.TimeZones = append(v.TimeZones, views.Option{Value: own, Label: strings.ReplaceAll(own, "_", " ") + " (your time zone)"})
	for _, tz := range campaignTimeZones {
		if tz != own {
			v.TimeZones = append(v.TimeZones, views.Option{Value: tz, Label: strings.ReplaceAll(tz, "_", " ")})
		}
	}
	labels, fields, err := s.Campaigns.SegmentChoices(ctx, p)
	if err != nil {
		return err
	}
	for _, l := range labels {
		v.Labels = append(v.Labels, views.CampaignLabel{ID: strconv.FormatInt(l.ID, 10), Name: l.Name, Checked: slices.Contains(d.Segment.LabelIDs, l.ID)})
	}
	if len(fields) > 0 {
		v.Fields = append(v.Fields, views.Option{Value: "", Label: "Any"})
	}
	for _, f := range fields {
		v.Fields = append(v.Fields, views.Option{Value: strconv.FormatInt(f.ID, 10), Label: f.Name})
	}
	if d.Segment.FieldID != 0 {
		v.FieldID = strconv.FormatInt(d.Segment.FieldID, 10)
	}
	v.FieldValue = d.Segment.FieldValue
	v.Sources = campaignSources()
	v.Vars = s.campaignVars(c, d, errs)
	return render(c, status, views.NewCampaign(v))
}

func campaignSources() []views.Option {
	var out []views.Option
	for _, src := range campaigns.Sources() {
		out = append(out, views.Option{Value: src[0], Label: src[1]})
	}
	return out
}

// campaignVars lists the chosen template's variables with their bindings.
func (s *Server) campaignVars(c echo.Context, d campaigns.Draft, errs campaigns.FieldErrors) []views.CampaignVar {
	if d.TemplateID == 0 {
		return nil
	}
	t, err := s.Templates.Get(c.Request().Context(), principalOf(c), d.TemplateID)
	if err != nil || !t.Sendable() {
		return nil
	}
	var out []views.CampaignVar
	for i, key := range campaigns.VariableKeys(t) {
		b, ok := d.Bindings[key]
		if !ok {
			b = campaigns.Binding{Source: campaigns.SourceFixed}
			if i == 0 {
				b = campaigns.Binding{Source: campaigns.SourceFirstName, Value: "there"}
			}
		}
		label := "{{" + key + "}}"
		example := t.Live.Content.Body.Examples[key]
		if k, ok := strings.CutPrefix(key, "header:"); ok {
			label, example = "Header {{"+k+"}}", t.Live.Content.Header.Example
		}
		out = append(out, views.CampaignVar{Key: key, Label: label, Source: b.Source, Value: b.Value, Example: example, Error: errs["var_"+key]})
	}
	return out
}

func (s *Server) campaignVariables(c echo.Context) error {
	d := s.campaignDraftOf(c, true)
	return render(c, http.StatusOK, views.CampaignVars(s.campaignVars(c, d, nil), campaignSources()))
}

func (s *Server) previewCampaign(c echo.Context) error {
	pv, err := s.Campaigns.Preview(c.Request().Context(), principalOf(c), s.campaignDraftOf(c, true))
	var fe campaigns.FieldErrors
	if errors.As(err, &fe) {
		var msgs []string
		for _, m := range fe {
			msgs = append(msgs, m)
		}
		return render(c, http.StatusOK, views.CampaignPreview(views.CampaignPreviewView{Problem: "Not yet: " + strings.Join(msgs, " ")}))
	}
	if err != nil {
		return err
	}
	return render(c, http.StatusOK, views.CampaignPreview(previewView(pv)))
}

func previewView(pv campaigns.Preview) views.CampaignPreviewView {
	v := views.CampaignPreviewView{Summary: pv.Size.Summary()}
	for _, smp := range pv.Samples {
		v.Samples = append(v.Samples, views.CampaignSample{Name: smp.Name, Phone: smp.Phone, Text: smp.Text})
	}
	return v
}

func (s *Server) createCampaign(c echo.Context) error {
	d := s.campaignDraftOf(c, true)
	cp, err := s.Campaigns.Create(c.Request().Context(), principalOf(c), d)
	var fe campaigns.FieldErrors
	if errors.As(err, &fe) {
		return s.renderCampaignForm(c, http.StatusUnprocessableEntity, d, fe, nil)
	}
	if err != nil {
		return err
	}
	return s.redirectWithFlash(c, "/campaigns/"+strconv.FormatInt(cp.ID, 10),
		"Campaign created for "+plural(cp.Recipients, "recipient", "recipients")+". Someone who may approve campaigns starts it.")
}

func (s *Server) campaignPage(c echo.Context) error {
	ctx := c.Request().Context()
	p := principalOf(c)
	cp, res, err := s.Campaigns.Results(ctx, p, pathID(c))
	if err != nil {
		return err
	}
	after, _ := strconv.ParseInt(c.QueryParam("after"), 10, 64)
	const pageSize = 100
	recips, err := s.Campaigns.Recipients(ctx, p, cp.ID, after, pageSize)
	if err != nil {
		return err
	}
	zone, loc := s.viewerZone(c)
	v := views.CampaignView{Page: s.page(c, cp.Name, "campaigns"), ID: cp.ID, Name: cp.Name,
		Progress: progressView(s.viewerTimes(c), cp, res, p, csrfToken(c)), CanExport: campaigns.CanExport(p)}
	segment := cp.Segment.Describe()
	left := cp.LeftOutConsent + cp.LeftOutOptedOut
	v.Facts = []views.CampaignFact{{Label: "Template", Value: cp.TemplateName + " (" + strings.ToLower(cp.TemplateCategory) + ")"},
		{Label: "From", Value: cp.PhoneNumberName}, {Label: "Segment", Value: segment},
		{Label: "Recipients", Value: strconv.Itoa(cp.Recipients) + ", " + strconv.Itoa(left) + " left out (" +
			strconv.Itoa(cp.LeftOutConsent) + " without marketing consent, " + strconv.Itoa(cp.LeftOutOptedOut) + " opted out)"},
		{Label: "Start", Value: cp.StartIn(loc, zone)}, {Label: "Created by", Value: cp.CreatedByName + ", " + formatTimeIn(cp.CreatedAt, loc, zone)}}
	if !cp.StartAt.IsZero() && cp.TimeZone != zone {
		// The author's own wording of the time, so both can talk about "9:00" and mean the same.
		v.Facts = append(v.Facts, views.CampaignFact{Label: "Scheduled as", Value: cp.StartLocal()})
	}
	if cp.ApprovedByName != "" {
		v.Facts = append(v.Facts, views.CampaignFact{Label: "Approved by", Value: cp.ApprovedByName + ", " + formatTimeIn(cp.ApprovedAt, loc, zone)})
	}
	if !cp.FinishedAt.IsZero() {
		v.Facts = append(v.Facts, views.CampaignFact{Label: "Finished", Value: formatTimeIn(cp.FinishedAt, loc, zone)})
	}
	for _, r := range res.Reasons {
		code := ""
		if r.Code != 0 {
			code = strconv.Itoa(r.Code)
		}
		v.Reasons = append(v.Reasons, views.CampaignReasonRow{State: capitalFirst(string(r.State)), Code: code, Title: r.Title, Count: r.Count})
	}
	pii := p.Can(authz.ContactsViewPII)
	for _, r := range recips {
		row := views.CampaignRecipientRow{Name: r.Name, Phone: r.Phone, Status: r.StatusLabel(), Tone: recipientTone(r), Error: r.Error, Replied: r.Replied}
		if !pii {
			row.Name, row.Phone = inbox.MaskName(r.Name, r.Phone), inbox.MaskPhone(r.Phone)
		}
		if !r.SentAt.IsZero() {
			row.SentAt = formatTimeIn(r.SentAt, loc, zone)
		}
		v.Recipients = append(v.Recipients, row)
		after = r.ID
	}
	if len(recips) == pageSize {
		v.NextPage = "/campaigns/" + strconv.FormatInt(cp.ID, 10) + "?after=" + strconv.FormatInt(after, 10)
	}
	return render(c, http.StatusOK, views.Campaign(v))
}

func capitalFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

func recipientTone(r campaigns.Recipient) string {
	switch {
	case r.State == campaigns.StateFailed || r.Status == "failed":
		return "red"
	case r.State == campaigns.StateSkipped:
		return "grey"
	case r.Status == "read" || r.Status == "delivered":
		return "green"
	case r.State == campaigns.StateSent:
		return "blue"
	}
	return "yellow"
}

// progressView is the live part: status, bar and figures.
func progressView(at func(time.Time) string, cp campaigns.Campaign, res campaigns.Results, p *authz.Principal, csrf string) views.CampaignProgressView {
	v := views.CampaignProgressView{ID: cp.ID, CSRFToken: csrf, Active: cp.Status == campaigns.StatusRunning || cp.Status == campaigns.StatusScheduled,
		Status: cp.Status.Label(), Tone: statusTone(cp.Status), Percent: res.Percent(),
		Label: strconv.Itoa(res.Done()) + " of " + plural(res.Total, "recipient", "recipients") + " done (" + strconv.Itoa(res.Percent()) + " %)"}
	if cp.Status == campaigns.StatusPaused && cp.PauseReason != "" {
		v.PauseReason = "Paused: " + cp.PauseReason + "."
	}
	if !cp.WaitUntil.IsZero() {
		v.Waiting = "The number's messaging limit (unique customers per 24 hours) is used up; sending continues after " + at(cp.WaitUntil) + "."
	}
	author := cp.CreatedBy == p.MemberID
	switch {
	case cp.Status == campaigns.StatusAwaitingApproval && p.Can(authz.CampaignsApprove) && !author:
		v.CanApprove = true
	case cp.Status == campaigns.StatusAwaitingApproval && author:
		v.ApproveNote = "Waiting for approval: someone else who may approve campaigns must start it (four eyes)."
	case cp.Status == campaigns.StatusAwaitingApproval:
		v.ApproveNote = "Waiting for approval by someone who may approve campaigns."
	}
	v.CanPause = cp.Status == campaigns.StatusRunning || cp.Status == campaigns.StatusScheduled
	v.CanResume = cp.Status == campaigns.StatusPaused && p.Can(authz.CampaignsApprove)
	v.CanCancel = cp.Status.Active() || cp.Status == campaigns.StatusAwaitingApproval
	v.Stats = []views.CampaignFact{{Label: "Sent", Value: strconv.Itoa(res.Sent)}, {Label: "Delivered", Value: strconv.Itoa(res.Delivered)},
		{Label: "Read", Value: strconv.Itoa(res.Read)}, {Label: "Replied", Value: strconv.Itoa(res.Replied)},
		{Label: "Failed", Value: strconv.Itoa(res.Failed)}, {Label: "Left out at sending", Value: strconv.Itoa(res.Skipped)},
		{Label: "Opted out after", Value: strconv.Itoa(res.OptedOut)}, {Label: "Waiting", Value: strconv.Itoa(res.Queued + res.Sending)}}
	return v
}

func (s *Server) campaignProgress(c echo.Context) error {
	p := principalOf(c)
	cp, res, err := s.Campaigns.Results(c.Request().Context(), p, pathID(c))
	if err != nil {
		return err
	}
	v := progressView(s.viewerTimes(c), cp, res, p, csrfToken(c))
	if !v.Active && c.Request().Header.Get("HX-Request") == "true" {
		// It has just finished or stopped: the page reloads once for the final recipients and actions.
		c.Response().Header().Set("HX-Refresh", "true")
	}
	return render(c, http.StatusOK, views.CampaignProgress(v))
}

func (s *Server) approveCampaign(c echo.Context) error {
	cp, err := s.Campaigns.Approve(c.Request().Context(), principalOf(c), pathID(c))
	if err != nil {
		return s.campaignActionFailed(c, err)
	}
	msg := "Campaign approved: sending has started."
	if cp.Status == campaigns.StatusScheduled {
		zone, loc := s.viewerZone(c)
		msg = "Campaign approved: it starts " + cp.StartIn(loc, zone) + "."
	}
	return s.redirectWithFlash(c, campaignURL(c), msg)
}

func (s *Server) pauseCampaign(c echo.Context) error {
	if err := s.Campaigns.Pause(c.Request().Context(), principalOf(c), pathID(c)); err != nil {
		return s.campaignActionFailed(c, err)
	}
	return s.redirectWithFlash(c, campaignURL(c), "Campaign paused: nothing more is sent until it is resumed.")
}

func (s *Server) resumeCampaign(c echo.Context) error {
	if err := s.Campaigns.Resume(c.Request().Context(), principalOf(c), pathID(c)); err != nil {
		return s.campaignActionFailed(c, err)
	}
	return s.redirectWithFlash(c, campaignURL(c), "Campaign resumed.")
}

func (s *Server) cancelCampaign(c echo.Context) error {
	if err := s.Campaigns.Cancel(c.Request().Context(), principalOf(c), pathID(c)); err != nil {
		return s.campaignActionFailed(c, err)
	}
	return s.redirectWithFlash(c, campaignURL(c), "Campaign cancelled: recipients not sent yet get nothing.")
}

// campaignActionFailed shows a refusal on the campaign's page; other errors go to the error page.
func (s *Server) campaignActionFailed(c echo.Context, err error) error {
	if errors.Is(err, campaigns.ErrForbidden) || errors.Is(err, campaigns.ErrState) {
		msg := err.Error()
		if errors.Is(err, campaigns.ErrState) {
			msg = "The campaign has moved on in the meantime: nothing was changed."
		}
		s.flash(c, "error", msg)
		return c.Redirect(http.StatusSeeOther, campaignURL(c))
	}
	return err
}

func campaignURL(c echo.Context) string { return "/campaigns/" + strconv.FormatInt(pathID(c), 10) }

// lazyCSV sets the download headers at the first byte, so a refusal before it is still a page.
type lazyCSV struct {
	c    echo.Context
	name string
	sent bool
}

func (w *lazyCSV) Write(b []byte) (int, error) {
	if !w.sent {
		w.sent = true
		h := w.c.Response().Header()
		h.Set(echo.HeaderContentType, "text/csv; charset=utf-8")
		h.Set(echo.HeaderContentDisposition, `attachment; filename="`+w.name+`"`)
		h.Set("Cache-Control", "no-store")
		w.c.Response().WriteHeader(http.StatusOK)
	}
	return w.c.Response().Write(b)
}

var _ io.Writer = (*lazyCSV)(nil)

func (s *Server) exportCampaign(c echo.Context) error {
	w := &lazyCSV{c: c, name: "campaign-" + strconv.FormatInt(pathID(c), 10) + "-recipients.csv"}
	err := s.Campaigns.ExportCSV(c.Request().Context(), principalOf(c), pathID(c), w)
	if err != nil && w.sent {
		s.Logger.ErrorContext(c.Request().Context(), "campaign export cut short", "error", err)
		return nil
	}
	return err
}
