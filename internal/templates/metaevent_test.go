package templates

import (
	"errors"
	"testing"
	"time"
)

func TestNextMetaState(t *testing.T) {
	t0 := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	st := func(s MetaStatus) metaState { return metaState{Status: s} }
	at := func(s MetaStatus, ev MetaEvent, when time.Time) metaState {
		return metaState{Status: s, LastEvent: ev, LastEventAt: when}
	}
	cases := []struct {
		name  string
		cur   metaState
		u     StatusUpdate
		facts metaFacts
		want  MetaStatus // "" when the update is ignored
		check func(metaState) bool
	}{
		// Every event from a template Meta is reviewing.
		{name: "pending first", cur: st(""), u: StatusUpdate{Event: EventPending}, want: MetaPending},
		{name: "approved", cur: st(MetaPending), u: StatusUpdate{Event: EventApproved}, want: MetaApproved},
		{name: "rejected with reason", cur: st(MetaPending), u: StatusUpdate{Event: EventRejected, Reason: "INVALID_FORMAT"}, want: MetaRejected,
			check: func(m metaState) bool { return m.RejectedReason == "INVALID_FORMAT" }},
		{name: "rejected reason NONE is none", cur: st(MetaPending), u: StatusUpdate{Event: EventRejected, Reason: "NONE"}, want: MetaRejected,
			check: func(m metaState) bool { return m.RejectedReason == "" }},
		{name: "limit exceeded", cur: st(MetaPending), u: StatusUpdate{Event: EventLimitExceeded}, want: MetaLimitExceeded},
		// From an approved template.
		{name: "paused", cur: st(MetaApproved), u: StatusUpdate{Event: EventPaused}, want: MetaPaused},
		{name: "disabled", cur: st(MetaApproved), u: StatusUpdate{Event: EventDisabled}, want: MetaDisabled},
		{name: "flagged keeps approved", cur: st(MetaApproved), u: StatusUpdate{Event: EventFlagged}, want: MetaApproved,
			check: func(m metaState) bool { return m.Flagged }},
		{name: "locked", cur: st(MetaApproved), u: StatusUpdate{Event: EventLocked}, want: MetaLocked},
		{name: "archived", cur: st(MetaApproved), u: StatusUpdate{Event: EventArchived}, want: MetaArchived},
		{name: "pending deletion", cur: st(MetaApproved), u: StatusUpdate{Event: EventPendingDeletion}, want: MetaPendingDeletion},
		{name: "deleted", cur: st(MetaApproved), u: StatusUpdate{Event: EventDeleted}, want: MetaDeleted},
		{name: "in appeal", cur: st(MetaRejected), u: StatusUpdate{Event: EventInAppeal}, want: MetaInAppeal},
		{name: "approved after appeal", cur: st(MetaInAppeal), u: StatusUpdate{Event: EventApproved}, want: MetaApproved},
		{name: "reinstated after pause", cur: st(MetaPaused), u: StatusUpdate{Event: EventReinstated}, want: MetaApproved},
		{name: "reinstated after disable", cur: st(MetaDisabled), u: StatusUpdate{Event: EventReinstated}, want: MetaApproved},
		{name: "reinstated clears flag", cur: metaState{Status: MetaApproved, Flagged: true}, u: StatusUpdate{Event: EventReinstated}, want: MetaApproved,
			check: func(m metaState) bool { return !m.Flagged }},
		{name: "unarchived restores", cur: st(MetaArchived), u: StatusUpdate{Event: EventUnarchived}, facts: metaFacts{beforeArchive: MetaPaused}, want: MetaPaused},
		{name: "unarchived defaults to approved", cur: st(MetaArchived), u: StatusUpdate{Event: EventUnarchived}, want: MetaApproved},

		// Ignored: duplicates, late deliveries, moves the lifecycle does not allow.
		{name: "duplicate approved", cur: st(MetaApproved), u: StatusUpdate{Event: EventApproved}},
		{name: "duplicate rejected", cur: metaState{Status: MetaRejected, RejectedReason: "SCAM"}, u: StatusUpdate{Event: EventRejected, Reason: "SCAM"}},
		{name: "late pending after approval", cur: st(MetaApproved), u: StatusUpdate{Event: EventPending}},
		{name: "late pending after rejection", cur: st(MetaRejected), u: StatusUpdate{Event: EventPending}},
		{name: "replayed approved after pause", cur: st(MetaPaused), u: StatusUpdate{Event: EventApproved}, facts: metaFacts{seen: true}},
		{name: "replayed reinstated", cur: st(MetaPaused), u: StatusUpdate{Event: EventReinstated}, facts: metaFacts{seen: true}},
		{name: "reinstated without pause", cur: st(MetaRejected), u: StatusUpdate{Event: EventReinstated}},
		{name: "unarchived when not archived", cur: st(MetaApproved), u: StatusUpdate{Event: EventUnarchived}},
		{name: "flagged when not approved", cur: st(MetaPaused), u: StatusUpdate{Event: EventFlagged}},
		{name: "nothing after deleted", cur: st(MetaDeleted), u: StatusUpdate{Event: EventApproved}},
		{name: "deleted is final", cur: st(MetaDeleted), u: StatusUpdate{Event: EventUnarchived}},
		{name: "pending deletion only moves to deleted", cur: st(MetaPendingDeletion), u: StatusUpdate{Event: EventApproved}},
		{name: "pending deletion to deleted", cur: st(MetaPendingDeletion), u: StatusUpdate{Event: EventDeleted}, want: MetaDeleted},

		// With Meta's time.
		{name: "older than the last applied", cur: at(MetaPaused, EventPaused, t0), u: StatusUpdate{Event: EventApproved, At: t0.Add(-time.Second)}},
		{name: "same event same time", cur: at(MetaPaused, EventPaused, t0), u: StatusUpdate{Event: EventPaused, At: t0}},
		{name: "newer approval lifts a pause", cur: at(MetaPaused, EventPaused, t0), u: StatusUpdate{Event: EventApproved, At: t0.Add(time.Hour)},
			facts: metaFacts{seen: true}, want: MetaApproved, check: func(m metaState) bool { return m.LastEventAt.Equal(t0.Add(time.Hour)) }},
		{name: "newer pause", cur: at(MetaApproved, EventApproved, t0), u: StatusUpdate{Event: EventPaused, At: t0.Add(time.Minute)}, want: MetaPaused},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			next, ok := nextMetaState(tc.cur, tc.u, tc.facts)
			if tc.want == "" {
				if ok || next != tc.cur {
					t.Fatalf("want ignored, got %+v", next)
				}
				return
			}
			if !ok || next.Status != tc.want {
				t.Fatalf("got %+v (applied %v), want status %s", next, ok, tc.want)
			}
			if next.LastEvent != tc.u.Event {
				t.Fatalf("last event %s, want %s", next.LastEvent, tc.u.Event)
			}
			if tc.check != nil && !tc.check(next) {
				t.Fatalf("state %+v", next)
			}
		})
	}
}

func TestParseMetaEvent(t *testing.T) {
	for _, ev := range MetaEvents() {
		if got, err := ParseMetaEvent(string(ev)); err != nil || got != ev {
			t.Fatalf("%s: %v", ev, err)
		}
	}
	if got, _ := ParseMetaEvent(" approved "); got != EventApproved {
		t.Fatalf("case and spaces: %q", got)
	}
	if _, err := ParseMetaEvent("SOMETHING_NEW"); !errors.Is(err, ErrUnknownEvent) {
		t.Fatalf("got %v", err)
	}
}
