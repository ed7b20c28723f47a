package inbox

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/switchboard/switchboard/internal/authz"
)

func TestLabelsAreDefinedOnlyWithLabelsManage(t *testing.T) {
	f := newFixture(t)
	agent := f.member("Alan Agent", authz.RoleAgent)

	vip, err := f.svc.CreateLabel(f.ctx, f.admin, LabelInput{Name: "  VIP  ", Color: "purple", Description: "Our best customers"})
	if err != nil {
		t.Fatal(err)
	}
	if vip.Name != "VIP" || vip.Color != "purple" {
		t.Fatalf("created %+v", vip)
	}
	if _, err := f.svc.CreateLabel(f.ctx, f.admin, LabelInput{Name: "vip"}); err == nil || !strings.Contains(err.Error(), "name") {
		t.Fatalf("duplicate name (other case): err = %v, want a name error", err)
	}
	if _, err := f.svc.CreateLabel(f.ctx, f.admin, LabelInput{Name: "Refund", Color: "pink"}); err == nil {
		t.Fatal("a colour outside the palette was accepted")
	}

	// An agent may not define, rename or delete labels: refused, recorded, nothing changed.
	_, err = f.svc.CreateLabel(f.ctx, agent, LabelInput{Name: "Mine"})
	mustBe(t, err, ErrForbidden, "agent creates a label")
	_, err = f.svc.UpdateLabel(f.ctx, agent, vip.ID, LabelInput{Name: "Renamed"})
	mustBe(t, err, ErrForbidden, "agent renames a label")
	mustBe(t, f.svc.DeleteLabel(f.ctx, agent, vip.ID), ErrForbidden, "agent deletes a label")
	if n := f.count(`SELECT count(*) FROM labels WHERE name = 'VIP'`); n != 1 || f.count(`SELECT count(*) FROM labels`) != 1 {
		t.Fatal("a refused label change changed the labels")
	}
	if denied := f.events("label.deleted"); len(denied) != 1 || denied[0].Outcome != "denied" {
		t.Fatalf("refused delete recorded as %+v", denied)
	}

	if _, err := f.svc.UpdateLabel(f.ctx, f.admin, vip.ID, LabelInput{Name: "VIP customer", Color: "purple", Description: "Our best customers"}); err != nil {
		t.Fatal(err)
	}
	ev := f.events("label.updated")
	if len(ev) != 2 || ev[0].Outcome != "denied" || !strings.Contains(ev[1].Changes, "VIP customer") || strings.Contains(ev[1].Changes, "description") {
		t.Fatalf("update recorded as %+v (only the name changed)", ev)
	}
	if ev := f.events("label.created"); len(ev) != 2 || ev[0].Outcome != "success" || ev[1].Outcome != "denied" {
		t.Fatal("creation not recorded")
	}
}

func TestLabellingFollowsWhoMayWorkTheConversation(t *testing.T) {
	f := newFixture(t)
	agent := f.member("Alan Agent", authz.RoleAgent)
	other := f.member("Olga Other", authz.RoleAgent)
	analyst := f.member("Ana Analyst", authz.RoleAnalyst)
	conv := f.customerWrites("4915112340001", "Lena", "Hello")
	if err := f.svc.Assign(f.ctx, f.admin, conv, agent.MemberID); err != nil {
		t.Fatal(err)
	}
	vip, err := f.svc.CreateLabel(f.ctx, f.admin, LabelInput{Name: "VIP"})
	if err != nil {
		t.Fatal(err)
	}

	// The assignee labels it; doing it twice changes nothing and records once.
	for range 2 {
		if err := f.svc.LabelConversation(f.ctx, agent, conv, vip.ID, true); err != nil {
			t.Fatal(err)
		}
	}
	if got := f.events("conversation.labelled"); len(got) != 1 || !strings.Contains(got[0].Changes, "VIP") {
		t.Fatalf("labelling recorded as %+v", got)
	}
	// Another agent does not see it: 404, as if it did not exist. An analyst sees it but may
	// not work it: refused and recorded.
	mustBe(t, f.svc.LabelConversation(f.ctx, other, conv, vip.ID, false), ErrNotFound, "agent outside the conversation")
	mustBe(t, f.svc.LabelConversation(f.ctx, analyst, conv, vip.ID, false), ErrForbidden, "analyst")
	if n := f.count(`SELECT count(*) FROM conversation_labels WHERE conversation_id = ?`, conv); n != 1 {
		t.Fatalf("refused unlabelling removed the label (%d left)", n)
	}
	if got := f.events("conversation.unlabelled"); len(got) != 1 || got[0].Outcome != "denied" {
		t.Fatalf("refusal recorded as %+v", got)
	}
	if _, err := f.svc.ConversationLabels(f.ctx, other, conv); err == nil {
		t.Fatal("an agent outside the conversation read its labels")
	}
	var fe FieldErrors
	if err := f.svc.LabelConversation(f.ctx, agent, conv, 9999, true); !errorsAs(err, &fe) || fe["label"] == "" {
		t.Fatalf("unknown label: err = %v, want a label field error", err)
	}
	if err := f.svc.LabelConversation(f.ctx, agent, conv, vip.ID, false); err != nil {
		t.Fatal(err)
	}
	if n := f.count(`SELECT count(*) FROM conversation_labels`); n != 0 {
		t.Fatal("the assignee could not take the label off")
	}
}

// The label filter narrows what the visibility predicate admits and never widens it.
func TestLabelFilterKeepsVisibility(t *testing.T) {
	f := newFixture(t)
	agent := f.member("Alan Agent", authz.RoleAgent)
	scoped := f.member("Sue Supervisor", authz.RoleAdministrator, numberB)
	mine := f.customerWrites("4915112340001", "Lena", "Hello")
	notMine := f.customerWrites("4915112340002", "Max", "Hi")
	onB := f.customerWrites("4915112340003", "Mia", "Hey", metaNumberB)
	plain := f.customerWrites("4915112340004", "Noah", "Yo")
	if err := f.svc.Assign(f.ctx, f.admin, mine, agent.MemberID); err != nil {
		t.Fatal(err)
	}
	vip, _ := f.svc.CreateLabel(f.ctx, f.admin, LabelInput{Name: "VIP"})
	for _, c := range []int64{mine, notMine, onB} {
		if err := f.svc.LabelConversation(f.ctx, f.admin, c, vip.ID, true); err != nil {
			t.Fatal(err)
		}
	}
	if got := f.list(f.admin, ListQuery{Box: BoxAll, LabelID: vip.ID}); !slices.Equal(got, sorted(mine, notMine, onB)) {
		t.Fatalf("admin VIP = %v", got)
	}
	if got := f.list(agent, ListQuery{Box: BoxAll, LabelID: vip.ID}); !slices.Equal(got, []int64{mine}) {
		t.Fatalf("agent VIP = %v, want only the assigned one", got)
	}
	if got := f.list(scoped, ListQuery{Box: BoxAll, LabelID: vip.ID}); !slices.Equal(got, []int64{onB}) {
		t.Fatalf("number-scoped VIP = %v, want only number B's", got)
	}
	if got := f.list(f.admin, ListQuery{Box: BoxAll}); !slices.Contains(got, plain) {
		t.Fatal("without a filter the unlabelled conversation is missing")
	}
	page, err := f.svc.List(f.ctx, f.admin, ListQuery{Box: BoxAll, LabelID: vip.ID})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range page.Conversations {
		if len(c.Labels) != 1 || c.Labels[0].Name != "VIP" {
			t.Fatalf("conversation %d listed with labels %+v", c.ID, c.Labels)
		}
	}
}

func sorted(ids ...int64) []int64 { slices.Sort(ids); return ids }

func errorsAs(err error, target any) bool { return errors.As(err, target) }
