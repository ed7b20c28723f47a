package inbox

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/switchboard/switchboard/internal/authz"
	"github.com/switchboard/switchboard/internal/db"
)

// LiveEvent tells a subscriber that a conversation it may see changed (a message came or went,
// a status moved, it was assigned, escalated, closed or reopened). It carries no content: the
// page fetches what changed through the same routes and predicate as any other request.
// Resync (ConversationID 0) means the subscriber fell behind and should refresh everything.
type LiveEvent struct {
	ConversationID int64
	// Kind says what changed; LiveChanged for the conversation itself.
	Kind LiveKind
	// MemberID, when set, addresses the event to that member alone (a mention). The member must
	// still see the conversation: a targeted event passes the same visibility check.
	MemberID int64
}

// LiveKind is what a live event announces.
type LiveKind uint8

// The kinds of live events.
const (
	// LiveChanged: the conversation changed (a message, a status, a note, an assignment).
	LiveChanged LiveKind = iota
	// LivePresence: who has the conversation open, or is replying, changed.
	LivePresence
	// LiveMention: a note in the conversation mentions the event's member.
	LiveMention
)

// Live fans committed changes out to the members who may see them. Changes are coalesced for a
// few milliseconds, the conversations' facts (number, assignee, participants) are read once per
// round, and each subscriber gets only the conversations its visibility allows, checked with
// the same predicate (authz.Visibility.Allows) as every page.
type Live struct {
	db     *db.DB
	logger *slog.Logger

	pending chan int64
	// notices carries presence and mention events; they ride the same rounds and checks.
	notices chan LiveEvent
	done    chan struct{}
	stopped chan struct{}
	close   sync.Once

	mu   sync.Mutex
	subs map[*Subscription]struct{}

	published, delivered, dropped atomic.Int64
}

// liveCoalesce is how long a round waits for more changes after the first; short enough that
// the figure that matters (webhook answered → page told) stays far under 200 ms.
const liveCoalesce = 15 * time.Millisecond

// subscriberBuffer is how many events a slow subscriber may have waiting before it is told to
// resync instead of queueing more.
const subscriberBuffer = 64

// NewLive starts the fan-out goroutine; Close stops it.
func NewLive(d *db.DB, logger *slog.Logger) *Live {
	if logger == nil {
		logger = slog.Default()
	}
	l := &Live{db: d, logger: logger, pending: make(chan int64, 4096), notices: make(chan LiveEvent, 1024), done: make(chan struct{}),
		stopped: make(chan struct{}), subs: map[*Subscription]struct{}{}}
	go l.run()
	return l
}

// Subscription is one connected page's stream of events.
type Subscription struct {
	events chan LiveEvent
	vis    atomic.Pointer[authz.Visibility]
	member atomic.Int64
	behind atomic.Bool
	closed chan struct{}
	once   sync.Once
}

// Events delivers the subscriber's events; Done tells when to stop reading.
func (s *Subscription) Events() <-chan LiveEvent { return s.events }

// Done is closed when the subscription ends.
func (s *Subscription) Done() <-chan struct{} { return s.closed }

// SetPrincipal replaces the subscriber's visibility: a member's role or scope can change while
// their page stays open, and from then on only what they may see now reaches them.
func (s *Subscription) SetPrincipal(p *authz.Principal) {
	v := p.Conversations()
	s.vis.Store(&v)
	s.member.Store(p.MemberID)
}

// Subscribe registers a subscriber with p's visibility.
func (l *Live) Subscribe(p *authz.Principal) *Subscription {
	s := &Subscription{events: make(chan LiveEvent, subscriberBuffer), closed: make(chan struct{})}
	s.SetPrincipal(p)
	l.mu.Lock()
	defer l.mu.Unlock()
	select {
	case <-l.done:
		s.end()
	default:
		l.subs[s] = struct{}{}
	}
	return s
}

// Unsubscribe ends a subscription.
func (l *Live) Unsubscribe(s *Subscription) {
	l.mu.Lock()
	delete(l.subs, s)
	l.mu.Unlock()
	s.end()
}

func (s *Subscription) end() {
	s.once.Do(func() { close(s.closed) })
}

// Subscribers is how many subscriptions are open, for the metrics.
func (l *Live) Subscribers() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.subs)
}

// LiveStats are the fan-out's counters since start.
type LiveStats struct{ Published, Delivered, Dropped int64 }

// Stats reads the counters.
func (l *Live) Stats() LiveStats {
	return LiveStats{Published: l.published.Load(), Delivered: l.delivered.Load(), Dropped: l.dropped.Load()}
}

// Publish announces that conversations changed. Call it after the change is committed. It never
// blocks a request or the ingester: when the queue is full the change is dropped and subscribers
// are told to resync. A nil Live publishes nothing.
func (l *Live) Publish(conversationIDs ...int64) {
	if l == nil {
		return
	}
	for _, id := range conversationIDs {
		select {
		case l.pending <- id:
			l.published.Add(1)
		default:
			l.dropped.Add(1)
			l.resyncAll()
		}
	}
}

// Notify announces a presence change or a mention. Like Publish it never blocks; an event that
// does not fit is dropped (presence is refreshed by the page every few seconds, and a mention
// stays listed among the member's notices).
func (l *Live) Notify(ev LiveEvent) {
	if l == nil || ev.ConversationID == 0 {
		return
	}
	select {
	case l.notices <- ev:
		l.published.Add(1)
	default:
		l.dropped.Add(1)
	}
}

// Close ends every subscription and the fan-out.
func (l *Live) Close() {
	if l == nil {
		return
	}
	l.close.Do(func() {
		l.mu.Lock()
		close(l.done)
		for s := range l.subs {
			s.end()
			delete(l.subs, s)
		}
		l.mu.Unlock()
		<-l.stopped
	})
}

func (l *Live) run() {
	defer close(l.stopped)
	for {
		round := map[int64]struct{}{}
		var extra []LiveEvent
		select {
		case <-l.done:
			return
		case first := <-l.pending:
			round[first] = struct{}{}
		case ev := <-l.notices:
			extra = append(extra, ev)
		}
		timer := time.NewTimer(liveCoalesce)
	collect:
		for {
			select {
			case id := <-l.pending:
				round[id] = struct{}{}
			case ev := <-l.notices:
				extra = append(extra, ev)
			case <-timer.C:
				break collect
			case <-l.done:
				timer.Stop()
				return
			}
		}
		if err := l.fanOut(round, extra); err != nil {
			l.logger.Error("inbox: live updates could not be sent", "error", err)
			l.resyncAll()
		}
	}
}

// fanOut reads the facts of the changed conversations and hands each subscriber those it sees;
// presence and mention events (extra) pass the same check, a mention only to its member.
func (l *Live) fanOut(round map[int64]struct{}, extra []LiveEvent) error {
	ids := make([]int64, 0, len(round)+len(extra))
	for id := range round {
		ids = append(ids, id)
	}
	for _, ev := range extra {
		if _, ok := round[ev.ConversationID]; !ok {
			ids = append(ids, ev.ConversationID)
		}
	}
	facts, err := conversationFacts(context.Background(), l.db.R, ids)
	if err != nil {
		return err
	}
	byID := make(map[int64]authz.ConversationFacts, len(facts))
	for _, f := range facts {
		byID[f.id] = f.ConversationFacts
	}
	l.mu.Lock()
	subs := make([]*Subscription, 0, len(l.subs))
	for s := range l.subs {
		subs = append(subs, s)
	}
	l.mu.Unlock()
	for _, s := range subs {
		vis := s.vis.Load()
		if vis == nil {
			continue
		}
		for _, f := range facts {
			if _, changed := round[f.id]; changed && vis.Allows(f.ConversationFacts) {
				l.deliver(s, LiveEvent{ConversationID: f.id})
			}
		}
		for _, ev := range extra {
			f, ok := byID[ev.ConversationID]
			if !ok || (ev.MemberID != 0 && ev.MemberID != s.member.Load()) || !vis.Allows(f) {
				continue
			}
			l.deliver(s, ev)
		}
	}
	return nil
}

func (l *Live) deliver(s *Subscription, ev LiveEvent) {
	if s.behind.Load() {
		return // a resync is already waiting, which covers this event too
	}
	select {
	case s.events <- ev:
		l.delivered.Add(1)
	default:
		l.tellToResync(s)
	}
}

// tellToResync replaces what a slow subscriber would have missed with one resync event.
func (l *Live) tellToResync(s *Subscription) {
	if !s.behind.CompareAndSwap(false, true) {
		return
	}
	go func() {
		select {
		case s.events <- LiveEvent{}:
		case <-s.closed:
		}
		s.behind.Store(false)
	}()
}

func (l *Live) resyncAll() {
	l.mu.Lock()
	defer l.mu.Unlock()
	for s := range l.subs {
		l.tellToResync(s)
	}
}

type liveFacts struct {
	id int64
	authz.ConversationFacts
}

// conversationFacts reads what the visibility predicate needs about each conversation.
func conversationFacts(ctx context.Context, q db.Querier, ids []int64) ([]liveFacts, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	args := make([]any, len(ids))
	for i, id := range ids {
		args[i] = id
	}
	rows, err := q.QueryContext(ctx, `SELECT c.id, c.phone_number_id, coalesce(c.assignee_id, 0),
		(SELECT group_concat(member_id, ' ') FROM conversation_participants WHERE conversation_id = c.id)
		FROM conversations c WHERE c.id IN (`+strings.Repeat("?,", len(ids)-1)+`?)`, args...)
	if err != nil {
		return nil, fmt.Errorf("read conversation facts: %w", err)
	}
	defer rows.Close()
	var out []liveFacts
	for rows.Next() {
		var (
			f        liveFacts
			involved *string
		)
		if err := rows.Scan(&f.id, &f.PhoneNumberID, &f.AssigneeID, &involved); err != nil {
			return nil, fmt.Errorf("scan conversation facts: %w", err)
		}
		if involved != nil {
			for _, s := range strings.Fields(*involved) {
				if id, err := strconv.ParseInt(s, 10, 64); err == nil {
					f.InvolvedMembers = append(f.InvolvedMembers, id)
				}
			}
		}
		out = append(out, f)
	}
	return out, rows.Err()
}
