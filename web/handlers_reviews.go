package web

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/switchboard/switchboard/internal/members"
	"github.com/switchboard/switchboard/internal/reviews"
	"github.com/switchboard/switchboard/web/views"
)

func (s *Server) reviewsPage(c echo.Context) error {
	return s.renderReviews(c, http.StatusOK, nil, nil)
}

// renderReviews draws the Reviews page; form carries a refused settings form back.
func (s *Server) renderReviews(c echo.Context, status int, form *reviews.Settings, errs members.FieldErrors) error {
	ctx := c.Request().Context()
	ov, err := s.Reviews.Overview(ctx)
	if err != nil {
		return err
	}
	numbers, err := s.Numbers.PhoneNumbers(ctx)
	if err != nil {
		return err
	}
	campaigns, err := s.Reviews.Campaigns(ctx)
	if err != nil {
		return err
	}
	eligible, err := s.Reviews.EligibleReviewers(ctx)
	if err != nil {
		return err
	}
	st := ov.Settings
	if form != nil {
		st = *form
	}
	now := s.Clock.Now()
	v := views.ReviewsView{Page: s.page(c, "Access reviews", "reviews"), InactiveDays: st.InactiveDays,
		ScheduleMonths: st.ScheduleMonths, DueDays: st.DueDays, Errors: errs}
	if !st.NextRunAt.IsZero() {
		v.NextRun = reviewDate(st.NextRunAt)
	}
	flags := 0
	// The short date and its tooltip name the same day: the viewer's.
	_, loc := s.viewerZone(c)
	at := s.viewerTimes(c)
	for _, a := range ov.Members {
		m := a.Member
		row := views.AccessRow{ID: m.ID, Name: m.Name, Email: m.Email, RoleName: m.RoleName, Active: m.Active(),
			Permissions: a.Permissions.Len(), Numbers: scopeText(m.AllNumbers, m.NumberIDs, numbers),
			TwoFactor: "Off", LastSignIn: "Never", LastActivity: "None", Flags: flagBadges(a.Flags, st.InactiveDays)}
		if m.TwoFactorEnabled {
			row.TwoFactor = "On"
		}
		if !m.LastSignInAt.IsZero() {
			row.LastSignIn, row.LastSignInFull = m.LastSignInAt.In(loc).Format(reviewDateLayout), at(m.LastSignInAt)
		}
		if !a.LastActivity.IsZero() {
			row.LastActivity, row.LastActivityFull = a.LastActivity.In(loc).Format(reviewDateLayout), at(a.LastActivity)
		}
		if a.Has(reviews.FlagUnusedPermissions) {
			ids := make([]string, len(a.Unused))
			for i, p := range a.Unused {
				ids[i] = p.ID()
			}
			row.Unused = strings.Join(ids, ", ")
		}
		flags += len(a.Flags)
		v.Members = append(v.Members, row)
	}
	v.FlagSummary = plural(flags, "flag", "flags")
	for _, inv := range ov.Invitations {
		v.Invitations = append(v.Invitations, views.InvitationRow{ID: inv.ID, Email: inv.Email, RoleName: inv.RoleName,
			Numbers: scopeText(inv.AllNumbers, inv.NumberIDs, numbers), InvitedBy: inv.InvitedBy, Expires: at(inv.ExpiresAt)})
	}
	for _, cp := range campaigns {
		v.Campaigns = append(v.Campaigns, campaignRow(cp, now))
	}
	// API keys act with their creator's access (at most): a review shows the ones still working.
	keys, err := s.APIKeys.Store().List(c.Request().Context())
	if err != nil {
		return err
	}
	for _, k := range keys {
		if k.Status(now) != "active" {
			continue
		}
		row := views.ReviewKeyRow{Name: k.Name, Last4: k.Last4, CreatedBy: k.CreatedByName, Permissions: k.Scopes.Len(),
			Numbers: scopeText(k.Numbers.All, k.Numbers.IDs, numbers), Expires: "Never", LastUsed: "Never"}
		if !k.ExpiresAt.IsZero() {
			row.Expires = reviewDate(k.ExpiresAt)
		}
		if !k.LastUsedAt.IsZero() {
			row.LastUsed = reviewDate(k.LastUsedAt)
		}
		v.APIKeys = append(v.APIKeys, row)
	}
	v.Reviewers = reviewerOptions(eligible, st.ReviewerIDs)
	return render(c, status, views.Reviews(v))
}

func (s *Server) saveReviewSettings(c echo.Context) error {
	st := reviews.Settings{InactiveDays: reviewAtoi(c.FormValue("inactive_days")), ScheduleMonths: reviewAtoi(c.FormValue("schedule_months")),
		DueDays: reviewAtoi(c.FormValue("due_days")), ReviewerIDs: reviewFormIDs(c, "reviewer")}
	err := s.Reviews.SaveSettings(c.Request().Context(), principalOf(c), st)
	if fe, ok := fieldErrors(err); ok {
		return s.renderReviews(c, http.StatusUnprocessableEntity, &st, fe)
	}
	if err != nil {
		return err
	}
	return s.redirectWithFlash(c, "/reviews", "Access review settings saved.")
}

func (s *Server) newReviewPage(c echo.Context) error {
	due := s.Clock.Now().AddDate(0, 0, 14)
	return s.renderNewReview(c, http.StatusOK, reviews.CampaignInput{AllMembers: true, DueAt: due}, nil)
}

func (s *Server) renderNewReview(c echo.Context, status int, in reviews.CampaignInput, errs members.FieldErrors) error {
	ctx := c.Request().Context()
	roles, err := s.Members.Store().Roles(ctx)
	if err != nil {
		return err
	}
	numbers, err := s.Numbers.PhoneNumbers(ctx)
	if err != nil {
		return err
	}
	eligible, err := s.Reviews.EligibleReviewers(ctx)
	if err != nil {
		return err
	}
	v := views.NewReviewView{Page: s.page(c, "Start an access review", "reviews"), Title: in.Title, All: in.AllMembers,
		Reviewers: reviewerOptions(eligible, in.ReviewerIDs), Errors: errs}
	if !in.DueAt.IsZero() {
		v.Due = in.DueAt.UTC().Format(time.DateOnly)
	}
	for _, r := range roles {
		v.Roles = append(v.Roles, views.ReviewScopeOption{ID: r.ID, Name: r.Name, Checked: reviewHasID(in.RoleIDs, r.ID)})
	}
	for _, n := range numbers {
		v.Numbers = append(v.Numbers, views.ReviewScopeOption{ID: n.ID, Name: n.Name(), Checked: reviewHasID(in.NumberIDs, n.ID)})
	}
	return render(c, status, views.NewReview(v))
}

func (s *Server) openReview(c echo.Context) error {
	in := reviews.CampaignInput{Title: c.FormValue("title"), AllMembers: c.FormValue("all") == "1",
		RoleIDs: reviewFormIDs(c, "role"), NumberIDs: reviewFormIDs(c, "number"), ReviewerIDs: reviewFormIDs(c, "reviewer")}
	// The review is due at the end of the chosen day (UTC); an unreadable date is left zero and
	// refused by the service with the other fields.
	if d, err := time.Parse(time.DateOnly, c.FormValue("due")); err == nil {
		in.DueAt = d.Add(24*time.Hour - time.Second)
	}
	cp, err := s.Reviews.Open(c.Request().Context(), principalOf(c), in)
	if fe, ok := fieldErrors(err); ok {
		return s.renderNewReview(c, http.StatusUnprocessableEntity, in, fe)
	}
	if err != nil {
		return err
	}
	return s.redirectWithFlash(c, "/reviews/"+strconv.FormatInt(cp.ID, 10), "Review started for "+plural(cp.Total, "member", "members")+".")
}

func (s *Server) reviewPage(c echo.Context) error {
	return s.renderReview(c, http.StatusOK, 0, "", nil)
}

// renderReview draws a campaign; a refused decision is shown at its item.
func (s *Server) renderReview(c echo.Context, status int, itemID int64, refusal string, errs members.FieldErrors) error {
	v, err := s.reviewView(c, "")
	if err != nil {
		return err
	}
	for i := range v.Items {
		if v.Items[i].ID == itemID {
			v.Items[i].Error, v.Items[i].Errors = refusal, errs
			if refusal == "" && len(errs) > 0 {
				v.Items[i].Error = "Please correct the fields below."
			}
		}
	}
	return render(c, status, views.ReviewCampaign(v))
}

func (s *Server) reviewView(c echo.Context, _ string) (views.ReviewCampaignView, error) {
	ctx := c.Request().Context()
	p := principalOf(c)
	cp, items, err := s.Reviews.Campaign(ctx, pathID(c))
	if err != nil {
		return views.ReviewCampaignView{}, err
	}
	roles, err := s.Members.Store().Roles(ctx)
	if err != nil {
		return views.ReviewCampaignView{}, err
	}
	st, err := s.Reviews.Settings(ctx)
	if err != nil {
		return views.ReviewCampaignView{}, err
	}
	now := s.Clock.Now()
	names := make([]string, len(cp.Reviewers))
	for i, r := range cp.Reviewers {
		names[i] = r.Name
	}
	v := views.ReviewCampaignView{Page: s.page(c, cp.Title, "reviews"), ID: cp.ID, Title: cp.Title, Scope: cp.ScopeLabel,
		Due: reviewDate(cp.DueAt), Overdue: cp.Overdue(now), Open: cp.Status == reviews.StatusOpen,
		OpenedBy: cp.CreatedByName + ", " + s.viewerTime(c, cp.CreatedAt), Reviewers: strings.Join(names, ", "),
		Progress: strconv.Itoa(cp.Decided) + " of " + strconv.Itoa(cp.Total)}
	if !cp.ClosedAt.IsZero() {
		v.Closed = s.viewerTime(c, cp.ClosedAt) + " by " + cp.ClosedByName
	}
	for _, r := range roles {
		// Only roles the reviewer could hand out are offered; the service checks again.
		if r.Permissions.SubsetOf(p.Permissions) {
			v.Roles = append(v.Roles, views.RoleChoice{ID: r.ID, Name: r.Name})
		}
	}
	for _, it := range items {
		row := views.ReviewItemRow{ID: it.ID, MemberName: it.MemberName, MemberEmail: it.MemberEmail, RoleName: it.RoleName,
			Numbers: it.Numbers, Flags: flagBadges(it.Flags, st.InactiveDays), Decided: it.Decision != reviews.DecisionNone,
			Decision: it.Decision.Label(), NewRole: it.NewRoleName, Comment: it.Comment, Change: it.Change, DecidedBy: it.DecidedByName}
		if row.Decided {
			row.DecidedAt = s.viewerTime(c, it.DecidedAt)
		}
		switch {
		case row.Decided:
		case !v.Open:
			row.Waiting = "Not reviewed before the review closed."
		case it.MemberID == p.MemberID:
			row.Waiting = "This is you: another reviewer decides on your access."
		case !cp.IsReviewer(p.MemberID):
			row.Waiting = "Waiting for a reviewer."
		default:
			row.CanDecide = true
		}
		v.Items = append(v.Items, row)
	}
	return v, nil
}

func (s *Server) decideReview(c echo.Context) error {
	itemID, _ := strconv.ParseInt(c.Param("item"), 10, 64)
	roleID, _ := strconv.ParseInt(c.FormValue("role"), 10, 64)
	in := reviews.DecisionInput{Decision: reviews.Decision(c.FormValue("decision")), RoleID: roleID, Comment: c.FormValue("comment")}
	it, err := s.Reviews.Decide(c.Request().Context(), principalOf(c), pathID(c), itemID, in)
	if fe, ok := fieldErrors(err); ok {
		return s.renderReview(c, http.StatusUnprocessableEntity, itemID, "", fe)
	}
	var re *members.RuleError
	var ce *reviews.ConflictError
	switch {
	case errors.As(err, &re):
		status := http.StatusForbidden
		if errors.Is(err, members.ErrConflict) {
			status = http.StatusConflict
		}
		return s.renderReview(c, status, itemID, re.Message, nil)
	case errors.As(err, &ce):
		return s.renderReview(c, http.StatusConflict, itemID, ce.Message, nil)
	case err != nil:
		return err
	}
	return s.redirectWithFlash(c, "/reviews/"+c.Param("id")+"#item-"+c.Param("item"),
		it.Decision.Label()+": "+it.MemberName+". "+it.Change+".")
}

func (s *Server) closeReview(c echo.Context) error {
	if err := s.Reviews.Close(c.Request().Context(), principalOf(c), pathID(c)); err != nil {
		return err
	}
	return s.redirectWithFlash(c, "/reviews/"+c.Param("id")+"/report", "Review closed. Its report is final.")
}

func (s *Server) reviewReport(c echo.Context) error {
	v, err := s.reviewView(c, "")
	if err != nil {
		return err
	}
	return render(c, http.StatusOK, views.ReviewReport(views.ReviewReportView{Page: s.page(c, "Report: "+v.Title, "reviews"),
		Campaign: v, Generated: s.viewerTime(c, s.Clock.Now())}))
}

func (s *Server) reviewReportCSV(c echo.Context) error {
	cp, items, err := s.Reviews.Campaign(c.Request().Context(), pathID(c))
	if err != nil {
		return err
	}
	h := c.Response().Header()
	h.Set(echo.HeaderContentType, "text/csv; charset=utf-8")
	h.Set(echo.HeaderContentDisposition, `attachment; filename="access-review-`+strconv.FormatInt(cp.ID, 10)+`.csv"`)
	h.Set("Cache-Control", "no-store")
	c.Response().WriteHeader(http.StatusOK)
	return reviews.ReportCSV(c.Response(), cp, items)
}

func campaignRow(cp reviews.Campaign, now time.Time) views.CampaignRow {
	return views.CampaignRow{ID: cp.ID, Title: cp.Title, Scope: cp.ScopeLabel, Due: reviewDate(cp.DueAt),
		Progress: strconv.Itoa(cp.Decided) + " of " + strconv.Itoa(cp.Total), Status: string(cp.Status), Overdue: cp.Overdue(now)}
}

func flagBadges(flags []reviews.Flag, inactiveDays int) []views.ReviewFlag {
	out := make([]views.ReviewFlag, 0, len(flags))
	for _, f := range flags {
		b := views.ReviewFlag{Label: f.Label(), Tone: "yellow"}
		switch f {
		case reviews.FlagInactive:
			b.Title = "No sign-in and no activity for " + strconv.Itoa(inactiveDays) + " days or more."
		case reviews.FlagNoTwoFactor:
			b.Tone, b.Title = "red", "Their role or the workspace policy requires two-factor authentication and they have none."
		case reviews.FlagAdministrator:
			b.Tone, b.Title = "blue", "Holds every permission."
		case reviews.FlagUnusedPermissions:
			b.Title = "Holds permissions the activity log shows no use of in 90 days."
		case reviews.FlagNeverSignedIn:
			b.Tone, b.Title = "grey", "Has never signed in."
		}
		out = append(out, b)
	}
	return out
}

func reviewerOptions(eligible []reviews.Reviewer, chosen []int64) []views.ReviewerOption {
	out := make([]views.ReviewerOption, 0, len(eligible))
	for _, r := range eligible {
		out = append(out, views.ReviewerOption{ID: r.MemberID, Name: r.Name, Checked: reviewHasID(chosen, r.MemberID)})
	}
	return out
}

func reviewFormIDs(c echo.Context, name string) []int64 {
	form, err := c.FormParams()
	if err != nil {
		return nil
	}
	var out []int64
	for _, v := range form[name] {
		if id, err := strconv.ParseInt(v, 10, 64); err == nil && id > 0 {
			out = append(out, id)
		}
	}
	return out
}

func reviewHasID(ids []int64, id int64) bool {
	for _, x := range ids {
		if x == id {
			return true
		}
	}
	return false
}

func reviewAtoi(s string) int {
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil {
		return -1
	}
	return n
}

// reviewDate is a review's date: due dates and the schedule are whole UTC days, the same for
// every reviewer.
func reviewDate(t time.Time) string { return t.UTC().Format(reviewDateLayout) }

const reviewDateLayout = "2 Jan 2006"
