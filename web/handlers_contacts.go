package web

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/switchboard/switchboard/internal/authz"
	"github.com/switchboard/switchboard/internal/inbox"
	"github.com/switchboard/switchboard/web/views"
)

func contactURL(id int64) string { return "/contacts/" + strconv.FormatInt(id, 10) }

func (s *Server) contactsPage(c echo.Context) error {
	ctx := c.Request().Context()
	p := principalOf(c)
	v := views.ContactsView{Page: s.page(c, "Contacts", "contacts"), Search: strings.TrimSpace(c.QueryParam("q")),
		CanImport: p.Can(authz.ContactsViewPII), CanExport: p.Can(authz.ContactsExport),
		SearchHint: "Search by name, or by the last four digits of a number."}
	labels, err := s.Inbox.Labels(ctx, p)
	if err != nil {
		return err
	}
	label, _ := strconv.ParseInt(c.QueryParam("label"), 10, 64)
	if len(labels) > 0 {
		v.LabelOptions = append(v.LabelOptions, views.Option{Value: "", Label: "All labels"})
		for _, l := range labels {
			v.LabelOptions = append(v.LabelOptions, views.Option{Value: strconv.FormatInt(l.ID, 10), Label: l.Name})
		}
		if label > 0 {
			v.Label = strconv.FormatInt(label, 10)
		}
	}
	after, _ := strconv.ParseInt(c.QueryParam("after"), 10, 64)
	page, err := s.Inbox.ContactBook(ctx, p, inbox.ContactQuery{Search: v.Search, LabelID: label, AfterID: after})
	var fe inbox.FieldErrors
	var refused *inbox.RuleError
	switch {
	case errors.As(err, &fe):
		v.Error = sendProblem(err)
	case errors.As(err, &refused):
		v.Error = refused.Message
	case err != nil:
		return err
	}
	for _, ct := range page.Contacts {
		name := ct.BestName()
		if ct.DisplayName == "" {
			name = listContact(ct.Contact)
		}
		v.Contacts = append(v.Contacts, views.ContactRow{URL: contactURL(ct.ID), Name: name, Phone: maskedPhone(ct.Contact), Labels: labelChips(ct.Labels)})
	}
	if page.Next != 0 {
		q := url.Values{"after": {strconv.FormatInt(page.Next, 10)}}
		if v.Search != "" {
			q.Set("q", v.Search)
		}
		if label > 0 {
			q.Set("label", v.Label)
		}
		v.NextHref = "/contacts?" + q.Encode()
	}
	return render(c, http.StatusOK, views.Contacts(v))
}

func (s *Server) contactPage(c echo.Context) error {
	return s.renderContact(c, http.StatusOK, nil, nil)
}

// renderContact shows the contact; a refused edit comes back with what was typed and why.
func (s *Server) renderContact(c echo.Context, status int, typed *inbox.ContactInput, errs map[string]string) error {
	ctx := c.Request().Context()
	p := principalOf(c)
	r, err := s.Inbox.ContactRecord(ctx, p, pathID(c))
	if err != nil {
		return err
	}
	v := views.ContactView{Page: s.page(c, r.BestName(), "contacts"), ID: r.ID, URL: contactURL(r.ID), Name: r.BestName(),
		WhatsAppName: r.Name, Phone: maskedPhone(r.Contact), DisplayName: r.DisplayName, Notes: r.Notes, CanEdit: r.CanEdit, Errors: errs}
	if r.Contact.Phone == "" {
		v.Phone = r.UserID
	}
	if r.DisplayName == "" {
		v.Name = listContact(r.Contact)
	}
	for _, f := range r.Fields {
		fv := views.ContactFieldInputView{ID: f.Field.ID, Label: f.Field.Label, Kind: string(f.Field.Kind), Value: f.Value, Choices: f.Field.Choices,
			Error: errs["field_"+strconv.FormatInt(f.Field.ID, 10)]}
		if typed != nil {
			if t, ok := typed.Fields[f.Field.ID]; ok {
				fv.Value = t
			}
		}
		v.Fields = append(v.Fields, fv)
	}
	if typed != nil {
		v.DisplayName, v.Notes = typed.DisplayName, typed.Notes
	}
	now := s.Clock.Now()
	_, loc := s.viewerZone(c)
	for _, conv := range r.Conversations {
		v.Conversations = append(v.Conversations, views.ContactConversationRow{URL: "/conversations/" + strconv.FormatInt(conv.ID, 10),
			Number: conv.NumberName, Preview: conv.Preview, When: relativeTime(now, conv.LastMessageAt.In(loc)), Status: statusText(conv)})
	}
	v.Labels = views.LabelsPanelView{Action: v.URL + "/labels", CanEdit: r.CanEdit}
	has := map[int64]bool{}
	for _, l := range r.Labels {
		has[l.ID] = true
		v.Labels.On = append(v.Labels.On, views.LabelChip{ID: l.ID, Name: l.Name, Color: l.Color})
	}
	if r.CanEdit {
		all, err := s.Inbox.Labels(ctx, p)
		if err != nil {
			return err
		}
		for _, l := range all {
			if !has[l.ID] {
				v.Labels.Offered = append(v.Labels.Offered, views.Option{Value: strconv.FormatInt(l.ID, 10), Label: l.Name})
			}
		}
	}
	v.PrivacyLinks = s.contactPrivacyLinks(p, r.ID)
	return render(c, status, views.Contact(v))
}

// contactPrivacyLinks fills the contact page's privacy slot: the subject-access export and
// erasure of this customer, on the privacy requests page, for members who may do either.
func (s *Server) contactPrivacyLinks(p *authz.Principal, id int64) []views.ContactLink {
	if !p.CanAny(authz.ContactsExport, authz.ContactsErase) {
		return nil
	}
	return []views.ContactLink{{Label: "Copy of their data or erasure", Href: "/privacy/requests?contact=" + strconv.FormatInt(id, 10)}}
}

func statusText(conv inbox.Conversation) string {
	if conv.Status == inbox.StatusClosed {
		return "Closed"
	}
	if conv.AssigneeName != "" {
		return "Open · " + conv.AssigneeName
	}
	return "Open · unassigned"
}

func (s *Server) updateContact(c echo.Context) error {
	in := inbox.ContactInput{DisplayName: c.FormValue("name"), Notes: c.FormValue("notes"), Fields: map[int64]string{}}
	form, _ := c.FormParams()
	for k, vals := range form {
		if id, err := strconv.ParseInt(strings.TrimPrefix(k, "field_"), 10, 64); err == nil && strings.HasPrefix(k, "field_") && len(vals) > 0 {
			in.Fields[id] = vals[0]
		}
	}
	err := s.Inbox.UpdateContact(c.Request().Context(), principalOf(c), pathID(c), in)
	var fe inbox.FieldErrors
	if errors.As(err, &fe) {
		return s.renderContact(c, http.StatusUnprocessableEntity, &in, fe)
	}
	if err != nil {
		return err
	}
	return s.redirectWithFlash(c, contactURL(pathID(c)), "Contact saved.")
}

func (s *Server) labelContact(c echo.Context) error {
	label, _ := strconv.ParseInt(c.FormValue("label"), 10, 64)
	err := s.Inbox.LabelContact(c.Request().Context(), principalOf(c), pathID(c), label, c.FormValue("on") != "0")
	var fe inbox.FieldErrors
	if errors.As(err, &fe) {
		s.flash(c, "error", sendProblem(err))
		err = nil
	}
	if err != nil {
		return err
	}
	if isHTMX(c) {
		c.Response().Header().Set("HX-Redirect", contactURL(pathID(c)))
		return c.NoContent(http.StatusOK)
	}
	return c.Redirect(http.StatusSeeOther, contactURL(pathID(c)))
}

// contactsExport streams the contacts the member sees as CSV. The route needs contacts.export
// and a sign-in within the last 10 minutes; the service records the export before the first byte.
func (s *Server) contactsExport(c echo.Context) error {
	name := "switchboard-contacts-" + s.Clock.Now().UTC().Format("20060102T150405Z") + ".csv"
	n, err := s.Inbox.ExportContacts(c.Request().Context(), principalOf(c), func() io.Writer {
		h := c.Response().Header()
		h.Set(echo.HeaderContentType, "text/csv; charset=utf-8")
		h.Set(echo.HeaderContentDisposition, `attachment; filename="`+name+`"`)
		h.Set("Cache-Control", "no-store")
		c.Response().WriteHeader(http.StatusOK)
		return c.Response()
	})
	if err != nil && c.Response().Committed {
		s.Logger.ErrorContext(c.Request().Context(), "contacts export cut short", "rows", n, "error", err)
		return nil
	}
	return err
}

func (s *Server) contactImportPage(c echo.Context) error {
	return render(c, http.StatusOK, views.ContactImport(views.ContactImportView{Page: s.page(c, "Import contacts", "contacts")}))
}

// maxImportErrors is how many bad lines the page lists; the count says how many more.
const maxImportErrors = 50

// contactImport reads the file (first post) or the carried file with the chosen columns, and
// previews or imports it.
func (s *Server) contactImport(c echo.Context) error {
	ctx := c.Request().Context()
	p := principalOf(c)
	v := views.ContactImportView{Page: s.page(c, "Import contacts", "contacts")}
	data := []byte(c.FormValue("csv"))
	if fh, err := c.FormFile("file"); err == nil {
		f, err := fh.Open()
		if err != nil {
			return fmt.Errorf("open import: %w", err)
		}
		data, err = io.ReadAll(io.LimitReader(f, maxUploadBody))
		f.Close()
		if err != nil {
			return fmt.Errorf("read import: %w", err)
		}
	}
	if len(data) == 0 {
		v.Problem = "Choose a CSV file."
		return render(c, http.StatusUnprocessableEntity, views.ContactImport(v))
	}
	var mapping []string
	if c.FormValue("map_0") != "" || c.FormValue("step") != "" {
		for i := 0; ; i++ {
			vals, ok := c.Request().PostForm["map_"+strconv.Itoa(i)]
			if !ok {
				break
			}
			mapping = append(mapping, vals[0])
		}
	}
	var (
		pv  inbox.ImportPreview
		err error
	)
	if c.FormValue("step") == "import" {
		var res inbox.ImportResult
		res, pv, err = s.Inbox.ImportContacts(ctx, p, data, mapping)
		if err == nil {
			return s.redirectWithFlash(c, "/contacts", fmt.Sprintf("Imported: %s, %s.",
				views.Plural(res.Created, "new contact", "new contacts"), views.Plural(res.Updated, "update", "updates")))
		}
	} else {
		pv, err = s.Inbox.PreviewImport(ctx, p, data, mapping)
	}
	var fe inbox.FieldErrors
	status := http.StatusOK
	switch {
	case errors.Is(err, inbox.ErrImportRows):
		v.Problem = "Nothing was imported: fix the lines listed below, or map the columns differently, and try again."
		status = http.StatusUnprocessableEntity
	case errors.As(err, &fe):
		v.Problem = sendProblem(err)
		status = http.StatusUnprocessableEntity
	case err != nil:
		return err
	}
	if pv.Header != nil {
		v.Header, v.Mapping, v.Sample, v.Rows, v.Creates, v.Updates = pv.Header, pv.Mapping, pv.Sample, pv.Rows, pv.Creates, pv.Updates
		for _, t := range pv.Targets {
			v.Targets = append(v.Targets, views.Option{Value: t.Value, Label: t.Label})
		}
		for i, e := range pv.Errors {
			if i == maxImportErrors {
				v.More = len(pv.Errors) - maxImportErrors
				break
			}
			v.Errors = append(v.Errors, views.ImportRowError{Line: e.Line, Message: e.Message})
		}
		v.CSV = string(data)
	}
	return render(c, status, views.ContactImport(v))
}

func (s *Server) contactFieldsPage(c echo.Context) error {
	return s.renderContactFields(c, http.StatusOK, views.ContactFieldsView{Form: views.ContactFieldRow{Kind: "text"}})
}

func (s *Server) renderContactFields(c echo.Context, status int, v views.ContactFieldsView) error {
	fields, err := s.Inbox.ContactFields(c.Request().Context())
	if err != nil {
		return err
	}
	v.Page = s.page(c, "Contact fields", "contact-fields")
	for _, f := range fields {
		v.Fields = append(v.Fields, views.ContactFieldRow{ID: f.ID, Label: f.Label, Key: f.Key, Kind: string(f.Kind), Choices: strings.Join(f.Choices, ", ")})
	}
	return render(c, status, views.ContactFields(v))
}

func (s *Server) createContactField(c echo.Context) error {
	in := inbox.ContactFieldInput{Label: c.FormValue("label"), Kind: c.FormValue("kind"), Choices: c.FormValue("choices")}
	f, err := s.Inbox.CreateContactField(c.Request().Context(), principalOf(c), in)
	var fe inbox.FieldErrors
	if errors.As(err, &fe) {
		return s.renderContactFields(c, http.StatusUnprocessableEntity, views.ContactFieldsView{Errors: fe,
			Form: views.ContactFieldRow{Label: in.Label, Kind: in.Kind, Choices: in.Choices}})
	}
	if err != nil {
		return err
	}
	return s.redirectWithFlash(c, "/settings/contact-fields", "Field "+f.Label+" added.")
}

func (s *Server) deleteContactField(c echo.Context) error {
	if err := s.Inbox.DeleteContactField(c.Request().Context(), principalOf(c), pathID(c)); err != nil {
		return err
	}
	return s.redirectWithFlash(c, "/settings/contact-fields", "Field deleted, with its values.")
}
