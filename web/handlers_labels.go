package web

import (
	"context"
	"errors"
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"

	"github.com/switchboard/switchboard/internal/authz"
	"github.com/switchboard/switchboard/internal/inbox"
	"github.com/switchboard/switchboard/web/views"
)

func (s *Server) labelsPage(c echo.Context) error {
	return s.renderLabels(c, http.StatusOK, views.LabelsView{})
}

func (s *Server) renderLabels(c echo.Context, status int, v views.LabelsView) error {
	list, err := s.Inbox.Labels(c.Request().Context(), principalOf(c))
	if err != nil {
		return err
	}
	v.Page = s.page(c, "Labels", "labels")
	for _, l := range list {
		v.Labels = append(v.Labels, views.LabelRow{ID: l.ID, Name: l.Name, Color: l.Color, Description: l.Description, Uses: l.Uses})
	}
	return render(c, status, views.Labels(v))
}

func labelInput(c echo.Context) inbox.LabelInput {
	return inbox.LabelInput{Name: c.FormValue("name"), Color: c.FormValue("color"), Description: c.FormValue("description")}
}

func (s *Server) createLabel(c echo.Context) error {
	in := labelInput(c)
	l, err := s.Inbox.CreateLabel(c.Request().Context(), principalOf(c), in)
	var fe inbox.FieldErrors
	if errors.As(err, &fe) {
		return s.renderLabels(c, http.StatusUnprocessableEntity, views.LabelsView{Errors: fe,
			Form: views.LabelRow{Name: in.Name, Color: in.Color, Description: in.Description}})
	}
	if err != nil {
		return err
	}
	return s.redirectWithFlash(c, "/settings/labels", "Label "+l.Name+" added.")
}

func (s *Server) updateLabel(c echo.Context) error {
	in := labelInput(c)
	l, err := s.Inbox.UpdateLabel(c.Request().Context(), principalOf(c), pathID(c), in)
	var fe inbox.FieldErrors
	if errors.As(err, &fe) {
		return s.renderLabels(c, http.StatusUnprocessableEntity, views.LabelsView{Errors: fe, EditID: pathID(c),
			Form: views.LabelRow{Name: in.Name, Color: in.Color, Description: in.Description}})
	}
	if err != nil {
		return err
	}
	return s.redirectWithFlash(c, "/settings/labels", "Label "+l.Name+" saved.")
}

func (s *Server) deleteLabel(c echo.Context) error {
	if err := s.Inbox.DeleteLabel(c.Request().Context(), principalOf(c), pathID(c)); err != nil {
		return err
	}
	return s.redirectWithFlash(c, "/settings/labels", "Label deleted. Conversations and contacts that had it no longer do.")
}

// labelConversation puts a label on a conversation or takes it off; htmx gets the panel back,
// a plain form the conversation page.
func (s *Server) labelConversation(c echo.Context) error {
	ctx := c.Request().Context()
	p := principalOf(c)
	label, _ := strconv.ParseInt(c.FormValue("label"), 10, 64)
	err := s.Inbox.LabelConversation(ctx, p, pathID(c), label, c.FormValue("on") != "0")
	var fe inbox.FieldErrors
	problem := ""
	switch {
	case errors.As(err, &fe):
		problem = sendProblem(err)
	case err != nil:
		return err
	}
	if !isHTMX(c) {
		if problem != "" {
			s.flash(c, "error", problem)
			return c.Redirect(http.StatusSeeOther, memberlessURL(c))
		}
		return s.redirectWithFlash(c, memberlessURL(c), "Labels saved.")
	}
	panel, err := s.labelsPanel(ctx, p, pathID(c))
	if err != nil {
		return err
	}
	panel.Problem = problem
	status := http.StatusOK
	if problem != "" {
		status = http.StatusUnprocessableEntity
	}
	return render(c, status, views.LabelsPanel(csrfToken(c), panel))
}

// labelsPanel is the labels card of conversation id: its labels, and the others to add for a
// member who may work it.
func (s *Server) labelsPanel(ctx context.Context, p *authz.Principal, id int64) (views.LabelsPanelView, error) {
	v := views.LabelsPanelView{Action: "/conversations/" + strconv.FormatInt(id, 10) + "/labels"}
	on, err := s.Inbox.ConversationLabels(ctx, p, id)
	if err != nil {
		return v, err
	}
	v.CanEdit, err = s.Inbox.CanLabel(ctx, p, id)
	if err != nil {
		return v, err
	}
	has := map[int64]bool{}
	for _, l := range on {
		has[l.ID] = true
		v.On = append(v.On, views.LabelChip{ID: l.ID, Name: l.Name, Color: l.Color})
	}
	if !v.CanEdit {
		return v, nil
	}
	all, err := s.Inbox.Labels(ctx, p)
	if err != nil {
		return v, err
	}
	for _, l := range all {
		if !has[l.ID] {
			v.Offered = append(v.Offered, views.Option{Value: strconv.FormatInt(l.ID, 10), Label: l.Name})
		}
	}
	return v, nil
}

// labelChips turns labels into badges.
func labelChips(ls []inbox.Label) []views.LabelChip {
	out := make([]views.LabelChip, 0, len(ls))
	for _, l := range ls {
		out = append(out, views.LabelChip{ID: l.ID, Name: l.Name, Color: l.Color})
	}
	return out
}

// labelFilter reads the inbox's label filter (?label=ID) and offers the labels to choose from.
// An unknown label filters to nothing rather than being ignored, so a stale link never shows
// more than it says.
func (s *Server) labelFilter(c echo.Context, v *views.InboxView) (int64, error) {
	labels, err := s.Inbox.Labels(c.Request().Context(), principalOf(c))
	if err != nil || len(labels) == 0 {
		return 0, err
	}
	id, _ := strconv.ParseInt(c.QueryParam("label"), 10, 64)
	if id < 0 {
		id = 0
	}
	v.LabelOptions = append(v.LabelOptions, views.Option{Value: "", Label: "All labels"})
	for _, l := range labels {
		v.LabelOptions = append(v.LabelOptions, views.Option{Value: strconv.FormatInt(l.ID, 10), Label: l.Name})
	}
	if id != 0 {
		v.Label = strconv.FormatInt(id, 10)
	}
	return id, nil
}
