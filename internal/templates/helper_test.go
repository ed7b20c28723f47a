package templates

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/audit"
	"github.com/switchboard/switchboard/internal/authz"
	"github.com/switchboard/switchboard/internal/clock"
	"github.com/switchboard/switchboard/internal/db"
)

const testWABA = "102290129340398"

// fixture is a migrated database in a temporary directory with a service over it, a fake Meta
// and members in several roles.
type fixture struct {
	db    *db.DB
	svc   *Service
	log   *audit.Log
	meta  *fakeMeta
	clk   *clock.Fake
	scope map[int64]Scope // by member id; All when absent

	author, reviewer, admin, viewer, outsider *authz.Principal
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	ctx := context.Background()
	d := openDB(t)
	t.Cleanup(func() { d.Close() })
	clk := clock.NewFake(time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC))
	f := &fixture{db: d, meta: newFakeMeta(), clk: clk, scope: map[int64]Scope{}}
	f.log = audit.New(d, clk)
	scope := func(_ context.Context, p *authz.Principal) (Scope, error) {
		if s, ok := f.scope[p.MemberID]; ok {
			return s, nil
		}
		return Scope{All: true}, nil
	}
	f.svc = NewService(d, NewStore(d), f.log, f.meta, scope, clk)

	res, err := d.W.ExecContext(ctx, `INSERT INTO roles (key, name, created_at, updated_at) VALUES ('templates_test', 'Templates test', 0, 0)`)
	if err != nil {
		t.Fatalf("insert role: %v", err)
	}
	roleID, _ := res.LastInsertId()
	member := func(name string, perms authz.Set) *authz.Principal {
		res, err := d.W.ExecContext(ctx, `INSERT INTO members (email, name, password_hash, role_id, created_at, updated_at)
			VALUES (?, ?, 'x', ?, 0, 0)`, strings.ToLower(name)+"@example.com", name, roleID)
		if err != nil {
			t.Fatalf("insert member: %v", err)
		}
		id, _ := res.LastInsertId()
		return &authz.Principal{MemberID: id, Name: name, Permissions: perms, Numbers: authz.NumberScope{All: true}}
	}
	f.author = member("Ada", authz.NewSet(authz.TemplatesView, authz.TemplatesCreate))
	f.reviewer = member("Rui", authz.NewSet(authz.TemplatesView, authz.TemplatesCreate, authz.TemplatesApprove))
	f.admin = member("Alma", authz.FullSet())
	f.viewer = member("Vic", authz.NewSet(authz.TemplatesView))
	f.outsider = member("Otto", authz.FullSet())
	f.scope[f.outsider.MemberID] = Scope{WABAIDs: []string{"999"}}
	return f
}

// openDB opens a migrated database. Other areas add migrations concurrently; one that is broken
// for a moment is waited for rather than failing this package's tests.
func openDB(t *testing.T) *db.DB {
	t.Helper()
	var lastErr error
	for range 10 {
		d, err := db.Open(context.Background(), t.TempDir())
		if err == nil {
			return d
		}
		lastErr = err
		time.Sleep(3 * time.Second)
	}
	t.Fatalf("open database: %v", lastErr)
	return nil
}

// validDraft is a template that passes every rule.
func validDraft() Draft {
	return Draft{
		WABAID: testWABA, Name: "order_shipped", Language: "en_US",
		Content: Content{
			Category:        CategoryUtility,
			ParameterFormat: ParameterFormatPositional,
			Header:          Header{Format: HeaderText, Text: "Order {{1}}", Example: "#123"},
			Body: Body{Text: "Hi {{1}}, your order {{2}} has shipped and arrives soon.",
				Examples: map[string]string{"1": "Pablo", "2": "860198"}},
			Footer: "Lucky Shrub",
			Buttons: []Button{
				{Type: ButtonQuickReply, Text: "Stop"},
				{Type: ButtonURL, Text: "Track", URL: "https://x.com/t/{{1}}", Example: "abc"},
			},
		},
	}
}

// approved takes a fresh draft by the author through review to internal approval.
func (f *fixture) approved(t *testing.T, d Draft) Template {
	t.Helper()
	ctx := t.Context()
	tpl := f.must(t)(f.svc.CreateDraft(ctx, f.author, d))
	f.must(t)(f.svc.SubmitForReview(ctx, f.author, tpl.ID))
	return f.must(t)(f.svc.Approve(ctx, f.reviewer, tpl.ID, "fine"))
}

// live takes a fresh draft to Meta and has Meta approve it.
func (f *fixture) live(t *testing.T, d Draft) Template {
	t.Helper()
	tpl := f.approved(t, d)
	tpl = f.must(t)(f.svc.SubmitToMeta(t.Context(), f.reviewer, tpl.ID))
	tpl, _ = f.apply(t, tpl, EventApproved, "")
	return tpl
}

func (f *fixture) apply(t *testing.T, tpl Template, ev MetaEvent, reason string) (Template, bool) {
	t.Helper()
	got, changed, err := f.svc.ApplyMetaStatus(t.Context(), StatusUpdate{WABAID: tpl.WABAID, MetaTemplateID: tpl.MetaTemplateID, Event: ev, Reason: reason})
	if err != nil {
		t.Fatalf("apply %s: %v", ev, err)
	}
	return got, changed
}

func (f *fixture) must(t *testing.T) func(Template, error) Template {
	return func(tpl Template, err error) Template {
		t.Helper()
		if err != nil {
			t.Fatalf("unexpected error: %v", err)
		}
		return tpl
	}
}

func (f *fixture) get(t *testing.T, id int64) Template {
	t.Helper()
	return f.must(t)(f.svc.Get(t.Context(), f.admin, id))
}

// events returns the activity log's events about templates, oldest first.
func (f *fixture) events(t *testing.T) []audit.Event {
	t.Helper()
	evs, _, err := f.log.List(t.Context(), audit.ListQuery{Limit: 500})
	if err != nil {
		t.Fatalf("list events: %v", err)
	}
	var out []audit.Event
	for i := len(evs) - 1; i >= 0; i-- {
		if evs[i].Target.Type == "template" || strings.HasPrefix(evs[i].Action, "template.") {
			out = append(out, evs[i])
		}
	}
	return out
}

func (f *fixture) lastEvent(t *testing.T) audit.Event {
	t.Helper()
	evs := f.events(t)
	if len(evs) == 0 {
		t.Fatal("no template events")
	}
	return evs[len(evs)-1]
}

// snapshot is the content of the templates tables, to show that a refused action changed nothing.
func (f *fixture) snapshot(t *testing.T) string {
	t.Helper()
	var b strings.Builder
	for _, q := range []string{
		`SELECT id, waba_id, name, language, meta_template_id, meta_status, meta_flagged, rejected_reason, updated_at, coalesce(deleted_at, 0) FROM templates ORDER BY id`,
		`SELECT id, template_id, number, status, coalesce(author_id, 0), body_text, updated_at FROM template_revisions ORDER BY id`,
		`SELECT count(*) FROM template_decisions`,
	} {
		rows, err := f.db.R.QueryContext(t.Context(), q)
		if err != nil {
			t.Fatalf("snapshot: %v", err)
		}
		cols, _ := rows.Columns()
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatalf("snapshot: %v", err)
			}
			fmt.Fprintln(&b, vals...)
		}
		rows.Close()
	}
	return b.String()
}

func changeOf(ev audit.Event, field string) (audit.Change, bool) {
	for _, c := range ev.Changes {
		if c.Field == field {
			return c, true
		}
	}
	return audit.Change{}, false
}

// fakeMeta is Meta's template management in memory.
type fakeMeta struct {
	mu      sync.Mutex
	nextID  int
	created []CreateRequest
	edited  map[string][]EditRequest
	deleted []string // "name/id"
	pages   map[string]ListPage
	listed  []string // the after cursor of each ListTemplates call
	// err fails every call; createStatus is the status a creation answers.
	err          error
	createStatus string
}

func newFakeMeta() *fakeMeta {
	return &fakeMeta{nextID: 1689556908129832, edited: map[string][]EditRequest{}, pages: map[string]ListPage{}, createStatus: "PENDING"}
}

func (m *fakeMeta) CreateTemplate(_ context.Context, wabaID string, req CreateRequest) (CreateResult, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.err != nil {
		return CreateResult{}, m.err
	}
	if wabaID == "" {
		return CreateResult{}, errors.New("no WABA")
	}
	m.created = append(m.created, req)
	m.nextID++
	return CreateResult{ID: fmt.Sprint(m.nextID), Status: m.createStatus, Category: req.Category}, nil
}

func (m *fakeMeta) EditTemplate(_ context.Context, id string, req EditRequest) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.err != nil {
		return m.err
	}
	m.edited[id] = append(m.edited[id], req)
	return nil
}

func (m *fakeMeta) ListTemplates(_ context.Context, _ string, after string) (ListPage, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.listed = append(m.listed, after)
	if m.err != nil {
		return ListPage{}, m.err
	}
	p, ok := m.pages[after]
	if !ok {
		return ListPage{}, fmt.Errorf("unknown cursor %q", after)
	}
	return p, nil
}

func (m *fakeMeta) DeleteTemplate(_ context.Context, _ string, name, id string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.err != nil {
		return m.err
	}
	m.deleted = append(m.deleted, name+"/"+id)
	return nil
}
