package web

import (
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/labstack/echo/v4"

	"github.com/switchboard/switchboard/internal/audit"
	"github.com/switchboard/switchboard/internal/authz"
	"github.com/switchboard/switchboard/internal/templates"
	"github.com/switchboard/switchboard/internal/workspace"
	"github.com/switchboard/switchboard/web/views"
)

// templateErrorStatus maps the templates area's errors to an answer: the status and a message
// for the member. ok is false for anything else (a fault, answered 500 by handleError).
func templateErrorStatus(err error) (status int, msg string, ok bool) {
	var state *templates.StateError
	var meta *templates.MetaError
	var fe templates.FieldErrors
	switch {
	case errors.As(err, &fe):
		return http.StatusUnprocessableEntity, "Correct the problems below.", true
	case errors.Is(err, templates.ErrNotFound):
		return http.StatusNotFound, "", true
	case errors.Is(err, templates.ErrOwnTemplate):
		return http.StatusForbidden, "You wrote this revision, so another member must review it: four eyes see more than two.", true
	case errors.Is(err, templates.ErrForbidden):
		return http.StatusForbidden, forbiddenMessage(err), true
	case errors.As(err, &state):
		return http.StatusConflict, state.Message, true
	case errors.As(err, &meta):
		msg := meta.Message
		if meta.UserMessage != "" {
			msg = meta.UserMessage
		}
		return http.StatusBadGateway, fmt.Sprintf("Meta refused this (error %d): %s", meta.Code, msg), true
	case errors.Is(err, templates.ErrNotSendable):
		return http.StatusUnprocessableEntity, err.Error(), true
	}
	return 0, "", false
}

// forbiddenMessage turns "not permitted: only the author …" into a sentence.
func forbiddenMessage(err error) string {
	msg := strings.TrimPrefix(err.Error(), templates.ErrForbidden.Error()+": ")
	if msg == templates.ErrForbidden.Error() {
		return "Your role does not allow this."
	}
	r, size := utf8.DecodeRuneInString(msg)
	return string(unicode.ToUpper(r)) + msg[size:] + "."
}

// templateError is templateErrorStatus as an error for handleError.
func templateError(err error) error {
	status, msg, ok := templateErrorStatus(err)
	if !ok {
		return err
	}
	return echo.NewHTTPError(status, msg)
}

func templateURL(id int64) string { return "/templates/" + strconv.FormatInt(id, 10) }

// accountNames maps Meta's WABA ids to the names the workspace gave them.
func accountNames(wabas []workspace.WABA) map[string]string {
	names := make(map[string]string, len(wabas))
	for _, w := range wabas {
		names[w.WABAID] = cmpOr(w.Name, w.WABAID)
	}
	return names
}

func cmpOr(s, fallback string) string {
	if strings.TrimSpace(s) == "" {
		return fallback
	}
	return s
}

func (s *Server) templatesPage(c echo.Context) error {
	ctx := c.Request().Context()
	p := principalOf(c)
	wabas, err := s.Workspace.Store().WABAs(ctx)
	if err != nil {
		return err
	}
	f, filter := templateFilter(c, wabas)
	list, err := s.Templates.List(ctx, p, filter)
	if err != nil {
		return templateError(err)
	}
	names := accountNames(wabas)
	v := views.TemplatesView{Page: s.page(c, "Templates", "templates"), Filter: f, CanCreate: p.Can(authz.TemplatesCreate),
		NoAccounts: len(wabas) == 0, ManyWABAs: len(wabas) > 1,
		CanConnect: p.Can(authz.WorkspaceSettingsManage)}
	if p.Can(authz.TemplatesApprove) {
		for _, w := range wabas {
			v.SyncTargets = append(v.SyncTargets, views.TemplateSyncTarget{WABAID: w.WABAID, Name: names[w.WABAID]})
		}
	}
	for _, t := range list {
		row := views.TemplateRow{Href: templateURL(t.ID), Name: t.Name, Language: t.Language, LangLabel: templateLanguageLabel(t.Language),
			Category: templateCategoryLabel(t.Category), Status: templateStatusBadge(t.Status), Meta: templateMetaBadge(t.MetaStatus, ""),
			Quality: templateQualityBadge(t.QualityScore), Updated: s.viewerTime(c, t.UpdatedAt), UpdatedISO: t.UpdatedAt.UTC().Format(time.RFC3339)}
		if v.ManyWABAs {
			row.Account = cmpOr(names[t.WABAID], t.WABAID)
		}
		v.Rows = append(v.Rows, row)
	}
	switch n := len(v.Rows); {
	case n == 1 && f.Active:
		v.Summary = "1 template matches"
	case n == 1:
		v.Summary = "1 template"
	case f.Active:
		v.Summary = strconv.Itoa(n) + " templates match"
	default:
		v.Summary = strconv.Itoa(n) + " templates"
	}
	return render(c, http.StatusOK, views.Templates(v))
}

// templateFilter reads the list's filter from the URL. A value that is not one of the choices
// filters nothing rather than failing: the URL may be an old bookmark.
func templateFilter(c echo.Context, wabas []workspace.WABA) (views.TemplatesFilter, templates.ListFilter) {
	f := views.TemplatesFilter{
		Statuses: []views.Option{{Value: "draft", Label: "Draft"}, {Value: "in_review", Label: "In review"},
			{Value: "approved", Label: "Approved in review"}, {Value: "submitted", Label: "Submitted to Meta"}, {Value: "deleted", Label: "Deleted"}},
		Categories: []views.Option{{Value: "MARKETING", Label: "Marketing"}, {Value: "UTILITY", Label: "Utility"},
			{Value: "AUTHENTICATION", Label: "Authentication"}},
	}
	for _, ms := range []templates.MetaStatus{templates.MetaApproved, templates.MetaPending, templates.MetaRejected, templates.MetaPaused,
		templates.MetaDisabled, templates.MetaInAppeal, templates.MetaLimitExceeded, templates.MetaLocked, templates.MetaArchived, templates.MetaDeleted} {
		f.MetaStatuses = append(f.MetaStatuses, views.Option{Value: string(ms), Label: templateMetaBadge(ms, "").Label})
	}
	for _, w := range wabas {
		f.WABAs = append(f.WABAs, views.Option{Value: w.WABAID, Label: cmpOr(w.Name, w.WABAID)})
	}
	q := c.QueryParams()
	pick := func(name string, options []views.Option) string {
		v := strings.TrimSpace(q.Get(name))
		if slices.ContainsFunc(options, func(o views.Option) bool { return o.Value == v }) {
			return v
		}
		return ""
	}
	f.Status, f.MetaStatus, f.Category = pick("status", f.Statuses), pick("meta_status", f.MetaStatuses), pick("category", f.Categories)
	f.WABA = pick("waba", f.WABAs)
	if lang := strings.TrimSpace(q.Get("language")); templateLanguageCode.MatchString(lang) {
		f.Language = lang
	}
	f.Languages = templateLanguageOptions(f.Language)
	f.Q = strings.TrimSpace(q.Get("q"))
	if utf8.RuneCountInString(f.Q) > templates.MaxNameLength {
		f.Q = ""
	}
	f.Active = f.Q != "" || f.Status != "" || f.MetaStatus != "" || f.Category != "" || f.Language != "" || f.WABA != ""
	return f, templates.ListFilter{WABAID: f.WABA, Status: templates.Status(f.Status), MetaStatus: templates.MetaStatus(f.MetaStatus),
		Category: templates.Category(f.Category), Language: f.Language, NameContains: f.Q, Limit: 500}
}

// templateLanguageCode is the shape of Meta's language codes: en, fil, en_US.
var templateLanguageCode = regexp.MustCompile(`^[a-z]{2,3}(_[A-Z]{2})?$`)

func (s *Server) templatePage(c echo.Context) error {
	return s.renderTemplateDetail(c, http.StatusOK, templateOutcome{})
}

// templateOutcome is what a refused action leaves on the template's page.
type templateOutcome struct {
	message  string
	problems []string
	errors   map[string]string
	comment  string
}

func (s *Server) renderTemplateDetail(c echo.Context, status int, o templateOutcome) error {
	ctx := c.Request().Context()
	p := principalOf(c)
	h, err := s.Templates.History(ctx, p, pathID(c))
	if err != nil {
		return templateError(err)
	}
	wabas, err := s.Workspace.Store().WABAs(ctx)
	if err != nil {
		return err
	}
	t := h.Template
	at := s.viewerTimes(c)
	v := views.TemplateDetailView{Page: s.page(c, t.Name, "templates"), ID: t.ID, Name: t.Name, Language: t.Language,
		LangLabel: templateLanguageLabel(t.Language), Status: templateStatusBadge(t.Status), Meta: templateMetaBadge(t.MetaStatus, "Meta: "),
		Quality: templateQualityBadge(t.QualityScore), AtMeta: t.MetaTemplateID != "", Stage: templateStage(at, t, p.MemberID), RejectedReason: rejectedReason(t),
		Flagged: t.Flagged && t.MetaStatus == templates.MetaApproved,
		Actions: templateActions(t, p), ActionError: o.message, Problems: o.problems, Errors: o.errors, Comment: o.comment}
	v.Facts = templateFacts(at, t, accountNames(wabas))
	v.Preview = templatePreview(t.Content, cmpOr(accountNames(wabas)[t.WABAID], "Your business"), s.viewerNow(c))
	if t.Live != nil && t.Live.ID != t.RevisionID {
		v.LiveNote = fmt.Sprintf("Revision %d is the one customers receive until Meta approves revision %d.", t.Live.Number, t.Revision)
	}
	if t.Status == templates.StatusInReview && p.Can(authz.TemplatesApprove) && t.AuthorID == p.MemberID {
		v.FourEyesNote = "You wrote this revision, so another member with templates.approve reviews it."
	}
	for i := len(h.Decisions) - 1; i >= 0; i-- {
		v.Events = append(v.Events, templateEvent(at, h.Decisions[i]))
	}
	if t.Status == templates.StatusDraft {
		for i := len(h.Decisions) - 1; i >= 0; i-- {
			if d := h.Decisions[i]; d.RevisionID == t.RevisionID && d.Kind == templates.DecisionSentBack {
				e := templateEvent(at, d)
				v.SentBack = &e
				break
			}
		}
	}
	for i := len(h.Revisions) - 1; i >= 0; i-- {
		v.Revisions = append(v.Revisions, templateRevisionRow(at, h.Revisions[i], t))
	}
	return render(c, status, views.TemplateDetail(v))
}

func rejectedReason(t templates.Template) string {
	if t.MetaStatus != templates.MetaRejected {
		return ""
	}
	return cmpOr(t.RejectedReason, "none given")
}

func templateFacts(at func(time.Time) string, t templates.Template, names map[string]string) []views.TemplateFact {
	facts := []views.TemplateFact{
		{Label: "Category", Value: templateCategoryLabel(t.Category)},
	}
	if t.MetaCategory != "" && t.MetaCategory != t.Category {
		facts = append(facts, views.TemplateFact{Label: "Category at Meta", Value: templateCategoryLabel(t.MetaCategory)})
	}
	facts = append(facts,
		views.TemplateFact{Label: "Language", Value: templateLanguageLabel(t.Language) + " (" + t.Language + ")"},
		views.TemplateFact{Label: "Account", Value: cmpOr(names[t.WABAID], t.WABAID)},
		views.TemplateFact{Label: "Revision", Value: strconv.Itoa(t.Revision)},
		views.TemplateFact{Label: "Written by", Value: cmpOr(t.AuthorName, "Imported from Meta")},
		views.TemplateFact{Label: "Last change", Value: at(t.UpdatedAt)},
	)
	if t.MetaTemplateID != "" {
		facts = append(facts, views.TemplateFact{Label: "Meta's template id", Value: t.MetaTemplateID, Mono: true})
	}
	return facts
}

// templateActions offers the steps the viewer's permissions and the template's state allow. It
// only decides what to show: the service enforces every rule again.
func templateActions(t templates.Template, p *authz.Principal) views.TemplateActions {
	if t.Status == templates.StatusDeleted {
		return views.TemplateActions{}
	}
	mine := t.AuthorID == p.MemberID
	a := views.TemplateActions{
		Edit:            t.Status == templates.StatusDraft && mine && p.Can(authz.TemplatesCreate),
		SubmitForReview: t.Status == templates.StatusDraft && mine && p.Can(authz.TemplatesCreate),
		Review:          t.Status == templates.StatusInReview && !mine && p.Can(authz.TemplatesApprove),
		SubmitToMeta:    t.Status == templates.StatusApproved && !mine && p.Can(authz.TemplatesApprove),
		Delete:          p.Can(authz.TemplatesDelete),
	}
	if p.Can(authz.TemplatesCreate) {
		switch {
		case t.Status == templates.StatusApproved:
			a.StartRevision = true
		case t.Status == templates.StatusSubmitted:
			// Meta accepts edits of approved, rejected and paused templates only.
			a.StartRevision = t.MetaStatus == templates.MetaApproved || t.MetaStatus == templates.MetaRejected || t.MetaStatus == templates.MetaPaused
		}
	}
	return a
}

func templateRevisionRow(at func(time.Time) string, r templates.Revision, t templates.Template) views.TemplateRevisionRow {
	row := views.TemplateRevisionRow{Number: r.Number, Status: templateStatusBadge(r.Status), Author: r.AuthorName,
		Created: at(r.CreatedAt), Current: r.ID == t.RevisionID, Live: t.Live != nil && t.Live.ID == r.ID && t.Sendable(),
		Category: templateCategoryLabel(r.Category), Body: r.Body.Text, Footer: r.Footer}
	if r.ID == t.RevisionID && t.Status == templates.StatusDeleted {
		row.Status = templateStatusBadge(templates.StatusDeleted)
	}
	if r.AuthorID == 0 {
		row.Author = "Meta (imported)"
	}
	switch {
	case r.Header.Format == templates.HeaderText:
		row.Header = r.Header.Text
	case r.Header.Format != "" && r.Header.Format != templates.HeaderNone:
		row.Header = templateMediaWord(r.Header.Format)
	}
	if !r.SubmittedAt.IsZero() {
		row.Submitted = at(r.SubmittedAt)
	}
	for _, b := range r.Buttons {
		row.Buttons = append(row.Buttons, templateButtonSummary(b))
	}
	return row
}

func templateMediaWord(f templates.HeaderFormat) string {
	switch f {
	case templates.HeaderImage:
		return "An image"
	case templates.HeaderDocument:
		return "A document"
	case templates.HeaderVideo:
		return "A video"
	case templates.HeaderLocation:
		return "A location"
	}
	return string(f)
}

// templateStep runs one workflow step from a button on the template's page: on success back to
// the page with a message, on a refusal the page again with the reason.
func (s *Server) templateStep(c echo.Context, step func(p *authz.Principal, id int64) (templates.Template, error), done func(t templates.Template) (string, string)) error {
	t, err := step(principalOf(c), pathID(c))
	if err != nil {
		return s.templateRefused(c, err, "")
	}
	to, msg := done(t)
	return s.redirectWithFlash(c, to, msg)
}

// templateRefused shows the template's page with why an action was refused, with the status
// that says so. Not found stays a plain 404.
func (s *Server) templateRefused(c echo.Context, err error, comment string) error {
	status, msg, ok := templateErrorStatus(err)
	if !ok || status == http.StatusNotFound {
		return templateError(err)
	}
	o := templateOutcome{message: msg, comment: comment}
	var fe templates.FieldErrors
	if errors.As(err, &fe) {
		if m, ok := fe["comment"]; ok && len(fe) == 1 {
			o.message, o.errors = "Nothing was decided: "+strings.ToLower(m[:1])+m[1:], map[string]string{"comment": m}
		} else {
			o.message = "This revision does not meet Meta's rules yet; its author must fix it first."
			for _, k := range sortedKeys(fe) {
				o.problems = append(o.problems, fe[k])
			}
		}
	}
	if rerr := s.renderTemplateDetail(c, status, o); rerr != nil {
		var he *echo.HTTPError
		if errors.As(rerr, &he) {
			// The page itself is out of reach (no templates.view): the refusal alone, then.
			return echo.NewHTTPError(status, msg)
		}
		return rerr
	}
	return nil
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func (s *Server) submitTemplateForReview(c echo.Context) error {
	return s.templateStep(c, func(p *authz.Principal, id int64) (templates.Template, error) {
		return s.Templates.SubmitForReview(c.Request().Context(), p, id)
	}, func(t templates.Template) (string, string) {
		return templateURL(t.ID), "Submitted for review. You will see the decision on your dashboard."
	})
}

func (s *Server) approveTemplate(c echo.Context) error {
	comment := c.FormValue("comment")
	t, err := s.Templates.Approve(c.Request().Context(), principalOf(c), pathID(c), comment)
	if err != nil {
		return s.templateRefused(c, err, comment)
	}
	return s.redirectWithFlash(c, templateURL(t.ID), "Approved. Submit it to Meta when you are ready.")
}

func (s *Server) sendBackTemplate(c echo.Context) error {
	comment := c.FormValue("comment")
	t, err := s.Templates.SendBack(c.Request().Context(), principalOf(c), pathID(c), comment)
	if err != nil {
		return s.templateRefused(c, err, comment)
	}
	return s.redirectWithFlash(c, templateURL(t.ID), "Sent back to "+cmpOr(t.AuthorName, "its author")+" with your comment.")
}

func (s *Server) submitTemplateToMeta(c echo.Context) error {
	return s.templateStep(c, func(p *authz.Principal, id int64) (templates.Template, error) {
		return s.Templates.SubmitToMeta(c.Request().Context(), p, id)
	}, func(t templates.Template) (string, string) {
		if t.MetaStatus == templates.MetaApproved {
			return templateURL(t.ID), "Submitted to Meta, and Meta approved it at once: it can be sent."
		}
		return templateURL(t.ID), "Submitted to Meta. Meta usually decides within minutes; the status updates by itself."
	})
}

func (s *Server) startTemplateRevision(c echo.Context) error {
	return s.templateStep(c, func(p *authz.Principal, id int64) (templates.Template, error) {
		return s.Templates.StartRevision(c.Request().Context(), p, id)
	}, func(t templates.Template) (string, string) {
		return templateURL(t.ID) + "/edit", fmt.Sprintf("Revision %d started. Customers keep receiving the current one until Meta approves this.", t.Revision)
	})
}

func (s *Server) deleteTemplatePage(c echo.Context) error {
	t, err := s.Templates.Get(c.Request().Context(), principalOf(c), pathID(c))
	if err != nil {
		return templateError(err)
	}
	if t.Status == templates.StatusDeleted {
		return echo.NewHTTPError(http.StatusConflict, "This template has already been deleted.")
	}
	atMeta := t.MetaTemplateID != "" && t.MetaStatus != templates.MetaDeleted && t.MetaStatus != templates.MetaPendingDeletion
	return render(c, http.StatusOK, views.TemplateDelete(views.TemplateDeleteView{Page: s.page(c, "Delete "+t.Name, "templates"),
		ID: t.ID, Name: t.Name, Language: t.Language, AtMeta: atMeta, Sendable: t.Sendable()}))
}

func (s *Server) deleteTemplate(c echo.Context) error {
	t, err := s.Templates.Delete(c.Request().Context(), principalOf(c), pathID(c))
	if err != nil {
		return s.templateRefused(c, err, "")
	}
	return s.redirectWithFlash(c, "/templates", "Template "+t.Name+" ("+t.Language+") deleted. Its history stays on its page.")
}

// syncTemplates reads one account's templates from Meta. SyncFromMeta takes no principal (it
// also runs for webhooks), so the member is named as the actor of its events here, and the
// account must be one the member works in.
func (s *Server) syncTemplates(c echo.Context) error {
	ctx := c.Request().Context()
	p := principalOf(c)
	wabaID := strings.TrimSpace(c.FormValue("waba_id"))
	wabas, err := s.Workspace.Store().WABAs(ctx)
	if err != nil {
		return err
	}
	if !slices.ContainsFunc(wabas, func(w workspace.WABA) bool { return w.WABAID == wabaID }) {
		return echo.NewHTTPError(http.StatusNotFound)
	}
	// Templates follow the member's phone-number scope through the account; until numbers are
	// mapped to accounts the service shows templates only to members in every number
	// (templates.AllNumbersOnly), and syncing follows the same rule.
	if !p.Numbers.All {
		return echo.NewHTTPError(http.StatusNotFound)
	}
	res, err := s.Templates.SyncFromMeta(audit.WithActor(ctx, audit.MemberActor(p.MemberID, p.Name)), wabaID)
	if err != nil {
		if status, msg, ok := templateErrorStatus(err); ok && status == http.StatusBadGateway {
			s.flash(c, "error", msg)
		} else {
			s.Logger.ErrorContext(ctx, "sync templates from Meta", "error", err, "waba_id", wabaID)
			s.flash(c, "error", "The templates could not be read from Meta. Check the account's connection in the WhatsApp settings, then try again.")
		}
		return c.Redirect(http.StatusSeeOther, "/templates")
	}
	msg := fmt.Sprintf("Synced from Meta: %d imported, %d updated, %d unchanged", res.Imported, res.Updated, res.Unchanged)
	if res.Missing > 0 {
		msg += fmt.Sprintf(", %d no longer at Meta", res.Missing)
	}
	msg += "."
	if len(res.Conflicts) > 0 {
		s.flash(c, "warning", msg+" Left alone because a local template already uses the name and language: "+
			strings.Join(res.Conflicts, ", ")+". Rename or delete the local one, then sync again.")
		return c.Redirect(http.StatusSeeOther, "/templates")
	}
	return s.redirectWithFlash(c, "/templates", msg)
}
