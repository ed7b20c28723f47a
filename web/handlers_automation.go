package web

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/switchboard/switchboard/internal/authz"
	"github.com/switchboard/switchboard/internal/automation"
	"github.com/switchboard/switchboard/internal/inbox"
	"github.com/switchboard/switchboard/web/views"
)

// automationErr maps automation's domain errors to HTTP; field errors are handled by the caller.
func automationErr(err error) error {
	switch {
	case errors.Is(err, automation.ErrNotFound):
		return echo.NewHTTPError(http.StatusNotFound)
	case errors.Is(err, automation.ErrForbidden):
		return echo.NewHTTPError(http.StatusForbidden, "Your role does not allow changing automation.")
	}
	return err
}

// formIDs reads repeated id fields (checkboxes).
func formIDs(c echo.Context, name string) []int64 {
	var out []int64
	if err := c.Request().ParseForm(); err != nil {
		return nil
	}
	for _, v := range c.Request().Form[name] {
		if id, err := strconv.ParseInt(v, 10, 64); err == nil && id > 0 {
			out = append(out, id)
		}
	}
	return out
}

// --- Hours & assignment ---

func (s *Server) automationPage(c echo.Context) error {
	return s.renderAutomationHours(c, http.StatusOK, 0, automation.NumberInput{}, nil)
}

func (s *Server) renderAutomationHours(c echo.Context, status int, failedID int64, typed automation.NumberInput, fe automation.FieldErrors) error {
	settings, err := s.Automation.Settings(c.Request().Context())
	if err != nil {
		return err
	}
	v := views.AutomationHoursView{Page: s.page(c, "Automation", "automation"), Tabs: views.AutomationTabs("/automation")}
	now := s.Clock.Now()
	for _, ns := range settings {
		n := views.NumberHoursView{ID: ns.PhoneNumberID, Name: ns.NumberName, TimeZone: ns.TimeZone, Holidays: strings.Join(ns.Holidays, " "),
			AwayEnabled: ns.AwayEnabled, AwayMessage: ns.AwayMessage, AutoAssign: ns.AutoAssign, AssignLimit: strconv.Itoa(ns.AssignLimit),
			RatingEnabled: ns.RatingEnabled}
		days := [7]string{}
		for i, d := range ns.Week {
			days[i] = d.String()
		}
		switch h := ns.Hours(); {
		case !h.Configured():
			n.OpenNow = "No business hours set"
		case h.Open(now):
			n.OpenNow = "Open now"
		default:
			n.OpenNow = "Closed now"
		}
		if ns.PhoneNumberID == failedID {
			// A refused form comes back as it was typed, with its errors.
			n.TimeZone, n.Holidays, n.AwayEnabled, n.AwayMessage = typed.TimeZone, typed.Holidays, typed.AwayEnabled, typed.AwayMessage
			n.AutoAssign, n.AssignLimit, n.RatingEnabled, n.Errors = typed.AutoAssign, typed.AssignLimit, typed.RatingEnabled, fe
			days = typed.Days
		}
		// Monday first on the page, as businesses write their hours.
		for _, i := range []int{1, 2, 3, 4, 5, 6, 0} {
			name := "day" + strconv.Itoa(i)
			n.Days = append(n.Days, views.DayField{Name: name, Label: time.Weekday(i).String(), Value: days[i], Error: n.Errors[name]})
		}
		v.Numbers = append(v.Numbers, n)
	}
	return render(c, status, views.AutomationHours(v))
}

func (s *Server) saveAutomationNumber(c echo.Context) error {
	in := automation.NumberInput{TimeZone: c.FormValue("time_zone"), Holidays: c.FormValue("holidays"),
		AwayEnabled: c.FormValue("away_enabled") == "1", AwayMessage: c.FormValue("away_message"),
		AutoAssign: c.FormValue("auto_assign") == "1", AssignLimit: c.FormValue("assign_limit"), RatingEnabled: c.FormValue("rating_enabled") == "1"}
	for i := range in.Days {
		in.Days[i] = c.FormValue("day" + strconv.Itoa(i))
	}
	err := s.Automation.SaveNumber(c.Request().Context(), principalOf(c), pathID(c), in)
	var fe automation.FieldErrors
	if errors.As(err, &fe) {
		return s.renderAutomationHours(c, http.StatusUnprocessableEntity, pathID(c), in, fe)
	}
	if err != nil {
		return automationErr(err)
	}
	return s.redirectWithFlash(c, "/automation", "Automation settings saved.")
}

// --- Keyword rules ---

func (s *Server) automationRulesPage(c echo.Context) error {
	return s.renderAutomationRules(c, http.StatusOK, views.RuleForm{Priority: "100"}, nil)
}

func (s *Server) renderAutomationRules(c echo.Context, status int, form views.RuleForm, fe automation.FieldErrors) error {
	ctx := c.Request().Context()
	rules, err := s.Automation.Rules(ctx)
	if err != nil {
		return err
	}
	numbers, err := s.Automation.Numbers(ctx)
	if err != nil {
		return err
	}
	canned, err := s.Inbox.CannedResponses(ctx, principalOf(c))
	if err != nil {
		return err
	}
	v := views.AutomationRulesView{Page: s.page(c, "Auto-replies", "automation"), Tabs: views.AutomationTabs("/automation/rules"),
		Form: form, Errors: fe, Numbers: []views.Option{{Value: "0", Label: "Every number"}}}
	for _, n := range numbers {
		v.Numbers = append(v.Numbers, views.Option{Value: strconv.FormatInt(n.ID, 10), Label: n.Name})
	}
	for _, m := range automation.Matches() {
		v.Matches = append(v.Matches, views.Option{Value: string(m), Label: m.Label()})
	}
	if len(canned) == 0 {
		v.Canned = []views.Option{{Value: "", Label: "No canned reply yet: add one under Canned replies"}}
	}
	for _, cr := range canned {
		v.Canned = append(v.Canned, views.Option{Value: strconv.FormatInt(cr.ID, 10), Label: cr.Title})
	}
	for _, r := range rules {
		row := views.RuleRow{ID: r.ID, Name: r.Name, Number: r.NumberName, Match: r.Match.Label(), Pattern: r.Pattern,
			Priority: strconv.Itoa(r.Priority), Hours: "all day", Enabled: r.Enabled}
		if r.ActiveFrom != "" {
			row.Hours = r.ActiveFrom + "–" + r.ActiveTo
		}
		if r.ReplyKind == automation.ReplyCanned {
			row.Reply = "the canned reply “" + r.CannedTitle + "”"
			if r.CannedTitle == "" {
				row.Reply = "a canned reply that was deleted: the rule does not answer"
			}
		} else {
			row.Reply = "“" + r.Body + "” and the choices " + strings.Join(r.Buttons, " · ")
		}
		v.Rules = append(v.Rules, row)
	}
	return render(c, status, views.AutomationRules(v))
}

func (s *Server) createAutomationRule(c echo.Context) error {
	form := views.RuleForm{Name: c.FormValue("name"), PhoneNumberID: c.FormValue("phone_number_id"), Match: c.FormValue("match"),
		Pattern: c.FormValue("pattern"), Priority: c.FormValue("priority"), ActiveFrom: c.FormValue("active_from"),
		ActiveTo: c.FormValue("active_to"), ReplyKind: c.FormValue("reply_kind"), CannedID: c.FormValue("canned_id"),
		Body: c.FormValue("body"), Buttons: c.FormValue("buttons")}
	_, err := s.Automation.CreateRule(c.Request().Context(), principalOf(c), automation.RuleInput(form))
	var fe automation.FieldErrors
	if errors.As(err, &fe) {
		return s.renderAutomationRules(c, http.StatusUnprocessableEntity, form, fe)
	}
	if err != nil {
		return automationErr(err)
	}
	return s.redirectWithFlash(c, "/automation/rules", "Auto-reply “"+strings.TrimSpace(form.Name)+"” added.")
}

func (s *Server) updateAutomationRule(c echo.Context) error {
	on := c.FormValue("enabled") == "1"
	if err := s.Automation.SetRuleEnabled(c.Request().Context(), principalOf(c), pathID(c), on); err != nil {
		return automationErr(err)
	}
	return s.redirectWithFlash(c, "/automation/rules", map[bool]string{true: "Auto-reply switched on.", false: "Auto-reply switched off."}[on])
}

func (s *Server) deleteAutomationRule(c echo.Context) error {
	if err := s.Automation.DeleteRule(c.Request().Context(), principalOf(c), pathID(c)); err != nil {
		return automationErr(err)
	}
	return s.redirectWithFlash(c, "/automation/rules", "Auto-reply deleted.")
}

// --- Welcome menus ---

func (s *Server) automationMenusPage(c echo.Context) error {
	return s.renderAutomationMenus(c, http.StatusOK, 0, "", nil)
}

func (s *Server) renderAutomationMenus(c echo.Context, status int, failedID int64, typedBody string, fe automation.FieldErrors) error {
	ctx := c.Request().Context()
	menus, err := s.Automation.Menus(ctx)
	if err != nil {
		return err
	}
	teams, err := s.Automation.Teams(ctx)
	if err != nil {
		return err
	}
	v := views.AutomationMenusView{Page: s.page(c, "Welcome menus", "automation"), Tabs: views.AutomationTabs("/automation/menus"),
		Teams: []views.Option{{Value: "0", Label: "No team"}}}
	for _, t := range teams {
		v.Teams = append(v.Teams, views.Option{Value: strconv.FormatInt(t.ID, 10), Label: t.Name})
	}
	labels, err := s.Inbox.Labels(ctx, principalOf(c))
	if err != nil {
		return err
	}
	v.Labels = []views.Option{{Value: "", Label: "No label"}}
	for _, l := range labels {
		v.Labels = append(v.Labels, views.Option{Value: l.Name, Label: l.Name})
	}
	for _, m := range menus {
		mv := views.MenuView{NumberID: m.PhoneNumberID, NumberName: m.NumberName, Body: m.Body, Enabled: m.Enabled,
			Parents: []views.Option{{Value: "0", Label: "The welcome message (first level)"}}}
		if m.Body == "" {
			mv.Body = "Welcome! How can we help you today?"
		}
		if m.PhoneNumberID == failedID {
			mv.Errors = fe
			if typedBody != "" {
				mv.Body = typedBody
			}
		}
		mv.Options, mv.Parents = menuNodes(m.Options, mv.Parents, "")
		im := m.Interactive()
		mv.Preview = views.TemplatePreview{Business: m.NumberName, Time: "now", Body: []views.TemplateTextPart{{Text: mv.Body}}}
		for _, b := range im.Buttons {
			mv.Preview.Buttons = append(mv.Preview.Buttons, views.TemplatePreviewButton{Type: "QUICK_REPLY", Text: b.Title})
		}
		if len(im.Sections) > 0 {
			mv.Preview.Buttons = []views.TemplatePreviewButton{{Type: "QUICK_REPLY", Text: "☰ " + im.ListButton}}
			for _, r := range im.Sections[0].Rows {
				mv.ListRows = append(mv.ListRows, strings.TrimSpace(r.Title+" "+r.Description))
			}
		}
		v.Menus = append(v.Menus, mv)
	}
	return render(c, status, views.AutomationMenus(v))
}

// menuNodes turns the tree into the page's nodes, and lists the choices that can take choices
// under them (the first two levels).
func menuNodes(opts []automation.MenuOption, parents []views.Option, prefix string) ([]views.MenuNode, []views.Option) {
	var out []views.MenuNode
	for _, o := range opts {
		n := views.MenuNode{ID: o.ID, Title: o.Title, Description: o.Description, Reply: o.Reply, Team: o.TeamName, Label: o.Label}
		if strings.Count(prefix, "›") < 2 {
			parents = append(parents, views.Option{Value: strconv.FormatInt(o.ID, 10), Label: prefix + o.Title})
		}
		n.Children, parents = menuNodes(o.Children, parents, prefix+o.Title+" › ")
		out = append(out, n)
	}
	return out, parents
}

func (s *Server) saveAutomationMenu(c echo.Context) error {
	body := c.FormValue("body")
	err := s.Automation.SaveMenu(c.Request().Context(), principalOf(c), pathID(c), body, c.FormValue("enabled") == "1")
	var fe automation.FieldErrors
	if errors.As(err, &fe) {
		return s.renderAutomationMenus(c, http.StatusUnprocessableEntity, pathID(c), body, fe)
	}
	if err != nil {
		return automationErr(err)
	}
	return s.redirectWithFlash(c, "/automation/menus", "Welcome menu saved.")
}

func (s *Server) addAutomationOption(c echo.Context) error {
	err := s.Automation.AddOption(c.Request().Context(), principalOf(c), pathID(c), automation.OptionInput{ParentID: c.FormValue("parent_id"),
		Title: c.FormValue("title"), Description: c.FormValue("description"), Reply: c.FormValue("reply"),
		TeamID: c.FormValue("team_id"), Label: c.FormValue("label")})
	var fe automation.FieldErrors
	if errors.As(err, &fe) {
		return s.renderAutomationMenus(c, http.StatusUnprocessableEntity, pathID(c), "", fe)
	}
	if err != nil {
		return automationErr(err)
	}
	return s.redirectWithFlash(c, "/automation/menus", "Choice added.")
}

func (s *Server) deleteAutomationOption(c echo.Context) error {
	opt, err := strconv.ParseInt(c.Param("option"), 10, 64)
	if err != nil {
		return echo.NewHTTPError(http.StatusNotFound)
	}
	if err := s.Automation.DeleteOption(c.Request().Context(), principalOf(c), pathID(c), opt); err != nil {
		return automationErr(err)
	}
	return s.redirectWithFlash(c, "/automation/menus", "Choice removed.")
}

// --- Teams ---

func (s *Server) automationTeamsPage(c echo.Context) error {
	return s.renderAutomationTeams(c, http.StatusOK, -1, "", "")
}

func (s *Server) renderAutomationTeams(c echo.Context, status int, failedID int64, typed, problem string) error {
	ctx := c.Request().Context()
	teams, err := s.Automation.Teams(ctx)
	if err != nil {
		return err
	}
	all, err := s.Automation.Candidates(ctx)
	if err != nil {
		return err
	}
	v := views.AutomationTeamsView{Page: s.page(c, "Teams", "automation"), Tabs: views.AutomationTabs("/automation/teams")}
	if failedID == 0 {
		v.NewName, v.NewErr = typed, problem
	}
	for _, m := range all {
		v.All = append(v.All, views.TeamMemberRow{ID: m.ID, Name: m.Name, Available: m.Available})
	}
	for _, t := range teams {
		row := views.TeamRow{ID: t.ID, Name: t.Name}
		if t.ID == failedID {
			row.Error = problem
		}
		in := map[int64]bool{}
		for _, m := range t.Members {
			in[m.ID] = true
		}
		for _, m := range all {
			row.Members = append(row.Members, views.TeamMemberRow{ID: m.ID, Name: m.Name, Available: m.Available, InTeam: in[m.ID]})
		}
		v.Teams = append(v.Teams, row)
	}
	return render(c, status, views.AutomationTeams(v))
}

func (s *Server) saveAutomationTeam(c echo.Context) error {
	id := int64(0)
	if c.Param("id") != "" {
		if id = pathID(c); id <= 0 {
			return echo.NewHTTPError(http.StatusNotFound)
		}
	}
	name := c.FormValue("name")
	_, err := s.Automation.SaveTeam(c.Request().Context(), principalOf(c), id, name, formIDs(c, "member"))
	var fe automation.FieldErrors
	if errors.As(err, &fe) {
		problem := fe["name"]
		if problem == "" {
			problem = fe["members"]
		}
		return s.renderAutomationTeams(c, http.StatusUnprocessableEntity, id, name, problem)
	}
	if err != nil {
		return automationErr(err)
	}
	return s.redirectWithFlash(c, "/automation/teams", "Team “"+strings.TrimSpace(name)+"” saved.")
}

func (s *Server) deleteAutomationTeam(c echo.Context) error {
	if err := s.Automation.DeleteTeam(c.Request().Context(), principalOf(c), pathID(c)); err != nil {
		return automationErr(err)
	}
	return s.redirectWithFlash(c, "/automation/teams", "Team deleted.")
}

// --- Availability (every member, for themselves) ---

func (s *Server) setAvailability(c echo.Context) error {
	on := c.FormValue("available") == "1"
	if err := s.Automation.SetAvailable(c.Request().Context(), principalOf(c), on); err != nil {
		return err
	}
	return s.redirectWithFlash(c, "/account", map[bool]string{true: "You are available: new conversations may be assigned to you.",
		false: "You are away: no conversation is assigned to you automatically."}[on])
}

// conversationAutomation is the conversation page's Automation panel.
func (s *Server) conversationAutomation(c echo.Context, conversationID int64) (views.ConversationAutomation, error) {
	ctx := c.Request().Context()
	var out views.ConversationAutomation
	var err error
	if out.Team, out.Label, err = s.Automation.RoutedTo(ctx, conversationID); err != nil {
		return out, err
	}
	ratings, err := s.Automation.Ratings(ctx, principalOf(c), conversationID)
	if err != nil {
		return out, err
	}
	for _, r := range ratings {
		row := views.RatingRow{Score: r.Score, Comment: r.Comment, Agent: r.AssigneeName, When: s.viewerTime(c, r.ClosedAt)}
		if r.Score > 0 {
			row.Stars = strings.Repeat("★", r.Score) + strings.Repeat("☆", 5-r.Score)
			row.When = s.viewerTime(c, r.RatedAt)
		}
		if row.Agent == "" {
			row.Agent = "nobody assigned"
		}
		out.Ratings = append(out.Ratings, row)
	}
	return out, nil
}

// automatedIDs are the messages of the page that automation sent.
func (s *Server) automatedIDs(ctx context.Context, msgs []inbox.Message) (map[int64]bool, error) {
	ids := make([]int64, 0, len(msgs))
	for _, m := range msgs {
		if m.Direction == inbox.Outbound && m.SentBy == 0 {
			ids = append(ids, m.ID)
		}
	}
	return s.Automation.AutomatedMessages(ctx, ids)
}

// availabilityChoice is the account page's availability card, for members who may be given
// conversations (who see them and can answer); nil for the others.
func (s *Server) availabilityChoice(c echo.Context) (*views.AvailabilityChoice, error) {
	p := principalOf(c)
	if p.Conversations().None || !p.CanAny(authz.MessagesSendText, authz.MessagesSendCanned, authz.MessagesSendTemplate, authz.MessagesSendMedia) {
		return nil, nil
	}
	on, err := s.Automation.Available(c.Request().Context(), p.MemberID)
	if err != nil {
		return nil, err
	}
	return &views.AvailabilityChoice{Available: on}, nil
}
