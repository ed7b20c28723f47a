package templates

import (
	"strings"
	"testing"

	"github.com/switchboard/switchboard/internal/audit"
)

func TestSyncFromMetaPages(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	known := f.live(t, validDraft())
	gone := validDraft()
	gone.Name = "gone_at_meta"
	goneTpl := f.live(t, gone)
	clash := validDraft()
	clash.Name = "clash"
	f.must(t)(f.svc.CreateDraft(ctx, f.author, clash))

	remote := func(id, name, status string) RemoteTemplate {
		return RemoteTemplate{ID: id, Name: name, Language: "en_US", Status: status, Category: "MARKETING",
			Components: []Component{{Type: "BODY", Text: "Hi {{1}}, we have news.", Example: &ComponentExample{BodyText: [][]string{{"Ann"}}}}}}
	}
	paused := RemoteTemplate{ID: known.MetaTemplateID, Name: known.Name, Language: known.Language, Status: "PAUSED",
		Category: "UTILITY", QualityScore: &QualityScore{Score: "RED"}}
	f.meta.pages[""] = ListPage{Data: []RemoteTemplate{paused, remote("900", "made_elsewhere", "APPROVED")},
		Paging: Paging{Cursors: Cursors{After: "c1"}, Next: "https://graph.facebook.com/v23.0/x?after=c1"}}
	f.meta.pages["c1"] = ListPage{Data: []RemoteTemplate{remote("901", "also_elsewhere", "REJECTED"), remote("902", "clash", "APPROVED")},
		Paging: Paging{Cursors: Cursors{Before: "c1", After: "c2"}}}

	res, err := f.svc.SyncFromMeta(ctx, testWABA)
	if err != nil {
		t.Fatal(err)
	}
	if res.Imported != 2 || res.Updated != 1 || res.Missing != 1 || len(res.Conflicts) != 1 || res.Conflicts[0] != "clash (en_US)" {
		t.Fatalf("result %+v", res)
	}
	if strings.Join(f.meta.listed, ",") != ",c1" {
		t.Fatalf("pages read with cursors %q", f.meta.listed)
	}
	if got := f.get(t, known.ID); got.MetaStatus != MetaPaused || got.QualityScore != "RED" || got.Sendable() {
		t.Fatalf("synced %+v", got)
	}
	if got := f.get(t, goneTpl.ID); got.MetaStatus != MetaDeleted {
		t.Fatalf("missing at Meta: %s", got.MetaStatus)
	}
	list, _ := f.svc.List(ctx, f.viewer, ListFilter{NameContains: "elsewhere"})
	if len(list) != 2 {
		t.Fatalf("imported %+v", list)
	}
	imp := list[1]
	if imp.Name != "made_elsewhere" || imp.Status != StatusSubmitted || imp.MetaStatus != MetaApproved || imp.AuthorID != 0 ||
		imp.MetaTemplateID != "900" || !imp.Sendable() || imp.Body.Examples["1"] != "Ann" || imp.Category != CategoryMarketing {
		t.Fatalf("imported %+v", imp)
	}
	if _, err := BuildMessage(imp, Values{Body: map[string]string{"1": "Bo"}}); err != nil {
		t.Fatalf("imported template cannot be sent: %v", err)
	}
	for _, ev := range f.events(t)[len(f.events(t))-4:] {
		if ev.Actor.Type != audit.ActorSystem || (ev.Action != "template.imported" && ev.Action != "template.synced") {
			t.Fatalf("sync event %+v", ev)
		}
	}

	// A second sync finds nothing new and writes nothing.
	n := len(f.events(t))
	res, err = f.svc.SyncFromMeta(ctx, testWABA)
	if err != nil || res.Imported != 0 || res.Updated != 0 || res.Missing != 0 || res.Unchanged != 3 {
		t.Fatalf("second sync %+v %v", res, err)
	}
	if len(f.events(t)) != n {
		t.Fatal("an idle sync wrote events")
	}
	// A late webhook from before the sync does not undo what the list said.
	if got, changed := f.apply(t, known, EventApproved, ""); changed || got.MetaStatus != MetaPaused {
		t.Fatalf("late APPROVED after sync: %s", got.MetaStatus)
	}

	// A failure on any page changes nothing.
	f.meta.pages["c1"] = ListPage{Data: []RemoteTemplate{remote("903", "late", "APPROVED")}, Paging: Paging{Cursors: Cursors{After: "c2"}, Next: "x"}}
	before := f.snapshot(t)
	if _, err := f.svc.SyncFromMeta(ctx, testWABA); err == nil {
		t.Fatal("a failing page must fail the sync")
	}
	if f.snapshot(t) != before {
		t.Fatal("a failed sync changed something")
	}
	// A server repeating its cursor cannot make the sync loop for ever.
	f.meta.pages["c1"] = ListPage{Paging: Paging{Cursors: Cursors{After: "c1"}, Next: "x"}}
	if _, err := f.svc.SyncFromMeta(ctx, testWABA); err == nil || !strings.Contains(err.Error(), "twice") {
		t.Fatalf("repeated cursor: %v", err)
	}
}
