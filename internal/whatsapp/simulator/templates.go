package simulator

import (
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/switchboard/switchboard/internal/whatsapp"
)

var (
	templateNameRe = regexp.MustCompile(`^[a-z0-9_]{1,512}$`)
	variableRe     = regexp.MustCompile(`\{\{\s*([A-Za-z0-9_]+)\s*\}\}`)
)

// variables lists a text's distinct {{…}} names in order of first appearance.
func variables(text string) []string {
	var out []string
	for _, m := range variableRe.FindAllStringSubmatch(text, -1) {
		if !slices.Contains(out, m[1]) {
			out = append(out, m[1])
		}
	}
	return out
}

func errTemplateMissing(name, lang string) *whatsapp.APIError {
	return &whatsapp.APIError{HTTPStatus: http.StatusNotFound, Code: whatsapp.CodeTemplateMissing, Type: "OAuthException",
		Message: "(#132001) Template name does not exist in the translation",
		Details: fmt.Sprintf("template name (%s) does not exist in %s", name, lang)}
}

func errParamCount(where string, got, want int) *whatsapp.APIError {
	return &whatsapp.APIError{HTTPStatus: http.StatusBadRequest, Code: whatsapp.CodeTemplateParams, Type: "OAuthException",
		Message: "(#132000) Number of parameters does not match the expected number of params",
		Details: fmt.Sprintf("%s: number of localizable_params (%d) does not match the expected number of params (%d)", where, got, want)}
}

func errTemplateFormat(details string) *whatsapp.APIError {
	return &whatsapp.APIError{HTTPStatus: http.StatusBadRequest, Code: whatsapp.CodeTemplateFormat, Type: "OAuthException",
		Message: "(#132012) Parameter format does not match format in the created template", Details: details}
}

// checkTemplateLocked finds the approved template a send names and checks its parameters the
// way Meta does: missing or unapproved in that language → 132001, paused → 132015, disabled →
// 132016, wrong number of parameters → 132000, header media of the wrong kind → 132012.
func (s *Simulator) checkTemplateLocked(wabaID string, m whatsapp.TemplateMessage) (*template, *whatsapp.APIError) {
	var tpl *template
	for _, id := range s.wabas[wabaID].templates {
		t := s.templates[id]
		if t.t.Name == m.Name && t.t.Language == m.Language {
			tpl = t
			break
		}
	}
	if tpl == nil {
		return nil, errTemplateMissing(m.Name, m.Language)
	}
	switch tpl.t.Status {
	case whatsapp.TemplateApproved:
	case whatsapp.TemplatePaused:
		return nil, &whatsapp.APIError{HTTPStatus: http.StatusBadRequest, Code: whatsapp.CodeTemplatePaused, Type: "OAuthException",
			Message: "(#132015) Template is Paused", Details: fmt.Sprintf("Template %s is paused due to low quality.", m.Name)}
	case whatsapp.TemplateDisabled:
		return nil, &whatsapp.APIError{HTTPStatus: http.StatusBadRequest, Code: whatsapp.CodeTemplateDisabled, Type: "OAuthException",
			Message: "(#132016) Template is disabled", Details: fmt.Sprintf("Template %s is disabled due to low quality.", m.Name)}
	default:
		return nil, errTemplateMissing(m.Name, m.Language)
	}

	params := map[string][]whatsapp.Parameter{}
	buttons := map[int]whatsapp.MessageComponent{}
	for _, c := range m.Components {
		switch strings.ToLower(c.Type) {
		case "button":
			buttons[c.Index] = c
		default:
			params[strings.ToLower(c.Type)] = append(params[strings.ToLower(c.Type)], c.Parameters...)
		}
	}
	buttonIndex := 0
	for _, c := range tpl.t.Components {
		switch strings.ToUpper(c.Type) {
		case "HEADER":
			got := params["header"]
			switch strings.ToUpper(c.Format) {
			case "", "TEXT":
				if apiErr := checkVariables("header", c.Text, got); apiErr != nil {
					return nil, apiErr
				}
			case "IMAGE", "VIDEO", "DOCUMENT":
				want := strings.ToLower(c.Format)
				if len(got) != 1 || got[0].Type != want {
					received := "UNKNOWN"
					if len(got) > 0 {
						received = strings.ToUpper(got[0].Type)
					}
					return nil, errTemplateFormat(fmt.Sprintf("header: Format mismatch, expected %s, received %s", c.Format, received))
				}
			}
		case "BODY":
			if apiErr := checkVariables("body", c.Text, params["body"]); apiErr != nil {
				return nil, apiErr
			}
		case "BUTTONS":
			for _, b := range c.Buttons {
				i := buttonIndex
				buttonIndex++
				if strings.ToUpper(b.Type) != "URL" || len(variables(b.URL)) == 0 {
					continue
				}
				got, ok := buttons[i]
				if !ok || got.SubType != "url" || len(got.Parameters) != 1 {
					n := 0
					if ok {
						n = len(got.Parameters)
					}
					return nil, errParamCount(fmt.Sprintf("button at index %d of type Url", i), n, 1)
				}
			}
		}
	}
	for i := range buttons {
		if i >= buttonIndex {
			return nil, errInvalidValue(fmt.Sprintf("Button at index %d does not exist in template %s.", i, m.Name))
		}
	}
	return tpl, nil
}

// checkVariables compares the parameters sent for one component with the template's
// variables: the count for positional templates, and the names too for named ones.
func checkVariables(where, text string, got []whatsapp.Parameter) *whatsapp.APIError {
	want := variables(text)
	if len(got) != len(want) {
		return errParamCount(where, len(got), len(want))
	}
	for _, p := range got {
		if p.Type != "text" && p.Type != "currency" && p.Type != "date_time" {
			return errTemplateFormat(fmt.Sprintf("%s: Format mismatch, expected TEXT, received %s", where, strings.ToUpper(p.Type)))
		}
	}
	for _, name := range want {
		if _, err := strconv.Atoi(name); err == nil {
			continue // positional: order is the only name
		}
		if !slices.ContainsFunc(got, func(p whatsapp.Parameter) bool { return p.Name == name }) {
			return errTemplateFormat(fmt.Sprintf("%s: parameter_name %q is missing", where, name))
		}
	}
	return nil
}

// checkDefinition applies the creation rules Meta answers synchronously; review outcomes
// (REJECTED for policy, PROMOTIONAL and so on) come later by SetTemplateStatus.
func checkDefinition(d whatsapp.TemplateDefinition) *whatsapp.APIError {
	bad := func(title, msg string) *whatsapp.APIError {
		e := errParam("Invalid parameter", "")
		e.UserTitle, e.UserMsg = title, msg
		return e
	}
	if !templateNameRe.MatchString(d.Name) {
		return bad("Invalid template name", "Template names may only contain lowercase letters, numbers and underscores.")
	}
	if d.Language == "" {
		return bad("Missing language", "A template needs a language.")
	}
	switch d.Category {
	case whatsapp.CategoryMarketing, whatsapp.CategoryUtility, whatsapp.CategoryAuthentication:
	default:
		return bad("Invalid category", "Category must be MARKETING, UTILITY or AUTHENTICATION.")
	}
	return checkComponents(d.Components)
}

func checkComponents(cs []whatsapp.TemplateComponent) *whatsapp.APIError {
	bad := func(title, msg string) *whatsapp.APIError {
		e := errParam("Invalid parameter", "")
		e.UserTitle, e.UserMsg = title, msg
		return e
	}
	bodies := 0
	for _, c := range cs {
		switch strings.ToUpper(c.Type) {
		case "BODY":
			bodies++
			if utf8.RuneCountInString(c.Text) > 1024 {
				return bad("Body too long", "The body may have at most 1024 characters.")
			}
			if apiErr := checkSequence(c.Text, bad); apiErr != nil {
				return apiErr
			}
		case "HEADER":
			if strings.ToUpper(c.Format) == "TEXT" && (utf8.RuneCountInString(c.Text) > 60 || len(variables(c.Text)) > 1) {
				return bad("Invalid header", "A text header has at most 60 characters and one parameter.")
			}
		case "FOOTER":
			if utf8.RuneCountInString(c.Text) > 60 || len(variables(c.Text)) > 0 {
				return bad("Invalid footer", "A footer has at most 60 characters and no parameters.")
			}
		case "BUTTONS":
			if len(c.Buttons) > 10 {
				return bad("Too many buttons", "A template has at most 10 buttons.")
			}
		default:
			return bad("Invalid component", fmt.Sprintf("Unknown component type %q.", c.Type))
		}
	}
	if bodies != 1 {
		return bad("Invalid body", "A template needs exactly one BODY component.")
	}
	return nil
}

// checkSequence refuses positional parameters that are not {{1}}, {{2}}, … in sequence, and a
// text that starts or ends with a parameter, as Meta does at creation.
func checkSequence(text string, bad func(title, msg string) *whatsapp.APIError) *whatsapp.APIError {
	vars := variables(text)
	for i, v := range vars {
		n, err := strconv.Atoi(v)
		if err != nil {
			continue
		}
		if n != i+1 {
			return bad("Invalid parameters", "Parameters must be sequential: {{1}}, {{2}}, …")
		}
	}
	trimmed := strings.TrimSpace(text)
	if len(vars) > 0 && (variableRe.FindStringIndex(trimmed)[0] == 0 || strings.HasSuffix(trimmed, "}}")) {
		return bad("Invalid parameters", "The body cannot start or end with a parameter.")
	}
	return nil
}

func (s *Simulator) createTemplate(w http.ResponseWriter, r *http.Request, wabaID string) {
	raw, apiErr := readBody(r)
	if apiErr != nil {
		s.writeError(w, apiErr)
		return
	}
	var d whatsapp.TemplateDefinition
	if err := json.Unmarshal(raw, &d); err != nil {
		s.writeError(w, errParam("Invalid parameter", "request body is not a template: "+err.Error()))
		return
	}
	if apiErr := checkDefinition(d); apiErr != nil {
		s.writeError(w, apiErr)
		return
	}
	s.mu.Lock()
	wb := s.wabas[wabaID]
	for _, id := range wb.templates {
		if t := s.templates[id].t; t.Name == d.Name && t.Language == d.Language {
			s.mu.Unlock()
			e := errParam("Invalid parameter", "")
			e.Subcode = 2388024
			e.UserTitle = "Message template already exists"
			e.UserMsg = fmt.Sprintf("There is already %s content for this template. You can create a new template and try again.", d.Language)
			s.writeError(w, e)
			return
		}
	}
	format := strings.ToUpper(d.ParameterFormat)
	if format == "" {
		format = "POSITIONAL"
	}
	t := &template{wabaID: wabaID, t: whatsapp.Template{ID: newNumericID(), Name: d.Name, Language: d.Language,
		Status: whatsapp.TemplatePending, Category: d.Category, ParameterFormat: format, Components: d.Components}}
	s.templates[t.t.ID] = t
	wb.templates = append(wb.templates, t.t.ID)
	created := whatsapp.TemplateCreated{ID: t.t.ID, Status: t.t.Status, Category: t.t.Category}
	s.publishLocked(notice{templateID: t.t.ID})
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, created)
}

func (s *Simulator) listTemplates(w http.ResponseWriter, r *http.Request, wabaID string) {
	q := r.URL.Query()
	s.mu.Lock()
	var list []whatsapp.Template
	for _, id := range s.wabas[wabaID].templates {
		t := s.templates[id].t
		if (q.Get("name") == "" || t.Name == q.Get("name")) &&
			(q.Get("status") == "" || t.Status == q.Get("status")) &&
			(q.Get("category") == "" || t.Category == q.Get("category")) &&
			(q.Get("language") == "" || t.Language == q.Get("language")) {
			list = append(list, t)
		}
	}
	s.mu.Unlock()
	p, apiErr := page(r, list)
	if apiErr != nil {
		s.writeError(w, apiErr)
		return
	}
	writeJSON(w, http.StatusOK, p)
}

func (s *Simulator) deleteTemplate(w http.ResponseWriter, r *http.Request, wabaID string) {
	name, hsmID := r.URL.Query().Get("name"), r.URL.Query().Get("hsm_id")
	if name == "" {
		s.writeError(w, errParam("The parameter name is required.", ""))
		return
	}
	s.mu.Lock()
	wb := s.wabas[wabaID]
	var keep []string
	deleted := 0
	for _, id := range wb.templates {
		t := s.templates[id].t
		if t.Name == name && (hsmID == "" || t.ID == hsmID) {
			delete(s.templates, id)
			deleted++
			continue
		}
		keep = append(keep, id)
	}
	wb.templates = keep
	s.mu.Unlock()
	if deleted == 0 {
		e := errParam("Invalid parameter", "")
		e.UserTitle = "Message template not found"
		e.UserMsg = fmt.Sprintf("The message template %q was not found.", name)
		s.writeError(w, e)
		return
	}
	writeJSON(w, http.StatusOK, whatsapp.SuccessResponse{Success: true})
}

// editTemplate follows Meta's edit rules: only APPROVED, REJECTED or PAUSED templates; an
// approved one at most once per 24 hours and 10 times per 30 days; components are replaced
// whole; the edited template goes back to review (PENDING).
func (s *Simulator) editTemplate(w http.ResponseWriter, r *http.Request, id string) {
	raw, apiErr := readBody(r)
	if apiErr != nil {
		s.writeError(w, apiErr)
		return
	}
	var e whatsapp.TemplateEdit
	if err := json.Unmarshal(raw, &e); err != nil {
		s.writeError(w, errParam("Invalid parameter", "request body is not a template edit: "+err.Error()))
		return
	}
	bad := func(title, msg string) *whatsapp.APIError {
		e := errParam("Invalid parameter", "")
		e.UserTitle, e.UserMsg = title, msg
		return e
	}
	if len(e.Components) > 0 {
		if apiErr := checkComponents(e.Components); apiErr != nil {
			s.writeError(w, apiErr)
			return
		}
	}
	s.mu.Lock()
	apiErr = s.applyEditLocked(id, e, bad)
	s.mu.Unlock()
	if apiErr != nil {
		s.writeError(w, apiErr)
		return
	}
	writeJSON(w, http.StatusOK, whatsapp.SuccessResponse{Success: true})
}

func (s *Simulator) applyEditLocked(id string, e whatsapp.TemplateEdit, bad func(title, msg string) *whatsapp.APIError) *whatsapp.APIError {
	t := s.templates[id]
	now := s.clock.Now()
	switch t.t.Status {
	case whatsapp.TemplateApproved:
		var last24h, last30d int
		for _, at := range t.edits {
			if now.Sub(at) < 24*time.Hour {
				last24h++
			}
			if now.Sub(at) < 30*24*time.Hour {
				last30d++
			}
		}
		if last24h >= 1 || last30d >= 10 {
			return bad("Edit limit reached", "An approved template can be edited once per 24 hours and 10 times per 30 days.")
		}
		t.edits = append(t.edits, now)
	case whatsapp.TemplateRejected, whatsapp.TemplatePaused:
	default:
		return bad("Template can't be edited", "Only templates that are approved, rejected or paused can be edited.")
	}
	if e.Category != "" {
		t.t.Category = e.Category
	}
	if len(e.Components) > 0 {
		t.t.Components = e.Components
	}
	t.t.Status = whatsapp.TemplatePending
	t.t.RejectedReason = ""
	s.publishLocked(notice{templateID: id})
	return nil
}
