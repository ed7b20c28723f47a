package templates

import (
	"fmt"
	"strings"
	"time"
)

// MetaEvent is the "event" of a message_template_status_update webhook.
type MetaEvent string

// Meta's template status events.
const (
	EventApproved        MetaEvent = "APPROVED"
	EventRejected        MetaEvent = "REJECTED"
	EventPending         MetaEvent = "PENDING"
	EventDisabled        MetaEvent = "DISABLED"
	EventFlagged         MetaEvent = "FLAGGED"
	EventPaused          MetaEvent = "PAUSED"
	EventReinstated      MetaEvent = "REINSTATED"
	EventInAppeal        MetaEvent = "IN_APPEAL"
	EventLimitExceeded   MetaEvent = "LIMIT_EXCEEDED"
	EventLocked          MetaEvent = "LOCKED"
	EventArchived        MetaEvent = "ARCHIVED"
	EventUnarchived      MetaEvent = "UNARCHIVED"
	EventDeleted         MetaEvent = "DELETED"
	EventPendingDeletion MetaEvent = "PENDING_DELETION"
)

// MetaEvents lists every event, in the order of the wire facts.
func MetaEvents() []MetaEvent {
	return []MetaEvent{EventApproved, EventRejected, EventPending, EventDisabled, EventFlagged, EventPaused,
		EventReinstated, EventInAppeal, EventLimitExceeded, EventLocked, EventArchived, EventUnarchived,
		EventDeleted, EventPendingDeletion}
}

// ParseMetaEvent reads a webhook's event. A value Meta adds later is ErrUnknownEvent, so the
// caller can log it and answer the webhook anyway.
func ParseMetaEvent(s string) (MetaEvent, error) {
	ev := MetaEvent(strings.ToUpper(strings.TrimSpace(s)))
	for _, known := range MetaEvents() {
		if ev == known {
			return ev, nil
		}
	}
	return "", fmt.Errorf("%w: %q", ErrUnknownEvent, s)
}

// StatusUpdate is one message_template_status_update change.
type StatusUpdate struct {
	WABAID         string // entry[].id
	MetaTemplateID string // message_template_id (an integer on the wire: pass it as decimal text)
	Event          MetaEvent
	Reason         string // ABUSIVE_CONTENT, INVALID_FORMAT, …; NONE and null mean none
	// At is the webhook entry's time when known. With it, late and repeated deliveries are
	// recognised by time; without it, by the rules in nextMetaState.
	At time.Time
}

// reason returns Meta's reason, empty for NONE.
func (u StatusUpdate) reason() string {
	r := strings.TrimSpace(u.Reason)
	if strings.EqualFold(r, "NONE") || strings.EqualFold(r, "null") {
		return ""
	}
	return r
}

// metaFacts are what nextMetaState needs to know besides the template's Meta state.
type metaFacts struct {
	// seen: this event was already applied to the revision Meta holds.
	seen bool
	// beforeArchive: the status the template had when it was archived.
	beforeArchive MetaStatus
}

// nextMetaState decides what a status webhook does to a template's Meta state; ok is false when
// it must be ignored. Meta retries webhooks for days and sends duplicates, in any order, so the
// rules make each update idempotent and keep a late or repeated one from moving the status
// backwards:
//
//   - DELETED is final, and PENDING_DELETION only moves on to DELETED.
//   - With Meta's time, an update older than the last applied one, or the same event at the same
//     time, is a repeat.
//   - PENDING only confirms a submission: once Meta has given a verdict, a PENDING is late.
//   - Without Meta's time, an event that makes a template usable again (APPROVED, REINSTATED,
//     UNARCHIVED) and was already applied to this submission is taken for a repeat: a replayed
//     APPROVED must not undo a later PAUSED. A true second reinstatement then waits for the next
//     sync, which reads Meta's current status; erring towards "not sendable" costs a delay,
//     erring the other way costs refused messages.
//   - REINSTATED lifts only a pause, a disablement, a lock or a flag; UNARCHIVED only an archive.
//   - FLAGGED is a quality warning on an approved template: it sets Flagged, not the status.
func nextMetaState(cur metaState, u StatusUpdate, f metaFacts) (metaState, bool) {
	if cur.Status == MetaDeleted {
		return cur, false
	}
	if cur.Status == MetaPendingDeletion && u.Event != EventDeleted {
		return cur, false
	}
	if !u.At.IsZero() && !cur.LastEventAt.IsZero() {
		if u.At.Before(cur.LastEventAt) || (u.At.Equal(cur.LastEventAt) && u.Event == cur.LastEvent) {
			return cur, false
		}
	}
	if u.At.IsZero() && f.seen && (u.Event == EventApproved || u.Event == EventReinstated || u.Event == EventUnarchived) {
		return cur, false
	}

	next := cur
	switch u.Event {
	case EventPending:
		if cur.Status != "" && cur.Status != MetaPending {
			return cur, false
		}
		next.Status, next.RejectedReason = MetaPending, ""
	case EventApproved:
		next.Status, next.RejectedReason, next.Flagged = MetaApproved, "", false
	case EventRejected:
		next.Status, next.RejectedReason = MetaRejected, u.reason()
	case EventFlagged:
		if cur.Status != MetaApproved {
			return cur, false
		}
		next.Flagged = true
	case EventReinstated:
		switch {
		case cur.Status == MetaPaused, cur.Status == MetaDisabled, cur.Status == MetaLocked:
		case cur.Status == MetaApproved && cur.Flagged:
		default:
			return cur, false
		}
		next.Status, next.Flagged = MetaApproved, false
	case EventUnarchived:
		if cur.Status != MetaArchived {
			return cur, false
		}
		next.Status = f.beforeArchive
		if next.Status == "" || next.Status == MetaArchived {
			next.Status = MetaApproved
		}
	case EventDisabled, EventPaused, EventInAppeal, EventLimitExceeded, EventLocked, EventArchived,
		EventDeleted, EventPendingDeletion:
		next.Status = MetaStatus(u.Event)
	default:
		return cur, false
	}
	if next.Status == cur.Status && next.RejectedReason == cur.RejectedReason && next.Flagged == cur.Flagged {
		return cur, false
	}
	next.LastEvent = u.Event
	if !u.At.IsZero() {
		next.LastEventAt = u.At
	}
	return next, true
}
