package templates

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/audit"
)

func TestEveryMetaEvent(t *testing.T) {
	cases := []struct {
		event   MetaEvent
		setup   []MetaEvent
		want    MetaStatus
		flagged bool
		changed bool
	}{
		{EventApproved, nil, MetaApproved, false, true},
		{EventRejected, nil, MetaRejected, false, true},
		{EventPending, nil, MetaPending, false, false}, // submission already set PENDING
		{EventDisabled, []MetaEvent{EventApproved}, MetaDisabled, false, true},
		{EventFlagged, []MetaEvent{EventApproved}, MetaApproved, true, true},
		{EventPaused, []MetaEvent{EventApproved}, MetaPaused, false, true},
		{EventReinstated, []MetaEvent{EventApproved, EventPaused}, MetaApproved, false, true},
		{EventInAppeal, []MetaEvent{EventRejected}, MetaInAppeal, false, true},
		{EventLimitExceeded, nil, MetaLimitExceeded, false, true},
		{EventLocked, []MetaEvent{EventApproved}, MetaLocked, false, true},
		{EventArchived, []MetaEvent{EventApproved}, MetaArchived, false, true},
		{EventUnarchived, []MetaEvent{EventApproved, EventPaused, EventArchived}, MetaPaused, false, true},
		{EventDeleted, []MetaEvent{EventApproved}, MetaDeleted, false, true},
		{EventPendingDeletion, []MetaEvent{EventApproved}, MetaPendingDeletion, false, true},
	}
	f := newFixture(t)
	for i, tc := range cases {
		t.Run(string(tc.event), func(t *testing.T) {
			d := validDraft()
			d.Name = "event_" + strings.ToLower(string(tc.event))
			tpl := f.approved(t, d)
			tpl = f.must(t)(f.svc.SubmitToMeta(t.Context(), f.reviewer, tpl.ID))
			for _, ev := range tc.setup {
				f.apply(t, tpl, ev, "")
			}
			n := len(f.events(t))
			got, changed := f.apply(t, tpl, tc.event, "INVALID_FORMAT")
			if changed != tc.changed || got.MetaStatus != tc.want || got.Flagged != tc.flagged {
				t.Fatalf("case %d: got %s flagged=%v changed=%v", i, got.MetaStatus, got.Flagged, changed)
			}
			if got.Sendable() != (tc.want == MetaApproved) {
				t.Fatalf("sendable %v with %s", got.Sendable(), got.MetaStatus)
			}
			if tc.event == EventRejected && got.RejectedReason != "INVALID_FORMAT" {
				t.Fatalf("reason %q", got.RejectedReason)
			}
			evs := f.events(t)
			if !tc.changed {
				if len(evs) != n {
					t.Fatal("an ignored webhook wrote an event")
				}
				return
			}
			ev := evs[len(evs)-1]
			if len(evs) != n+1 || ev.Action != "template.meta_status_changed" || ev.Actor.Type != audit.ActorSystem {
				t.Fatalf("event %+v", ev)
			}
			if c, _ := changeOf(ev, "meta_event"); c.After != string(tc.event) {
				t.Fatalf("event changes %+v", ev.Changes)
			}
		})
	}
}

// Meta sends webhooks more than once and out of order: neither changes anything twice nor moves
// the status backwards.
func TestWebhooksAreIdempotent(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	tpl := f.live(t, validDraft())
	decisions := func() int {
		h, err := f.svc.History(ctx, f.admin, tpl.ID)
		if err != nil {
			t.Fatal(err)
		}
		return len(h.Decisions)
	}
	n, events := decisions(), len(f.events(t))
	for range 10 {
		if _, changed := f.apply(t, tpl, EventApproved, ""); changed {
			t.Fatal("duplicate APPROVED changed something")
		}
	}
	if decisions() != n || len(f.events(t)) != events {
		t.Fatal("duplicates were recorded")
	}

	f.apply(t, tpl, EventPaused, "")
	for _, late := range []MetaEvent{EventApproved, EventPending} {
		if got, changed := f.apply(t, tpl, late, ""); changed || got.MetaStatus != MetaPaused {
			t.Fatalf("late %s moved the status to %s", late, got.MetaStatus)
		}
	}

	// With Meta's time, the order of delivery no longer matters.
	t0 := time.Date(2026, 3, 5, 12, 0, 0, 0, time.UTC)
	upd := func(ev MetaEvent, at time.Time) (Template, bool) {
		got, changed, err := f.svc.ApplyMetaStatus(ctx, StatusUpdate{WABAID: testWABA, MetaTemplateID: tpl.MetaTemplateID, Event: ev, At: at})
		if err != nil {
			t.Fatal(err)
		}
		return got, changed
	}
	if got, changed := upd(EventReinstated, t0.Add(time.Hour)); !changed || got.MetaStatus != MetaApproved {
		t.Fatalf("reinstated: %s", got.MetaStatus)
	}
	if got, changed := upd(EventDisabled, t0); changed || got.MetaStatus != MetaApproved {
		t.Fatalf("an older DISABLED applied: %s", got.MetaStatus)
	}
	if got, changed := upd(EventReinstated, t0.Add(time.Hour)); changed || got.MetaStatus != MetaApproved {
		t.Fatal("the same delivery applied twice")
	}
	if got, changed := upd(EventPaused, t0.Add(2*time.Hour)); !changed || got.MetaStatus != MetaPaused {
		t.Fatalf("newer PAUSED: %s", got.MetaStatus)
	}

	if _, _, err := f.svc.ApplyMetaStatus(ctx, StatusUpdate{WABAID: testWABA, MetaTemplateID: "404", Event: EventApproved}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown template: %v", err)
	}
	if _, _, err := f.svc.ApplyMetaStatus(ctx, StatusUpdate{WABAID: "999", MetaTemplateID: tpl.MetaTemplateID, Event: EventApproved}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("template of another account: %v", err)
	}
	if _, _, err := f.svc.ApplyMetaStatus(ctx, StatusUpdate{WABAID: testWABA, MetaTemplateID: tpl.MetaTemplateID, Event: "NEW_THING"}); !errors.Is(err, ErrUnknownEvent) {
		t.Fatalf("unknown event: %v", err)
	}

	if changed, err := f.svc.ApplyQualityUpdate(ctx, testWABA, tpl.MetaTemplateID, "yellow"); err != nil || !changed {
		t.Fatalf("quality: %v %v", changed, err)
	}
	if changed, _ := f.svc.ApplyQualityUpdate(ctx, testWABA, tpl.MetaTemplateID, "YELLOW"); changed {
		t.Fatal("same quality changed something")
	}
	if got := f.get(t, tpl.ID); got.QualityScore != "YELLOW" {
		t.Fatalf("quality %q", got.QualityScore)
	}
}
