package web

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/switchboard/switchboard/internal/apilog"
	"github.com/switchboard/switchboard/internal/authz"
	"github.com/switchboard/switchboard/internal/webhooks"
	"github.com/switchboard/switchboard/internal/workspace"
	"github.com/switchboard/switchboard/web/views"
)

// devTabs are the Developers tabs the member may open.
func devTabs(p *authz.Principal, current string) []views.DevTab {
	var tabs []views.DevTab
	if !p.Can(authz.APIKeysManage) {
		// /developers is then the landing page of the parts this member may use.
		tabs = append(tabs, views.DevTab{Label: "Overview", Href: "/developers", Current: current == "keys"})
	}
	for _, t := range []struct {
		key, label, href string
		perm             authz.Permission
	}{
		{"keys", "API keys", "/developers", authz.APIKeysManage},
		{"webhooks", "Webhooks", "/developers/webhooks", authz.WebhooksManage},
		{"api-log", "Cloud API log", "/developers/api-log", authz.APILogsView},
	} {
		if p.Can(t.perm) {
			tabs = append(tabs, views.DevTab{Label: t.label, Href: t.href, Current: t.key == current})
		}
	}
	return tabs
}

func (s *Server) webhooksPage(c echo.Context) error {
	ctx := c.Request().Context()
	p := principalOf(c)
	list, err := s.Webhooks.Visible(ctx, p)
	if err != nil {
		return err
	}
	numbers, err := s.Numbers.PhoneNumbers(ctx)
	if err != nil {
		return err
	}
	v := views.WebhooksView{Page: s.page(c, "Webhooks", "developers"), Tabs: devTabs(p, "webhooks"), Sandbox: s.Webhooks.Sandbox()}
	for _, e := range list {
		row, err := s.endpointRow(c, e, numbers)
		if err != nil {
			return err
		}
		v.Endpoints = append(v.Endpoints, row)
	}
	return render(c, http.StatusOK, views.Webhooks(v))
}

func (s *Server) endpointRow(c echo.Context, e webhooks.Endpoint, numbers []workspace.PhoneNumber) (views.EndpointRow, error) {
	ctx := c.Request().Context()
	counts, err := s.Webhooks.Store().Counts(ctx, e.ID)
	if err != nil {
		return views.EndpointRow{}, err
	}
	row := views.EndpointRow{ID: e.ID, URL: e.ShownURL(), Description: e.Description, Events: e.Events, Format: "Standard Webhooks",
		Numbers: numbersLabel(e.Numbers, numbers), CreatedBy: e.CreatedByName, Created: s.viewerTime(c, e.CreatedAt), Status: "enabled",
		Pending: counts.Pending, Delivered: counts.Delivered, Failed: counts.Failed}
	if e.Format == webhooks.FormatSlack {
		row.Format = "Slack"
	}
	creator, m, err := s.Members.Store().Principal(ctx, e.CreatedBy)
	switch {
	case !e.Enabled():
		row.Status, row.StatusWhy = "disabled", e.DisabledReason
	case err != nil || !m.Active() || !creator.Can(authz.WebhooksManage):
		// publish skips it; say why here rather than show a silent endpoint as enabled.
		row.Status, row.StatusWhy = "stopped", e.CreatedByName+" was deactivated or no longer manages webhooks: nothing is sent until someone adds the endpoint again."
	case !e.FailingSince.IsZero():
		row.Status = "failing"
		row.StatusWhy = "Every delivery has failed since " + s.viewerTime(c, e.FailingSince) + "; after 5 days of failures the endpoint is disabled."
	}
	return row, nil
}

func (s *Server) newWebhookPage(c echo.Context) error {
	return s.renderNewWebhook(c, http.StatusOK, webhooks.NewEndpoint{AllNumbers: true, Format: webhooks.FormatStandard}, nil)
}

func (s *Server) renderNewWebhook(c echo.Context, status int, in webhooks.NewEndpoint, errs webhooks.FieldErrors) error {
	ctx := c.Request().Context()
	p := principalOf(c)
	numbers, err := s.Numbers.PhoneNumbers(ctx)
	if err != nil {
		return err
	}
	v := views.NewWebhookView{Page: s.page(c, "Add webhook endpoint", "developers"), Tabs: devTabs(p, "webhooks"), URL: in.URL,
		Description: in.Description, Format: in.Format, All: in.AllNumbers, Sandbox: s.Webhooks.Sandbox(), Errors: errs}
	chosen := map[string]bool{}
	for _, e := range in.Events {
		chosen[e] = true
	}
	for _, t := range webhooks.EventTypes() {
		o := views.EventOption{ID: t.ID, Label: t.Label, Description: t.Description, Checked: chosen[t.ID], Slack: t.Slack}
		if !p.Can(t.Needs) {
			o.Missing = t.Needs.Definition().Label
		}
		v.Events = append(v.Events, o)
	}
	for _, n := range numbers {
		if p.Numbers.SeesNumber(n.ID) {
			checked := false
			for _, id := range in.NumberIDs {
				checked = checked || id == n.ID
			}
			v.Numbers = append(v.Numbers, views.NumberOption{ID: n.ID, Name: n.Name(), Checked: checked})
		}
	}
	return render(c, status, views.NewWebhookForm(v))
}

func (s *Server) createWebhook(c echo.Context) error {
	form, _ := c.FormParams()
	in := webhooks.NewEndpoint{URL: c.FormValue("url"), Description: c.FormValue("description"), Events: form["event"],
		Format: c.FormValue("format"), AllNumbers: c.FormValue("scope_numbers") != "some"}
	for _, v := range form["number"] {
		if id, err := strconv.ParseInt(v, 10, 64); err == nil {
			in.NumberIDs = append(in.NumberIDs, id)
		}
	}
	e, secret, err := s.Webhooks.Create(c.Request().Context(), principalOf(c), in)
	var fe webhooks.FieldErrors
	if errors.As(err, &fe) {
		return s.renderNewWebhook(c, http.StatusUnprocessableEntity, in, fe)
	}
	if err != nil {
		return err
	}
	return s.renderWebhook(c, e.ID, secret)
}

func (s *Server) webhookPage(c echo.Context) error {
	return s.renderWebhook(c, pathID(c), "")
}

func (s *Server) renderWebhook(c echo.Context, id int64, secret string) error {
	ctx := c.Request().Context()
	p := principalOf(c)
	e, err := s.Webhooks.Get(ctx, p, id)
	if err != nil {
		return err
	}
	numbers, err := s.Numbers.PhoneNumbers(ctx)
	if err != nil {
		return err
	}
	row, err := s.endpointRow(c, e, numbers)
	if err != nil {
		return err
	}
	page := s.page(c, "Webhook endpoint", "developers")
	log, err := s.deliveryLog(c, e, page.CSRFToken)
	if err != nil {
		return err
	}
	return render(c, http.StatusOK, views.WebhookDetail(views.WebhookDetailView{Page: page, Tabs: devTabs(p, "webhooks"), Endpoint: row,
		Secret: secret, Log: log, Disabled: !e.Enabled()}))
}

const logPageSize = 50

func (s *Server) deliveryLog(c echo.Context, e webhooks.Endpoint, csrf string) (views.DeliveryLogView, error) {
	ctx := c.Request().Context()
	event := c.QueryParam("event")
	if _, ok := webhooks.LookupEventType(event); !ok && event != webhooks.TestEvent {
		event = ""
	}
	before, _ := strconv.ParseInt(c.QueryParam("before"), 10, 64)
	attempts, err := s.Webhooks.Store().Attempts(ctx, e.ID, event, before, logPageSize)
	if err != nil {
		return views.DeliveryLogView{}, err
	}
	counts, err := s.Webhooks.Store().Counts(ctx, e.ID)
	if err != nil {
		return views.DeliveryLogView{}, err
	}
	v := views.DeliveryLogView{EndpointID: e.ID, CSRF: csrf, Event: event, Waiting: counts.Pending,
		EventTypes: append(append([]string{}, e.Events...), webhooks.TestEvent)}
	if !e.Enabled() {
		v.Waiting = 0 // nothing moves while disabled: no point refreshing
	}
	zone, loc := s.viewerZone(c)
	for _, a := range attempts {
		row := views.AttemptRow{DeliveryID: a.DeliveryID, At: a.At.In(loc).Format("2 Jan 15:04:05") + " " + zone, Event: a.EventType, MsgID: a.MsgID,
			Status: strconv.Itoa(a.Status), OK: a.Succeeded(), Duration: formatDuration(a.Duration), Response: a.Response, State: a.State}
		if a.Status == 0 {
			row.Status = "no answer"
		}
		if a.Error != "" {
			row.Response = a.Error
		}
		v.Attempts = append(v.Attempts, row)
	}
	if len(attempts) == logPageSize {
		q := url.Values{"before": {strconv.FormatInt(attempts[len(attempts)-1].ID, 10)}}
		if event != "" {
			q.Set("event", event)
		}
		v.Older = fmt.Sprintf("/developers/webhooks/%d?%s", e.ID, q.Encode())
	}
	return v, nil
}

// webhookLog answers the delivery log's htmx refresh with the section alone.
func (s *Server) webhookLog(c echo.Context) error {
	e, err := s.Webhooks.Get(c.Request().Context(), principalOf(c), pathID(c))
	if err != nil {
		return err
	}
	v, err := s.deliveryLog(c, e, csrfToken(c))
	if err != nil {
		return err
	}
	return render(c, http.StatusOK, views.DeliveryLog(v))
}

func formatDuration(d time.Duration) string {
	if d < time.Second {
		return strconv.FormatInt(d.Milliseconds(), 10) + " ms"
	}
	return strconv.FormatFloat(d.Seconds(), 'f', 1, 64) + " s"
}

func (s *Server) sendTestWebhook(c echo.Context) error {
	id := pathID(c)
	err := s.Webhooks.SendTest(c.Request().Context(), principalOf(c), id)
	var fe webhooks.FieldErrors
	if errors.As(err, &fe) {
		return s.redirectWithFlash(c, fmt.Sprintf("/developers/webhooks/%d", id), fe["endpoint"])
	}
	if err != nil {
		return err
	}
	return s.redirectWithFlash(c, fmt.Sprintf("/developers/webhooks/%d", id), "A test event is on its way; it appears in the delivery log below.")
}

func (s *Server) redeliverWebhook(c echo.Context) error {
	id := pathID(c)
	delivery, err := strconv.ParseInt(c.Param("delivery"), 10, 64)
	if err != nil {
		return webhooks.ErrNotFound
	}
	if err := s.Webhooks.Redeliver(c.Request().Context(), principalOf(c), id, delivery); err != nil {
		return err
	}
	return s.redirectWithFlash(c, fmt.Sprintf("/developers/webhooks/%d", id), "The event is sent again, with its original webhook-id.")
}

func (s *Server) enableWebhook(c echo.Context) error  { return s.setWebhookEnabled(c, true) }
func (s *Server) disableWebhook(c echo.Context) error { return s.setWebhookEnabled(c, false) }

func (s *Server) setWebhookEnabled(c echo.Context, enabled bool) error {
	id := pathID(c)
	if err := s.Webhooks.SetEnabled(c.Request().Context(), principalOf(c), id, enabled); err != nil {
		return err
	}
	msg := "The endpoint is disabled: nothing is queued for it until it is enabled again."
	if enabled {
		msg = "The endpoint is enabled; events waiting for it are sent now."
	}
	return s.redirectWithFlash(c, fmt.Sprintf("/developers/webhooks/%d", id), msg)
}

func (s *Server) deleteWebhook(c echo.Context) error {
	if err := s.Webhooks.Delete(c.Request().Context(), principalOf(c), pathID(c)); err != nil {
		return err
	}
	return s.redirectWithFlash(c, "/developers/webhooks", "The endpoint was deleted with its delivery log.")
}

func (s *Server) apiLogPage(c echo.Context) error {
	f := apilog.Filter{Outcome: c.QueryParam("outcome"), Path: c.QueryParam("path"), Actor: c.QueryParam("actor"), Limit: 50}
	if f.Outcome != "ok" && f.Outcome != "failed" {
		f.Outcome = ""
	}
	f.Before, _ = strconv.ParseInt(c.QueryParam("before"), 10, 64)
	calls, more, err := s.CloudAPICalls.List(c.Request().Context(), f)
	if err != nil {
		return err
	}
	v := views.APILogView{Page: s.page(c, "Cloud API log", "developers"), Tabs: devTabs(principalOf(c), "api-log"),
		Outcome: f.Outcome, Path: f.Path, Actor: f.Actor}
	for _, e := range calls {
		row := views.APICallRow{At: e.At.Format("2 Jan 15:04:05 UTC"), Method: e.Method, Path: e.Path, Status: strconv.Itoa(e.Status),
			OK: !e.Failed(), Duration: formatDuration(e.Duration), Actor: e.ActorName}
		if e.Status == 0 {
			row.Status = "no answer"
		}
		if e.ErrorCode != nil {
			row.Error = e.ErrorMessage
			if *e.ErrorCode >= 0 {
				row.Error = fmt.Sprintf("#%d %s", *e.ErrorCode, e.ErrorMessage)
			}
		}
		if e.ActorType == "system" && e.ActorName == "" || e.ActorName == "system" {
			row.Actor = "Switchboard"
		}
		v.Calls = append(v.Calls, row)
	}
	if more && len(calls) > 0 {
		q := url.Values{"before": {strconv.FormatInt(calls[len(calls)-1].ID, 10)}}
		for k, val := range map[string]string{"outcome": f.Outcome, "path": f.Path, "actor": f.Actor} {
			if val != "" {
				q.Set(k, val)
			}
		}
		v.Older = "/developers/api-log?" + q.Encode()
	}
	return render(c, http.StatusOK, views.APILog(v))
}
