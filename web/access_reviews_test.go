package web_test

import (
	"context"
	"encoding/csv"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/app/apptest"
	"github.com/switchboard/switchboard/internal/authz"
	"github.com/switchboard/switchboard/internal/reviews"
)

func arID(n int64) string { return strconv.FormatInt(n, 10) }

// A full access review: the flags a reviewer sees, keep, change role and revoke applying at
// once as the reviewer, the refusals (own access, a reviewer who may not manage), the closed
// report as CSV and HTML, and every decision in the activity log.
func TestAccessReviewCampaign(t *testing.T) {
	in := apptest.Start(t)
	ctx := context.Background()
	ada := in.CreateMember("ada@example.com", "Ada", authz.RoleAdministrator, ownerPassword)
	bob := in.CreateMember("bob@example.com", "Bob", authz.RoleAdministrator, ownerPassword)
	cat := in.CreateMember("cat@example.com", "Cat", authz.RoleAgent, ownerPassword)
	dan := in.CreateMember("dan@example.com", "Dan", authz.RoleAnalyst, ownerPassword) // never signs in
	rev := in.CreateMember("rev@example.com", "Rev", authz.RoleAgent, ownerPassword)
	catClient := in.Client()
	catClient.SignIn("cat@example.com", ownerPassword)

	// A reviewer who holds access_reviews.manage but not members.manage.
	admin := in.Client()
	admin.SignIn("ada@example.com", ownerPassword)
	reviewers := createRole(t, admin, "Reviewers")
	toggle(t, admin, reviewers, "access_reviews.manage", true)
	if r := admin.PostForm("/members/"+arID(rev.ID)+"/role", url.Values{"role": {arID(reviewers)}}); r.Status != http.StatusSeeOther {
		t.Fatalf("make Rev a reviewer: %d %s", r.Status, r.Body)
	}

	// 91 days on: Cat has not been back, Dan never came; everyone's permissions are old enough
	// to be judged. Ada, Bob and Rev sign in again.
	in.Clock.Advance(91 * 24 * time.Hour)
	admin, bobClient, revClient := in.Client(), in.Client(), in.Client()
	admin.SignIn("ada@example.com", ownerPassword)
	bobClient.SignIn("bob@example.com", ownerPassword)
	revClient.SignIn("rev@example.com", ownerPassword)
	// Ada uses members.manage (traceable) within the window.
	if r := admin.PostForm("/members/"+arID(cat.ID)+"/sign-out", nil); r.Status != http.StatusSeeOther {
		t.Fatalf("end Cat's sessions: %d", r.Status)
	}
	catClient = in.Client()
	catClient.SignIn("cat@example.com", ownerPassword) // Cat is back now, so not inactive

	ov, err := in.App.Reviews.Overview(ctx)
	if err != nil {
		t.Fatal(err)
	}
	flags := map[string][]reviews.Flag{}
	for _, a := range ov.Members {
		flags[a.Member.Name] = a.Flags
		if a.Member.Name == "Ada" {
			if slices.Contains(a.Unused, authz.MembersManage) || !slices.Contains(a.Unused, authz.RolesManage) {
				t.Errorf("Ada's unused permissions: %v (members.manage was used, roles.manage not within 90 days)", a.Unused)
			}
			if a.LastActivity.IsZero() {
				t.Error("Ada's last activity is missing")
			}
		}
	}
	for name, want := range map[string][]reviews.Flag{
		"Ada": {reviews.FlagAdministrator, reviews.FlagUnusedPermissions},
		"Dan": {reviews.FlagInactive, reviews.FlagNeverSignedIn},
		"Cat": {reviews.FlagUnusedPermissions},
	} {
		if !slices.Equal(flags[name], want) && !(len(want) == 0 && len(flags[name]) == 0) {
			t.Errorf("%s flags %v, want %v", name, flags[name], want)
		}
	}
	page := admin.Get("/reviews")
	if page.Status != http.StatusOK || !strings.Contains(page.Body, "Never signed in") || !strings.Contains(page.Body, "leave no event") {
		t.Fatalf("reviews page: %d", page.Status)
	}

	// Bad input changes nothing.
	due := in.Clock.Now().AddDate(0, 0, 14).Format(time.DateOnly)
	if r := admin.PostForm("/reviews", url.Values{"title": {""}, "due": {"2001-01-01"}}); r.Status != http.StatusUnprocessableEntity ||
		!strings.Contains(r.Body, "Choose at least one reviewer") {
		t.Fatalf("invalid review: %d", r.Status)
	}
	if r := admin.PostForm("/reviews", url.Values{"title": {"Q3"}, "all": {"1"}, "due": {due}, "reviewer": {arID(ada.ID)}}); r.Status != http.StatusUnprocessableEntity ||
		!strings.Contains(r.Body, "nobody reviews themselves") {
		t.Fatalf("a lone reviewer under review was accepted: %d", r.Status)
	}
	if r := admin.PostForm("/reviews", url.Values{"title": {"Q3"}, "all": {"1"}, "due": {due}, "reviewer": {arID(ada.ID), arID(cat.ID)}}); r.Status != http.StatusUnprocessableEntity ||
		!strings.Contains(r.Body, "cannot review") {
		t.Fatalf("a reviewer without access_reviews.manage was accepted: %d", r.Status)
	}
	if n := arCount(t, in, `SELECT count(*) FROM access_review_campaigns`); n != 0 {
		t.Fatalf("%d campaigns after refusals", n)
	}

	r := admin.PostForm("/reviews", url.Values{"title": {"Q3 access review"}, "all": {"1"}, "due": {due},
		"reviewer": {arID(ada.ID), arID(bob.ID), arID(rev.ID)}})
	if r.Status != http.StatusSeeOther {
		t.Fatalf("open review: %d %s", r.Status, r.Body)
	}
	base := r.Location()
	items := reviewItemIDs(t, in)
	if len(items) != 5 {
		t.Fatalf("%d members under review, want 5", len(items))
	}
	if p := admin.Get(base); !strings.Contains(p.Body, "This is you") {
		t.Error("Ada's own item does not say another reviewer decides")
	}
	decide := func(c *apptest.Client, member int64, form url.Values) apptest.Response {
		return c.PostForm(base+"/items/"+arID(items[member]), form)
	}

	// Nobody reviews themselves.
	if r := decide(admin, ada.ID, url.Values{"decision": {"keep"}}); r.Status != http.StatusForbidden {
		t.Errorf("own review: %d", r.Status)
	}
	// Rev may review but not manage members: told so, and Cat keeps access.
	if r := decide(revClient, cat.ID, url.Values{"decision": {"revoke"}, "comment": {"left"}}); r.Status != http.StatusForbidden ||
		!strings.Contains(r.Body, "Manage members") {
		t.Errorf("revoke without members.manage: %d", r.Status)
	}
	if m, _ := in.App.Members.Store().ByID(ctx, cat.ID); !m.Active() {
		t.Fatal("Cat was deactivated by a reviewer who may not manage members")
	}
	// A change without a comment is refused.
	if r := decide(admin, cat.ID, url.Values{"decision": {"revoke"}}); r.Status != http.StatusUnprocessableEntity || !strings.Contains(r.Body, "Say why") {
		t.Errorf("revoke without comment: %d", r.Status)
	}
	// Keep, by the reviewer without members.manage.
	if r := decide(revClient, dan.ID, url.Values{"decision": {"keep"}, "comment": {"Quarterly reports"}}); r.Status != http.StatusSeeOther {
		t.Fatalf("keep Dan: %d %s", r.Status, r.Body)
	}
	// Revoke applies at once: Cat's next request is signed out.
	if r := decide(admin, cat.ID, url.Values{"decision": {"revoke"}, "comment": {"Left the company"}}); r.Status != http.StatusSeeOther {
		t.Fatalf("revoke Cat: %d %s", r.Status, r.Body)
	}
	if r := catClient.Get("/"); r.Status != http.StatusSeeOther || !strings.HasPrefix(r.Location(), "/login") {
		t.Errorf("Cat's next request after revoke: %d %s", r.Status, r.Location())
	}
	// Change role applies at once.
	analyst := roleID(t, in, authz.RoleAnalyst)
	if r := decide(admin, bob.ID, url.Values{"decision": {"change_role"}, "role": {arID(analyst)}, "comment": {"No longer runs the team"}}); r.Status != http.StatusSeeOther {
		t.Fatalf("change Bob's role: %d %s", r.Status, r.Body)
	}
	if m, _ := in.App.Members.Store().ByID(ctx, bob.ID); m.RoleKey != authz.RoleAnalyst {
		t.Errorf("Bob's role is %s", m.RoleKey)
	}
	// Bob lost access_reviews.manage with his role: he can no longer decide on Ada.
	bobClient.SignIn("bob@example.com", ownerPassword)
	if r := decide(bobClient, ada.ID, url.Values{"decision": {"keep"}}); r.Status != http.StatusForbidden {
		t.Errorf("decision by a former reviewer: %d", r.Status)
	}
	if r := decide(revClient, ada.ID, url.Values{"decision": {"keep"}, "comment": {"Owner"}}); r.Status != http.StatusSeeOther {
		t.Fatalf("keep Ada: %d", r.Status)
	}
	// Decided once: a second decision is refused.
	if r := decide(admin, dan.ID, url.Values{"decision": {"revoke"}, "comment": {"x"}}); r.Status != http.StatusConflict {
		t.Errorf("second decision: %d", r.Status)
	}

	// Close: Rev stays not reviewed, and the report is final.
	if r := admin.PostForm(base+"/close", nil); r.Status != http.StatusSeeOther {
		t.Fatalf("close: %d", r.Status)
	}
	if r := decide(admin, rev.ID, url.Values{"decision": {"keep"}}); r.Status != http.StatusConflict {
		t.Errorf("decision after close: %d", r.Status)
	}
	if _, err := in.App.DB.W.Exec(`UPDATE access_review_items SET comment = 'edited' WHERE member_id = ?`, cat.ID); err == nil {
		t.Error("a closed review's item was edited")
	}
	report := admin.Get(base + "/report")
	for _, want := range []string{"Deactivated; sessions ended", "Role Administrator → Analyst", "Not reviewed", "Left the company", "Save as PDF"} {
		if !strings.Contains(report.Body, want) {
			t.Errorf("report lacks %q", want)
		}
	}
	csvResp := admin.Get(base + "/report.csv")
	if csvResp.Status != http.StatusOK || !strings.HasPrefix(csvResp.Header.Get("Content-Type"), "text/csv") {
		t.Fatalf("csv: %d %s", csvResp.Status, csvResp.Header.Get("Content-Type"))
	}
	rows, err := csv.NewReader(strings.NewReader(csvResp.Body)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	byMember := map[string][]string{}
	for _, row := range rows[1:] {
		byMember[row[3]] = row
	}
	if row := byMember["Cat"]; row[8] != "Revoke" || row[11] != "Ada" || row[12] == "" || row[13] != "Deactivated; sessions ended" {
		t.Errorf("Cat's row: %v", row)
	}
	if row := byMember["Rev"]; row[8] != "Not reviewed" {
		t.Errorf("Rev's row: %v", row)
	}

	// Every decision is in the activity log, with the changes the members service recorded.
	for action, want := range map[string]int{"access_review.opened": 1, "access_review.decided": 4, "access_review.closed": 1,
		"member.deactivated": 1, "member.role_changed": 2} {
		if n := arCount(t, in, `SELECT count(*) FROM audit_events WHERE action = ? AND outcome = 'success'`, action); n != want {
			t.Errorf("%s events: %d, want %d", action, n, want)
		}
	}
}

// Pages and posts of access reviews are refused to a member without access_reviews.manage.
func TestAccessReviewsNeedThePermission(t *testing.T) {
	in := apptest.Start(t)
	in.CreateMember("ada@example.com", "Ada", authz.RoleAdministrator, ownerPassword)
	_, auditor := signedIn(t, in, "aud@example.com", authz.RoleAuditor)
	if r := auditor.Get("/reviews"); r.Status != http.StatusForbidden {
		t.Errorf("auditor GET /reviews: %d", r.Status)
	}
	if r := auditor.PostForm("/reviews", url.Values{"title": {"x"}, "all": {"1"}}); r.Status != http.StatusForbidden {
		t.Errorf("auditor POST /reviews: %d", r.Status)
	}
	if n := arCount(t, in, `SELECT count(*) FROM access_review_campaigns`); n != 0 {
		t.Errorf("%d campaigns", n)
	}
}

func reviewItemIDs(t *testing.T, in *apptest.Instance) map[int64]int64 {
	t.Helper()
	rows, err := in.App.DB.R.Query(`SELECT member_id, id FROM access_review_items`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[int64]int64{}
	for rows.Next() {
		var m, i int64
		if err := rows.Scan(&m, &i); err != nil {
			t.Fatal(err)
		}
		out[m] = i
	}
	return out
}

func arCount(t *testing.T, in *apptest.Instance, q string, args ...any) int {
	t.Helper()
	var n int
	if err := in.App.DB.R.QueryRow(q, args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}
