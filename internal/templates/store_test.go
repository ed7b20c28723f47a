package templates

import (
	"strings"
	"testing"
	"time"
)

func TestStatusChangesForAuthor(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	since := f.clk.Now()
	f.clk.Advance(time.Second)
	tpl := f.must(t)(f.svc.CreateDraft(ctx, f.author, validDraft()))
	f.must(t)(f.svc.SubmitForReview(ctx, f.author, tpl.ID))
	f.must(t)(f.svc.SendBack(ctx, f.reviewer, tpl.ID, "Shorter, please."))
	f.must(t)(f.svc.SubmitForReview(ctx, f.author, tpl.ID))
	f.must(t)(f.svc.Approve(ctx, f.reviewer, tpl.ID, ""))
	tpl = f.must(t)(f.svc.SubmitToMeta(ctx, f.reviewer, tpl.ID))
	f.apply(t, tpl, EventRejected, "PROMOTIONAL")

	changes, err := f.svc.Store().StatusChangesFor(ctx, f.author.MemberID, since)
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, c := range changes {
		kinds = append(kinds, string(c.Kind))
		if c.TemplateName != "order_shipped" || c.ActorID == f.author.MemberID {
			t.Fatalf("change %+v", c)
		}
	}
	if strings.Join(kinds, " ") != "meta_status submitted_to_meta approved sent_back" {
		t.Fatalf("kinds %v", kinds)
	}
	if changes[0].Comment != "PROMOTIONAL" || changes[0].ToMetaStatus != MetaRejected || changes[3].Comment != "Shorter, please." {
		t.Fatalf("changes %+v", changes)
	}
	if mine, _ := f.svc.StatusChanges(ctx, f.author, since); len(mine) != 4 {
		t.Fatalf("service: %d", len(mine))
	}
	if later, _ := f.svc.Store().StatusChangesFor(ctx, f.author.MemberID, f.clk.Now()); len(later) != 0 {
		t.Fatalf("since now: %+v", later)
	}
}

func TestListFilters(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	mk := func(name, lang string, cat Category) Draft {
		d := validDraft()
		d.Name, d.Language, d.Category = name, lang, cat
		return d
	}
	f.must(t)(f.svc.CreateDraft(ctx, f.author, mk("a_draft", "en", CategoryMarketing)))
	f.approved(t, mk("b_approved", "de", CategoryUtility))
	f.live(t, mk("c_live", "en", CategoryUtility))
	other := mk("d_other", "en", CategoryUtility)
	other.WABAID = "555"
	f.must(t)(f.svc.CreateDraft(ctx, f.author, other))

	names := func(filter ListFilter) string {
		list, err := f.svc.List(ctx, f.viewer, filter)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, t := range list {
			out = append(out, t.Name)
		}
		return strings.Join(out, ",")
	}
	for _, tc := range []struct {
		filter ListFilter
		want   string
	}{
		{ListFilter{}, "a_draft,b_approved,c_live,d_other"},
		{ListFilter{Status: StatusDraft}, "a_draft,d_other"},
		{ListFilter{Status: StatusApproved}, "b_approved"},
		{ListFilter{MetaStatus: MetaApproved}, "c_live"},
		{ListFilter{Sendable: true}, "c_live"},
		{ListFilter{Category: CategoryMarketing}, "a_draft"},
		{ListFilter{Language: "de"}, "b_approved"},
		{ListFilter{WABAID: "555"}, "d_other"},
		{ListFilter{Limit: 2, Offset: 1}, "b_approved,c_live"},
	} {
		if got := names(tc.filter); got != tc.want {
			t.Fatalf("%+v: got %s, want %s", tc.filter, got, tc.want)
		}
	}
	f.scope[f.viewer.MemberID] = Scope{WABAIDs: []string{"555"}}
	if got := names(ListFilter{}); got != "d_other" {
		t.Fatalf("scoped list %s", got)
	}
}
