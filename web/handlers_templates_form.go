package web

import (
	"errors"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/labstack/echo/v4"

	"github.com/switchboard/switchboard/internal/authz"
	"github.com/switchboard/switchboard/internal/templates"
	"github.com/switchboard/switchboard/internal/workspace"
	"github.com/switchboard/switchboard/web/views"
)

// templateButtonRows is how many button rows the editor offers. Meta allows ten; three cover
// nearly every template, and a template that already has more keeps a row for each.
const templateButtonRows = 3

// templateForm is the compose form as posted: the draft it amounts to, the button rows as typed
// (to show them again), and which row each of the draft's buttons came from, since empty rows
// are skipped and the domain numbers its button errors by position in the draft.
type templateForm struct {
	draft       templates.Draft
	rows        []views.TemplateButtonRow
	rowOf       []int
	exampleKeys string
	values      map[string]string // every posted field, trimmed, for deciding which messages to show
}

func readTemplateForm(c echo.Context) (templateForm, error) {
	form, err := c.FormParams()
	if err != nil {
		return templateForm{}, echo.NewHTTPError(http.StatusBadRequest, "The form could not be read.")
	}
	f := templateForm{values: map[string]string{}}
	for k, v := range form {
		if len(v) > 0 {
			f.values[k] = strings.TrimSpace(v[0])
		}
	}
	get := func(k string) string { return f.values[k] }
	d := templates.Draft{WABAID: get("waba_id"), Name: get("name"), Language: get("language")}
	d.Category = templates.Category(get("category"))
	d.ParameterFormat = templates.ParameterFormat(get("parameter_format"))
	d.Header.Format = templates.HeaderFormat(get("header.format"))
	// Only what the chosen options use is kept, as the service would store it: a header text
	// left behind after choosing an image header must not fail the check or show in the preview.
	switch {
	case d.Header.Format == templates.HeaderText:
		d.Header.Text, d.Header.Example = get("header.text"), get("header.example")
	case d.Header.Format.IsMedia():
		d.Header.MediaHandle = get("header.media_handle")
	}
	d.Body.Text = strings.TrimSpace(strings.ReplaceAll(form.Get("body.text"), "\r\n", "\n"))
	d.Body.Examples = map[string]string{}
	for k := range form {
		if key, ok := strings.CutPrefix(k, "body.examples."); ok && key != "" {
			d.Body.Examples[key] = get(k)
		}
	}
	d.Footer = get("footer")
	for i := 0; i < templates.MaxButtons; i++ {
		field := func(name string) string { return "buttons." + strconv.Itoa(i) + "." + name }
		if _, ok := form[field("type")]; !ok {
			break
		}
		row := views.TemplateButtonRow{Index: i, Type: get(field("type")), Text: get(field("text")), URL: get(field("url")),
			Phone: get(field("phone_number")), Example: get(field("example"))}
		f.rows = append(f.rows, row)
		if row.Type == "" {
			continue
		}
		b := templates.Button{Type: templates.ButtonType(row.Type)}
		switch b.Type {
		case templates.ButtonQuickReply:
			b.Text = row.Text
		case templates.ButtonURL:
			b.Text, b.URL, b.Example = row.Text, row.URL, row.Example
		case templates.ButtonPhoneNumber:
			b.Text, b.PhoneNumber = row.Text, row.Phone
		case templates.ButtonCopyCode:
			b.Example = row.Example
		default:
			b.Text, b.URL, b.PhoneNumber, b.Example = row.Text, row.URL, row.Phone, row.Example
		}
		d.Buttons = append(d.Buttons, b)
		f.rowOf = append(f.rowOf, i)
	}
	f.draft, f.exampleKeys = d, get("example_keys")
	return f, nil
}

// formFromTemplate is the form of an existing draft.
func formFromTemplate(t templates.Template) templateForm {
	f := templateForm{draft: templates.Draft{WABAID: t.WABAID, Name: t.Name, Language: t.Language, Content: t.Content}}
	for i, b := range t.Buttons {
		f.rows = append(f.rows, views.TemplateButtonRow{Index: i, Type: string(b.Type), Text: b.Text, URL: b.URL,
			Phone: b.PhoneNumber, Example: b.Example})
		f.rowOf = append(f.rowOf, i)
	}
	f.padRows()
	return f
}

func (f *templateForm) padRows() {
	for len(f.rows) < templateButtonRows {
		f.rows = append(f.rows, views.TemplateButtonRow{Index: len(f.rows)})
	}
}

// errors turns the domain's field errors into the form's: button errors move from the draft's
// position to the row they came from.
func (f templateForm) errors(fe templates.FieldErrors) map[string]string {
	out := make(map[string]string, len(fe))
	for k, msg := range fe {
		if rest, ok := strings.CutPrefix(k, "buttons."); ok {
			if idx, sub, ok := strings.Cut(rest, "."); ok {
				if i, err := strconv.Atoi(idx); err == nil && i >= 0 && i < len(f.rowOf) {
					k = "buttons." + strconv.Itoa(f.rowOf[i]) + "." + sub
				}
			}
		}
		out[k] = msg
	}
	return out
}

// templateVariable is a well-formed {{…}} of a text: {{1}}…{{999}} or a lower-case name. The
// domain decides what is valid; this only finds the variables that need a sample-value field.
var templateVariable = regexp.MustCompile(`\{\{([1-9][0-9]{0,2}|[a-z][a-z0-9_]{0,63})\}\}`)

// anyPlaceholder is whatever still looks like a variable in the rendered preview.
var anyPlaceholder = regexp.MustCompile(`\{\{[^{}]*\}\}`)

// templateVariables lists the distinct variables of text in order of first appearance: the
// order of their sample-value fields.
func templateVariables(text string) []string {
	var keys []string
	for _, m := range templateVariable.FindAllStringSubmatch(text, -1) {
		if !contains(keys, m[1]) {
			keys = append(keys, m[1])
		}
	}
	return keys
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// templateExamples builds the sample-value fields for the draft's variables.
func templateExamples(d templates.Draft, errs map[string]string) views.TemplateExamples {
	var ex views.TemplateExamples
	var keys []string
	if d.Header.Format == templates.HeaderText {
		if vars := templateVariables(d.Header.Text); len(vars) > 0 {
			// A header holds one variable at most, and one sample value: the first one's.
			ex.Fields = append(ex.Fields, views.TemplateExampleField{Field: "header.example", Label: "{{" + vars[0] + "}} in the header",
				Value: d.Header.Example, Error: errs["header.example"]})
			keys = append(keys, "h:"+vars[0])
		}
	}
	for _, k := range templateVariables(d.Body.Text) {
		field := "body.examples." + k
		ex.Fields = append(ex.Fields, views.TemplateExampleField{Field: field, Label: "{{" + k + "}} in the message",
			Value: d.Body.Examples[k], Error: errs[field]})
		keys = append(keys, "b:"+k)
	}
	ex.Keys = strings.Join(keys, " ")
	return ex
}

// templatePreview renders content with its sample values as a phone would show it, at now (in
// the viewer's zone).
func templatePreview(c templates.Content, business string, now time.Time) views.TemplatePreview {
	r := templates.Render(c, templates.Values{})
	p := views.TemplatePreview{Business: business, Time: now.Format("15:04"), HeaderFormat: string(r.HeaderFormat),
		Header: textParts(r.Header), Body: textParts(r.Body), Footer: r.Footer}
	for _, b := range r.Buttons {
		p.Buttons = append(p.Buttons, views.TemplatePreviewButton{Type: string(b.Type), Text: cmpOr(b.Text, "Button"), Target: b.Target})
	}
	return p
}

func textParts(s string) []views.TemplateTextPart {
	if s == "" {
		return nil
	}
	var parts []views.TemplateTextPart
	last := 0
	for _, loc := range anyPlaceholder.FindAllStringIndex(s, -1) {
		if loc[0] > last {
			parts = append(parts, views.TemplateTextPart{Text: s[last:loc[0]]})
		}
		parts = append(parts, views.TemplateTextPart{Text: s[loc[0]:loc[1]], Placeholder: true})
		last = loc[1]
	}
	if last < len(s) {
		parts = append(parts, views.TemplateTextPart{Text: s[last:]})
	}
	return parts
}

// templateLive checks the draft against Meta's rules and draws the preview. shown are the
// messages to put beside the fields; the count of problems covers all of them.
func (s *Server) templateLive(c echo.Context, f templateForm, wabas []workspace.WABA, all map[string]string, shown map[string]string) views.TemplateLive {
	d := f.draft
	l := views.TemplateLive{Problems: len(all), Errors: shown,
		Preview: templatePreview(d.Content, cmpOr(accountNames(wabas)[d.WABAID], "Your business"), s.viewerNow(c))}
	l.Counts = []views.TemplateCount{
		{Field: "header.text", N: utf8.RuneCountInString(d.Header.Text), Max: templates.MaxHeaderTextLength},
		{Field: "body.text", N: utf8.RuneCountInString(d.Body.Text), Max: templates.MaxBodyLength},
		{Field: "footer", N: utf8.RuneCountInString(d.Footer), Max: templates.MaxFooterLength},
	}
	l.Examples = templateExamples(d, shown)
	l.ExamplesChanged = l.Examples.Keys != f.exampleKeys
	l.Slots = []string{"waba_id", "name", "language", "category", "parameter_format", "header.format", "header.text",
		"header.media_handle", "body.text", "footer", "buttons"}
	for _, r := range f.rows {
		for _, name := range []string{"type", "text", "url", "phone_number", "example"} {
			l.Slots = append(l.Slots, "buttons."+strconv.Itoa(r.Index)+"."+name)
		}
	}
	return l
}

// liveMessages picks the messages to show while the author types: those about what they have
// written, not "enter a name" for a field they have not reached yet. Saving shows them all.
func (f templateForm) liveMessages(all map[string]string) map[string]string {
	shown := map[string]string{}
	for field, msg := range all {
		switch field {
		case "buttons", "parameter_format", "header.format":
			shown[field] = msg
		default:
			if f.values[field] != "" {
				shown[field] = msg
			}
		}
	}
	return shown
}

func (s *Server) previewTemplate(c echo.Context) error {
	f, err := readTemplateForm(c)
	if err != nil {
		return err
	}
	wabas, err := s.Workspace.Store().WABAs(c.Request().Context())
	if err != nil {
		return err
	}
	all := f.errors(templates.Validate(f.draft))
	return render(c, http.StatusOK, views.TemplateLiveResponse(s.templateLive(c, f, wabas, all, f.liveMessages(all))))
}

// templateFormPage is what a compose or edit page needs besides the form.
type templateFormPage struct {
	title, heading, intro, action, cancel string
	locked                                bool
	sentBack                              *views.TemplateEvent
}

func (s *Server) renderTemplateForm(c echo.Context, status int, pg templateFormPage, f templateForm, errs map[string]string) error {
	wabas, err := s.Workspace.Store().WABAs(c.Request().Context())
	if err != nil {
		return err
	}
	f.padRows()
	d := f.draft
	all := f.errors(templates.Validate(d))
	if errs == nil {
		errs = map[string]string{}
	} else {
		// After a refused save every problem is shown, including those found only on the server
		// (a name already taken).
		for k, v := range all {
			if _, ok := errs[k]; !ok {
				errs[k] = v
			}
		}
		all = errs
	}
	names := accountNames(wabas)
	v := views.TemplateFormView{Page: s.page(c, pg.title, "templates"), Heading: pg.heading, Intro: pg.intro, Action: pg.action,
		CancelHref: pg.cancel, IdentityLocked: pg.locked, AccountName: cmpOr(names[d.WABAID], d.WABAID),
		WABAID: d.WABAID, Name: d.Name, Language: d.Language, Languages: templateLanguageOptions(d.Language),
		Category: string(d.Category), ParameterFormat: cmpOr(string(d.ParameterFormat), string(templates.ParameterFormatPositional)),
		HeaderFormat: cmpOr(string(d.Header.Format), string(templates.HeaderNone)), HeaderText: d.Header.Text, HeaderMediaHandle: d.Header.MediaHandle,
		Body: d.Body.Text, Footer: d.Footer, Buttons: f.rows, SentBack: pg.sentBack, Errors: errs}
	for _, w := range wabas {
		v.WABAs = append(v.WABAs, views.Option{Value: w.WABAID, Label: names[w.WABAID]})
	}
	// The form draws its own sample-value fields, so the first preview request finds them current.
	f.exampleKeys = templateExamples(d, nil).Keys
	v.Live = s.templateLive(c, f, wabas, all, errs)
	return render(c, status, views.TemplateForm(v))
}

func (s *Server) newTemplatePage(c echo.Context) error {
	wabas, err := s.Workspace.Store().WABAs(c.Request().Context())
	if err != nil {
		return err
	}
	if len(wabas) == 0 {
		return echo.NewHTTPError(http.StatusConflict, "Connect a WhatsApp Business Account first: every template belongs to one. An administrator does it in the WhatsApp settings.")
	}
	f := templateForm{draft: templates.Draft{Content: templates.Content{ParameterFormat: templates.ParameterFormatPositional,
		Header: templates.Header{Format: templates.HeaderNone}}}}
	if len(wabas) == 1 {
		f.draft.WABAID = wabas[0].WABAID
	}
	return s.renderTemplateForm(c, http.StatusOK, newTemplateFormPage(), f, nil)
}

func newTemplateFormPage() templateFormPage {
	return templateFormPage{title: "New template", heading: "New template", action: "/templates", cancel: "/templates",
		intro: "Write the message, give every variable a sample value, and watch the preview. Saving keeps it as your draft; a colleague reviews it before it goes to Meta."}
}

func (s *Server) createTemplate(c echo.Context) error {
	ctx := c.Request().Context()
	p := principalOf(c)
	f, err := readTemplateForm(c)
	if err != nil {
		return err
	}
	t, err := s.Templates.CreateDraft(ctx, p, f.draft)
	var fe templates.FieldErrors
	if errors.As(err, &fe) {
		return s.renderTemplateForm(c, http.StatusUnprocessableEntity, newTemplateFormPage(), f, f.errors(fe))
	}
	if err != nil {
		return templateError(err)
	}
	return s.afterTemplateSave(c, p, t, "Draft saved. Submit it for review when it reads right.")
}

// afterTemplateSave sends the draft for review when the author pressed "Save and submit".
func (s *Server) afterTemplateSave(c echo.Context, p *authz.Principal, t templates.Template, saved string) error {
	if c.FormValue("then") != "submit" {
		return s.redirectWithFlash(c, templateURL(t.ID), saved)
	}
	if _, err := s.Templates.SubmitForReview(c.Request().Context(), p, t.ID); err != nil {
		_, msg, ok := templateErrorStatus(err)
		if !ok {
			return err
		}
		s.flash(c, "error", "The draft was saved but not submitted: "+msg)
		return c.Redirect(http.StatusSeeOther, templateURL(t.ID))
	}
	return s.redirectWithFlash(c, templateURL(t.ID), "Saved and submitted for review. You will see the decision on your dashboard.")
}

// editableDraft loads a template for its edit form: only its author edits a draft.
func (s *Server) editableDraft(c echo.Context) (templates.Template, error) {
	p := principalOf(c)
	t, err := s.Templates.Get(c.Request().Context(), p, pathID(c))
	if err != nil {
		return templates.Template{}, templateError(err)
	}
	switch {
	case t.Status != templates.StatusDraft:
		msg := "Only a draft can be edited, and this template is no longer one."
		if t.Status == templates.StatusApproved || t.Status == templates.StatusSubmitted {
			msg = "Only a draft can be edited: use “Edit as new revision” on the template's page."
		}
		return templates.Template{}, echo.NewHTTPError(http.StatusConflict, msg)
	case t.AuthorID != p.MemberID:
		return templates.Template{}, echo.NewHTTPError(http.StatusForbidden, "Only the author of this draft, "+cmpOr(t.AuthorName, "someone else")+", can edit it.")
	}
	return t, nil
}

func (s *Server) editFormPage(c echo.Context, t templates.Template) (templateFormPage, error) {
	pg := templateFormPage{title: "Edit " + t.Name, heading: "Edit " + t.Name, action: templateURL(t.ID), cancel: templateURL(t.ID),
		locked: t.MetaTemplateID != ""}
	if t.Revision > 1 {
		pg.intro = "Revision " + strconv.Itoa(t.Revision) + ": it is reviewed again, by a colleague and by Meta, before customers receive it."
	}
	h, err := s.Templates.History(c.Request().Context(), principalOf(c), t.ID)
	if err != nil {
		return pg, templateError(err)
	}
	for i := len(h.Decisions) - 1; i >= 0; i-- {
		if d := h.Decisions[i]; d.RevisionID == t.RevisionID && d.Kind == templates.DecisionSentBack {
			e := templateEvent(s.viewerTimes(c), d)
			pg.sentBack = &e
			break
		}
	}
	return pg, nil
}

func (s *Server) editTemplatePage(c echo.Context) error {
	t, err := s.editableDraft(c)
	if err != nil {
		return err
	}
	pg, err := s.editFormPage(c, t)
	if err != nil {
		return err
	}
	return s.renderTemplateForm(c, http.StatusOK, pg, formFromTemplate(t), nil)
}

func (s *Server) updateTemplate(c echo.Context) error {
	ctx := c.Request().Context()
	p := principalOf(c)
	f, err := readTemplateForm(c)
	if err != nil {
		return err
	}
	t, err := s.Templates.UpdateDraft(ctx, p, pathID(c), f.draft)
	var fe templates.FieldErrors
	if errors.As(err, &fe) {
		cur, gerr := s.Templates.Get(ctx, p, pathID(c))
		if gerr != nil {
			return templateError(gerr)
		}
		pg, perr := s.editFormPage(c, cur)
		if perr != nil {
			return perr
		}
		return s.renderTemplateForm(c, http.StatusUnprocessableEntity, pg, f, f.errors(fe))
	}
	if err != nil {
		return s.templateRefused(c, err, "")
	}
	return s.afterTemplateSave(c, p, t, "Draft saved.")
}
