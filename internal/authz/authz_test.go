package authz

import (
	"regexp"
	"strings"
	"testing"
)

func TestCatalogueIDsAreUniqueAndWellFormed(t *testing.T) {
	idForm := regexp.MustCompile(`^[a-z_]+(\.[a-z_]+)+$`)
	seen, labels := map[string]bool{}, map[string]bool{}
	for _, d := range All() {
		if !idForm.MatchString(d.ID) {
			t.Errorf("permission id %q is not dotted lower case", d.ID)
		}
		if seen[d.ID] {
			t.Errorf("permission id %q appears twice", d.ID)
		}
		seen[d.ID] = true
		if d.Description == "" || d.Area.Key == "" {
			t.Errorf("permission %q lacks a description or area", d.ID)
		}
		// People read the label: it is words, not an id, and no two permissions share one.
		if d.Label == "" || strings.ContainsAny(d.Label, "._") || labels[d.Label] {
			t.Errorf("permission %q has the label %q: want a unique label in words", d.ID, d.Label)
		}
		labels[d.Label] = true
		p, err := Parse(d.ID)
		if err != nil || p != d.Permission {
			t.Errorf("Parse(%q) = %v, %v; want %v", d.ID, p, err, d.Permission)
		}
	}
	// 35 from the first specification, and the four of "Added after the first build".
	if len(seen) != 39 {
		t.Errorf("catalogue has %d permissions, the specification lists 39", len(seen))
	}
	for _, id := range []string{"labels.manage", "campaigns.manage", "campaigns.approve", "automation.manage"} {
		if !seen[id] {
			t.Errorf("catalogue lacks %q", id)
		}
	}
}

func TestParseRefusesUnknownIDs(t *testing.T) {
	for _, id := range []string{"", "members", "members.view.extra", "MEMBERS.VIEW", "invalid"} {
		if _, err := Parse(id); err == nil {
			t.Errorf("Parse(%q) succeeded", id)
		}
	}
	if _, err := ParseSet([]string{"members.view", "nope.nope"}); err == nil {
		t.Error("ParseSet accepted an unknown id")
	}
}

func TestSetOperations(t *testing.T) {
	s := NewSet(MembersView, BillingManage)
	if !s.Has(MembersView) || !s.Has(BillingManage) || s.Has(MembersManage) {
		t.Fatalf("Has wrong on %v", s)
	}
	if s.Has(invalidPermission) || s.Has(permissionCount) || s.Has(Permission(200)) {
		t.Error("an invalid permission is held")
	}
	if s.Len() != 2 {
		t.Errorf("Len = %d", s.Len())
	}
	if !s.SubsetOf(FullSet()) || FullSet().SubsetOf(s) {
		t.Error("SubsetOf wrong")
	}
	if got := s.Without(MembersView); got.Has(MembersView) || !got.Has(BillingManage) {
		t.Error("Without wrong")
	}
	if got := FullSet().Minus(s); got.Has(MembersView) || !got.Has(MembersInvite) {
		t.Error("Minus wrong")
	}
	back, err := ParseSet(s.IDs())
	if err != nil || back != s {
		t.Errorf("round trip: %v %v", back, err)
	}
}

func TestBuiltinRolesMatchSpecification(t *testing.T) {
	want := map[string][]string{
		RoleAgent: {"conversations.view_assigned", "conversations.escalate", "messages.send_text", "messages.send_media",
			"messages.send_template", "messages.send_canned", "templates.view", "numbers.view"},
		RoleSupport:   {"conversations.view_assigned", "conversations.escalate", "messages.send_canned", "messages.send_template", "templates.view"},
		RoleDeveloper: {"api_keys.manage", "webhooks.manage", "integrations.manage", "api_logs.view", "templates.view", "numbers.view"},
		RoleAnalyst:   {"analytics.view", "reports.export", "conversations.view_all", "templates.view", "numbers.view"},
		RoleAuditor:   {"audit.view", "audit.export", "members.view", "alerts.view"},
	}
	for key, ids := range want {
		r, ok := LookupBuiltinRole(key)
		if !ok {
			t.Fatalf("built-in role %q missing", key)
		}
		ws, err := ParseSet(ids)
		if err != nil {
			t.Fatal(err)
		}
		if r.Permissions != ws {
			t.Errorf("%s: got %v\nwant %v", key, r.Permissions, ws)
		}
	}
	admin, _ := LookupBuiltinRole(RoleAdministrator)
	if admin.Permissions != FullSet() {
		t.Error("Administrator must hold every permission")
	}
	for _, r := range BuiltinRoles() {
		wantTwoFactor := r.Key == RoleAdministrator || r.Key == RoleDeveloper
		if r.RequiresTwoFactor != wantTwoFactor {
			t.Errorf("%s requires 2FA = %v", r.Key, r.RequiresTwoFactor)
		}
	}
	if r, _ := LookupBuiltinRole(RoleAnalyst); r.Permissions.Has(MessagesSendText) {
		t.Error("Analyst must not send")
	}
}

func TestRequirementDeniesByDefault(t *testing.T) {
	agent, _ := LookupBuiltinRole(RoleAgent)
	p := &Principal{MemberID: 1, Permissions: agent.Permissions}
	cases := []struct {
		name string
		req  Requirement
		p    *Principal
		want bool
	}{
		{"undeclared denies a member", Requirement{}, p, false},
		{"undeclared denies anonymous", Requirement{}, nil, false},
		{"public allows anonymous", Public(), nil, true},
		{"signed-in refuses anonymous", SignedIn(), nil, false},
		{"signed-in allows a member", SignedIn(), p, true},
		{"held permission allows", Require(MessagesSendText), p, true},
		{"missing permission denies", Require(MembersManage), p, false},
		{"permission denies anonymous", Require(MessagesSendText), nil, false},
		{"invalid permission is undeclared", Require(Permission(250)), p, false},
		{"any of, one held", RequireAny(ConversationsViewAll, ConversationsViewAssigned), p, true},
		{"any of, none held", RequireAny(ConversationsViewAll, BillingManage), p, false},
		{"any of, anonymous", RequireAny(ConversationsViewAssigned), nil, false},
		{"any of nothing is undeclared", RequireAny(), p, false},
	}
	for _, c := range cases {
		if got := c.req.Allows(c.p); got != c.want {
			t.Errorf("%s: Allows = %v, want %v", c.name, got, c.want)
		}
	}
	if Require(Permission(250)).Declared() {
		t.Error("a requirement on an invalid permission counts as declared")
	}
}

func BenchmarkCan(b *testing.B) {
	agent, _ := LookupBuiltinRole(RoleAgent)
	p := &Principal{MemberID: 7, Permissions: agent.Permissions}
	perms := []Permission{MessagesSendText, MembersManage, TemplatesView, BillingManage}
	b.ReportAllocs()
	var n int
	for i := 0; b.Loop(); i++ {
		if p.Can(perms[i&3]) {
			n++
		}
	}
	if n == 0 {
		b.Fatal("no check passed")
	}
}

func TestConversationVisibility(t *testing.T) {
	agent, _ := LookupBuiltinRole(RoleAgent)
	analyst, _ := LookupBuiltinRole(RoleAnalyst)
	auditor, _ := LookupBuiltinRole(RoleAuditor)
	scopedAgent := &Principal{MemberID: 7, Permissions: agent.Permissions, Numbers: NumberScope{IDs: []int64{1}}}
	allAnalyst := &Principal{MemberID: 8, Permissions: analyst.Permissions, Numbers: NumberScope{All: true}}
	noNumbers := &Principal{MemberID: 9, Permissions: analyst.Permissions}
	cases := []struct {
		name string
		p    *Principal
		c    ConversationFacts
		want bool
	}{
		{"agent sees own assignment on own number", scopedAgent, ConversationFacts{PhoneNumberID: 1, AssigneeID: 7}, true},
		{"agent sees what they escalated", scopedAgent, ConversationFacts{PhoneNumberID: 1, AssigneeID: 3, InvolvedMembers: []int64{7}}, true},
		{"agent does not see another's conversation", scopedAgent, ConversationFacts{PhoneNumberID: 1, AssigneeID: 3}, false},
		{"agent does not see unassigned", scopedAgent, ConversationFacts{PhoneNumberID: 1}, false},
		{"agent does not see other numbers even if assigned", scopedAgent, ConversationFacts{PhoneNumberID: 2, AssigneeID: 7}, false},
		{"analyst sees everything in scope", allAnalyst, ConversationFacts{PhoneNumberID: 5, AssigneeID: 3}, true},
		{"empty number scope sees nothing", noNumbers, ConversationFacts{PhoneNumberID: 1}, false},
		{"no inbox permission sees nothing", &Principal{MemberID: 1, Permissions: auditor.Permissions, Numbers: NumberScope{All: true}}, ConversationFacts{PhoneNumberID: 1, AssigneeID: 1}, false},
		{"nil principal sees nothing", nil, ConversationFacts{PhoneNumberID: 1}, false},
	}
	for _, c := range cases {
		if got := c.p.Conversations().Allows(c.c); got != c.want {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}
}
