package web

import (
	"cmp"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/switchboard/switchboard/internal/audit"
	"github.com/switchboard/switchboard/internal/members"
	"github.com/switchboard/switchboard/internal/templates"
)

type apiTemplate struct {
	ID         int64             `json:"id"`
	WABAID     string            `json:"waba_id"`
	Name       string            `json:"name"`
	Language   string            `json:"language"`
	Status     string            `json:"status"`
	MetaStatus string            `json:"meta_status"`
	Quality    string            `json:"quality"`
	Content    templates.Content `json:"content"`
	CreatedAt  string            `json:"created_at"`
	UpdatedAt  string            `json:"updated_at"`
}

func toAPITemplate(t templates.Template) apiTemplate {
	return apiTemplate{ID: t.ID, WABAID: t.WABAID, Name: t.Name, Language: t.Language, Status: string(t.Status),
		MetaStatus: string(t.MetaStatus), Quality: t.QualityScore, Content: t.Content,
		CreatedAt: *apiTime(t.CreatedAt), UpdatedAt: *apiTime(t.UpdatedAt)}
}

func (s *Server) apiListTemplates(c echo.Context) error {
	limit, err := limitParam(c, 100, 500)
	if err != nil {
		return err
	}
	after, err := afterCursor(c)
	if err != nil {
		return err
	}
	list, err := s.Templates.List(c.Request().Context(), principalOf(c), templates.ListFilter{
		Status: templates.Status(c.QueryParam("status")), Language: c.QueryParam("language"), NameContains: c.QueryParam("name"), Limit: 500})
	if err != nil {
		return err
	}
	// A workspace holds a few hundred templates at most: the page is cut from the whole list.
	items := []apiTemplate{}
	next := ""
	for _, t := range sortByID(list, func(t templates.Template) int64 { return t.ID }) {
		if t.ID <= after {
			continue
		}
		if len(items) == limit {
			next = strconv.FormatInt(items[len(items)-1].ID, 10)
			break
		}
		items = append(items, toAPITemplate(t))
	}
	return c.JSON(http.StatusOK, newPage(items, next))
}

func (s *Server) apiGetTemplate(c echo.Context) error {
	id, err := apiPathID(c, "id")
	if err != nil {
		return err
	}
	t, err := s.Templates.Get(c.Request().Context(), principalOf(c), id)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, toAPITemplate(t))
}

type apiNumberScope struct {
	All       bool    `json:"all"`
	NumberIDs []int64 `json:"number_ids"`
}

type apiMember struct {
	ID               int64          `json:"id"`
	Name             string         `json:"name"`
	Email            string         `json:"email"`
	Role             apiMemberRef   `json:"role"`
	Status           string         `json:"status"`
	Numbers          apiNumberScope `json:"numbers"`
	TwoFactorEnabled bool           `json:"two_factor_enabled"`
	LastSignInAt     *string        `json:"last_sign_in_at"`
	CreatedAt        string         `json:"created_at"`
}

func toAPIMember(m members.Member) apiMember {
	ids := m.NumberIDs
	if ids == nil || m.AllNumbers {
		ids = []int64{}
	}
	return apiMember{ID: m.ID, Name: m.Name, Email: m.Email, Role: apiMemberRef{ID: m.RoleID, Name: m.RoleName}, Status: string(m.Status),
		Numbers: apiNumberScope{All: m.AllNumbers, NumberIDs: ids}, TwoFactorEnabled: m.TwoFactorEnabled,
		LastSignInAt: apiTime(m.LastSignInAt), CreatedAt: *apiTime(m.CreatedAt)}
}

func (s *Server) apiListMembers(c echo.Context) error {
	limit, err := limitParam(c, 100, 500)
	if err != nil {
		return err
	}
	after, err := afterCursor(c)
	if err != nil {
		return err
	}
	list, err := s.Members.Store().List(c.Request().Context())
	if err != nil {
		return err
	}
	items := []apiMember{}
	next := ""
	for _, m := range sortByID(list, func(m members.Member) int64 { return m.ID }) {
		if m.ID <= after {
			continue
		}
		if len(items) == limit {
			next = strconv.FormatInt(items[len(items)-1].ID, 10)
			break
		}
		items = append(items, toAPIMember(m))
	}
	return c.JSON(http.StatusOK, newPage(items, next))
}

func (s *Server) apiMemberAnswer(c echo.Context, status int, id int64) error {
	m, err := s.Members.Store().ByID(c.Request().Context(), id)
	if err != nil {
		return err
	}
	return c.JSON(status, toAPIMember(m))
}

func (s *Server) apiChangeMemberRole(c echo.Context) error {
	id, err := apiPathID(c, "id")
	if err != nil {
		return err
	}
	var in roleRequest
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	if err := s.Members.ChangeRole(c.Request().Context(), principalOf(c), id, in.RoleID); err != nil {
		return err
	}
	return s.apiMemberAnswer(c, http.StatusOK, id)
}

func (s *Server) apiSetMemberNumbers(c echo.Context) error {
	id, err := apiPathID(c, "id")
	if err != nil {
		return err
	}
	var in apiNumberScope
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	if err := s.Members.SetNumberScope(c.Request().Context(), principalOf(c), id, in.All, in.NumberIDs); err != nil {
		return err
	}
	return s.apiMemberAnswer(c, http.StatusOK, id)
}

func (s *Server) apiDeactivateMember(c echo.Context) error {
	id, err := apiPathID(c, "id")
	if err != nil {
		return err
	}
	if err := s.Members.Deactivate(c.Request().Context(), principalOf(c), id); err != nil {
		return err
	}
	return s.apiMemberAnswer(c, http.StatusOK, id)
}

type (
	roleRequest struct {
		RoleID int64 `json:"role_id"`
	}
	inviteRequest struct {
		Email   string         `json:"email"`
		RoleID  int64          `json:"role_id"`
		Numbers apiNumberScope `json:"numbers"`
	}
)

type apiInvitation struct {
	ID        int64          `json:"id"`
	Email     string         `json:"email"`
	Role      apiMemberRef   `json:"role"`
	Numbers   apiNumberScope `json:"numbers"`
	ExpiresAt string         `json:"expires_at"`
	// AcceptURL is the single-use link for the invitee, returned once.
	AcceptURL string `json:"accept_url"`
}

func (s *Server) apiInvite(c echo.Context) error {
	var in inviteRequest
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	inv, token, err := s.Members.Invite(c.Request().Context(), principalOf(c), members.InviteInput{
		Email: in.Email, RoleID: in.RoleID, AllNumbers: in.Numbers.All, NumberIDs: in.Numbers.NumberIDs})
	if err != nil {
		return err
	}
	ids := inv.NumberIDs
	if ids == nil {
		ids = []int64{}
	}
	link := strings.TrimSuffix(s.Config.BaseURL.String(), "/") + "/invitations/" + url.PathEscape(token)
	return c.JSON(http.StatusCreated, apiInvitation{ID: inv.ID, Email: inv.Email, Role: apiMemberRef{ID: inv.RoleID, Name: inv.RoleName},
		Numbers: apiNumberScope{All: inv.AllNumbers, NumberIDs: ids}, ExpiresAt: *apiTime(inv.ExpiresAt), AcceptURL: link})
}

type apiActor struct {
	Type string `json:"type"`
	ID   string `json:"id"`
	Name string `json:"name"`
}

type apiTarget struct {
	Type string `json:"type"`
	ID   string `json:"id"`
}

type apiEvent struct {
	ID         int64          `json:"id"`
	At         string         `json:"at"`
	Actor      apiActor       `json:"actor"`
	Action     string         `json:"action"`
	Target     apiTarget      `json:"target"`
	Changes    []audit.Change `json:"changes"`
	Outcome    string         `json:"outcome"`
	ClientAddr string         `json:"client_addr"`
	UserAgent  string         `json:"user_agent"`
	RequestID  string         `json:"request_id"`
	Hash       string         `json:"hash"`
}

func (s *Server) apiListActivity(c echo.Context) error {
	limit, err := limitParam(c, 50, 500)
	if err != nil {
		return err
	}
	values := c.QueryParams()
	q := s.parseActivityQuery(values)
	if len(q.Errors) > 0 {
		return fieldMapProblem(q.Errors)
	}
	// Events come newest first: the cursor is the id to continue below.
	before, err := afterCursor(c)
	if err != nil {
		return err
	}
	events, pg, err := s.Audit.List(c.Request().Context(), audit.ListQuery{Filter: q.Filter, BeforeID: before, Limit: limit})
	if err != nil {
		return err
	}
	items := make([]apiEvent, 0, len(events))
	for _, ev := range events {
		changes := ev.Changes
		if changes == nil {
			changes = []audit.Change{}
		}
		items = append(items, apiEvent{ID: ev.ID, At: ev.At.UTC().Format("2006-01-02T15:04:05.000Z07:00"),
			Actor: apiActor{Type: string(ev.Actor.Type), ID: ev.Actor.ID, Name: ev.Actor.Name}, Action: ev.Action,
			Target: apiTarget{Type: ev.Target.Type, ID: ev.Target.ID}, Changes: changes, Outcome: string(ev.Outcome),
			ClientAddr: ev.ClientAddr, UserAgent: ev.UserAgent, RequestID: ev.RequestID, Hash: ev.Hash})
	}
	next := ""
	if pg.HasOlder && pg.Before > 0 {
		next = strconv.FormatInt(pg.Before, 10)
	}
	return c.JSON(http.StatusOK, newPage(items, next))
}

func fieldMapProblem(fm map[string]string) error {
	e := &apiError{kind: problemValidation}
	for _, f := range sortedKeys(fm) {
		e.fields = append(e.fields, FieldProblem{Field: f, Detail: fm[f]})
	}
	e.detail = "Check " + strings.Join(sortedKeys(fm), ", ") + "."
	return e
}

// afterCursor reads ?cursor= as an id (the next_cursor of the previous page).
func afterCursor(c echo.Context) (int64, error) {
	v := c.QueryParam("cursor")
	if v == "" {
		return 0, nil
	}
	id, err := strconv.ParseInt(v, 10, 64)
	if err != nil || id <= 0 {
		return 0, fieldProblem("cursor", "Use the next_cursor of the previous page.")
	}
	return id, nil
}

func sortByID[T any](items []T, id func(T) int64) []T {
	out := slices.Clone(items)
	slices.SortFunc(out, func(a, b T) int { return cmp.Compare(id(a), id(b)) })
	return out
}
