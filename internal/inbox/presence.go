package inbox

import (
	"context"
	"sort"
	"sync"
	"time"

	"github.com/switchboard/switchboard/internal/authz"
)

// Presence is who has a conversation open, and who is typing a reply, so that two agents do not
// answer the same customer. It lives in memory only: it is true for seconds, and a restart
// forgets it harmlessly (pages report again within presenceBeat).
type presence struct {
	mu    sync.Mutex
	convs map[int64]map[int64]*presentMember
}

type presentMember struct {
	name        string
	seen        time.Time
	typingUntil time.Time
}

// PresentMember is another member on a conversation.
type PresentMember struct {
	ID     int64
	Name   string
	Typing bool
}

// PresenceState is what a page reports.
type PresenceState string

// Presence states a page reports.
const (
	PresenceViewing PresenceState = "viewing"
	PresenceTyping  PresenceState = "typing"
	PresenceLeft    PresenceState = "left"
)

const (
	// presenceTTL: a page that stops reporting (closed without saying so) is gone after this.
	// Pages report every 20 seconds.
	presenceTTL = 45 * time.Second
	// typingTTL: "is replying" lasts this long after the last keystroke report (every 3 s).
	typingTTL = 6 * time.Second
)

func newPresence() *presence { return &presence{convs: map[int64]map[int64]*presentMember{}} }

// SetPresence records that p has the conversation open, is typing, or left it, and tells the
// members who see the conversation when that changes what they are shown. The conversation must
// be one p sees (ErrNotFound otherwise), so presence cannot be used to probe for conversations.
func (s *Service) SetPresence(ctx context.Context, p *authz.Principal, convID int64, state PresenceState) error {
	switch state {
	case PresenceViewing, PresenceTyping, PresenceLeft:
	default:
		return fieldError("state", "Report viewing, typing or left.")
	}
	if _, err := visibleConversation(ctx, s.db.R, p.Conversations(), convID); err != nil {
		return err
	}
	if s.presence.set(convID, p.MemberID, p.Name, state, s.now()) {
		s.Live.Notify(LiveEvent{ConversationID: convID, Kind: LivePresence})
	}
	return nil
}

// Present lists the other members on a conversation p sees, by name.
func (s *Service) Present(ctx context.Context, p *authz.Principal, convID int64) ([]PresentMember, error) {
	if _, err := visibleConversation(ctx, s.db.R, p.Conversations(), convID); err != nil {
		return nil, err
	}
	return s.presence.list(convID, p.MemberID, s.now()), nil
}

// set updates one member's state and reports whether what others see changed.
func (pr *presence) set(convID, memberID int64, name string, state PresenceState, now time.Time) bool {
	pr.mu.Lock()
	defer pr.mu.Unlock()
	pr.expire(now)
	members := pr.convs[convID]
	cur := members[memberID]
	if state == PresenceLeft {
		if cur == nil {
			return false
		}
		delete(members, memberID)
		if len(members) == 0 {
			delete(pr.convs, convID)
		}
		return true
	}
	if members == nil {
		members = map[int64]*presentMember{}
		pr.convs[convID] = members
	}
	changed := cur == nil
	if cur == nil {
		cur = &presentMember{name: name}
		members[memberID] = cur
	}
	wasTyping := now.Before(cur.typingUntil)
	cur.seen = now
	switch state {
	case PresenceTyping:
		cur.typingUntil = now.Add(typingTTL)
		changed = changed || !wasTyping
	case PresenceViewing:
		if wasTyping {
			cur.typingUntil = time.Time{}
			changed = true
		}
	}
	return changed
}

func (pr *presence) list(convID, except int64, now time.Time) []PresentMember {
	pr.mu.Lock()
	defer pr.mu.Unlock()
	pr.expire(now)
	var out []PresentMember
	for id, m := range pr.convs[convID] {
		if id != except {
			out = append(out, PresentMember{ID: id, Name: m.name, Typing: now.Before(m.typingUntil)})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// expire forgets pages that stopped reporting; the caller holds mu.
func (pr *presence) expire(now time.Time) {
	for convID, members := range pr.convs {
		for id, m := range members {
			if now.Sub(m.seen) > presenceTTL {
				delete(members, id)
			}
		}
		if len(members) == 0 {
			delete(pr.convs, convID)
		}
	}
}
