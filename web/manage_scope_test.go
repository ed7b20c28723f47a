package web_test

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/switchboard/switchboard/internal/app/apptest"
	"github.com/switchboard/switchboard/internal/authz"
	"github.com/switchboard/switchboard/internal/members"
)

// A supervisor who manages members in one phone number must not reach a member of every number
// through any route: the page offers no controls and says why, and each forbidden POST is
// refused and changes nothing.
func TestAScopedManagerIsRefusedOnAWiderMemberAtEveryRoute(t *testing.T) {
	in := apptest.Start(t)
	in.ConnectSandbox()
	ctx := context.Background()
	numbers, err := in.App.Workspace.Store().PhoneNumbers(ctx)
	if err != nil || len(numbers) < 2 {
		t.Fatalf("sandbox numbers: %v %d", err, len(numbers))
	}
	admin := in.CreateMember("admin@example.com", "Ada Admin", authz.RoleAdministrator, ownerPassword)
	pa, _, err := in.App.Members.Store().Principal(ctx, admin.ID)
	if err != nil {
		t.Fatal(err)
	}
	agentPerms := authz.BuiltinRoles()[1].Permissions // Agent
	supRole, err := in.App.Members.CreateRole(ctx, pa, members.RoleInput{Name: "Floor supervisor"},
		agentPerms.With(authz.MembersView).With(authz.MembersManage).With(authz.ConversationsViewAll))
	if err != nil {
		t.Fatal(err)
	}
	sup := in.CreateMember("sup@example.com", "Sam Supervisor", authz.RoleAgent, ownerPassword)
	if err := in.App.Members.ChangeRole(ctx, pa, sup.ID, supRole.ID); err != nil {
		t.Fatal(err)
	}
	if err := in.App.Members.SetNumberScope(ctx, pa, sup.ID, false, []int64{numbers[0].ID}); err != nil {
		t.Fatal(err)
	}
	wide := in.CreateMember("wide@example.com", "Wendy Wide", authz.RoleAgent, ownerPassword)
	c := in.Client()
	c.SignIn("sup@example.com", ownerPassword)

	id := strconv.FormatInt(wide.ID, 10)
	page := c.Get("/members/" + id)
	if page.Status != http.StatusOK {
		t.Fatalf("member page: %d", page.Status)
	}
	if strings.Contains(page.Body, `action="/members/`+id+`/role"`) || !strings.Contains(page.Body, "works in phone numbers you do not work in") {
		t.Errorf("the page offers controls it would refuse, or does not say why:\n%s", page.Body)
	}
	for _, post := range []struct {
		path string
		form url.Values
	}{
		{"/role", url.Values{"role": {strconv.FormatInt(supRole.ID, 10)}}},
		{"/numbers", url.Values{"numbers": {strconv.FormatInt(numbers[0].ID, 10)}}},
		{"/deactivate", nil},
		{"/sign-out", nil},
		{"/delete", nil},
	} {
		if r := c.PostForm("/members/"+id+post.path, post.form); r.Status != http.StatusForbidden {
			t.Errorf("POST %s: %d, want 403", post.path, r.Status)
		}
	}
	got, err := in.App.Members.Store().ByID(ctx, wide.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.RoleKey != authz.RoleAgent || !got.AllNumbers || !got.Active() {
		t.Fatalf("refused requests changed the member: %+v", got)
	}
}
