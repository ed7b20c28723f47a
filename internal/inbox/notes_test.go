package inbox

import (
	"errors"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/authz"
)

// collect reads what a subscription gets until quiet for the given time.
func collect(sub *Subscription, quiet time.Duration) []LiveEvent {
	var got []LiveEvent
	for {
		select {
		case ev := <-sub.Events():
			got = append(got, ev)
		case <-time.After(quiet):
			return got
		}
	}
}

// A note mentions two members: the assignee, who sees the conversation, is told live and finds
// the mention among their notices; another agent, who cannot see it, is told nothing, no
// mention of them is stored, and none of the conversation's events (the note, presence) reach
// their stream. The note is in the conversation for whoever sees it, and in the activity log.
func TestNoteMentionsReachOnlyMembersWhoSeeTheConversation(t *testing.T) {
	f, live := liveFixture(t)
	agent := f.member("Alice Agent", authz.RoleAgent, numberA)
	outsider := f.member("Olaf Outsider", authz.RoleAgent, numberA)
	analyst := f.member("Ana Lyst", authz.RoleAnalyst)

	conv := f.customerWrites("4915100000201", "Mia", "hello")
	if err := f.svc.Assign(f.ctx, f.admin, conv, agent.MemberID); err != nil {
		t.Fatal(err)
	}
	agentSub, outsiderSub := live.Subscribe(agent), live.Subscribe(outsider)
	defer live.Unsubscribe(agentSub)
	defer live.Unsubscribe(outsiderSub)
	time.Sleep(50 * time.Millisecond)
	collect(agentSub, 100*time.Millisecond) // the assignment

	note, err := f.svc.AddNote(f.ctx, f.admin, conv, "@Alice Agent please call her back. @Olaf Outsider FYI")
	if err != nil {
		t.Fatal(err)
	}
	if len(note.Mentioned) != 1 || note.Mentioned[0].ID != agent.MemberID {
		t.Fatalf("the note notified %+v, want Alice only", note.Mentioned)
	}
	if err := f.svc.SetPresence(f.ctx, f.admin, conv, PresenceTyping); err != nil {
		t.Fatal(err)
	}

	var mention, presence, changed bool
	for _, ev := range collect(agentSub, 300*time.Millisecond) {
		if ev.ConversationID != conv {
			continue
		}
		switch ev.Kind {
		case LiveMention:
			mention = ev.MemberID == agent.MemberID
		case LivePresence:
			presence = true
		case LiveChanged:
			changed = true
		}
	}
	if !mention || !presence || !changed {
		t.Errorf("Alice was told: mention %v, presence %v, change %v; want all", mention, presence, changed)
	}
	if got := collect(outsiderSub, 300*time.Millisecond); len(got) != 0 {
		t.Errorf("Olaf, who may not see the conversation, received %+v", got)
	}
	var stored int
	if err := f.db.R.QueryRow(`SELECT count(*) FROM note_mentions WHERE member_id = ?`, outsider.MemberID).Scan(&stored); err != nil || stored != 0 {
		t.Errorf("a mention of Olaf was stored (%d, %v)", stored, err)
	}

	notices, err := f.svc.Notices(f.ctx, agent, NoticeQuery{})
	if err != nil || len(notices) != 1 || notices[0].Kind != "mention" || notices[0].From != "Ada Admin" {
		t.Errorf("Alice's notices: %+v %v", notices, err)
	}
	if n, _ := f.svc.Notices(f.ctx, outsider, NoticeQuery{Mine: true, Unassigned: true, Mentioned: true}); len(n) != 0 {
		t.Errorf("Olaf's notices: %+v", n)
	}

	// Outside the conversation: its notes, its presence, and writing in it answer not found.
	if _, err := f.svc.Notes(f.ctx, outsider, conv); !errors.Is(err, ErrNotFound) {
		t.Errorf("Olaf read the notes: %v", err)
	}
	if err := f.svc.SetPresence(f.ctx, outsider, conv, PresenceViewing); !errors.Is(err, ErrNotFound) {
		t.Errorf("Olaf reported presence: %v", err)
	}
	if _, err := f.svc.AddNote(f.ctx, outsider, conv, "hi"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Olaf wrote a note: %v", err)
	}
	if _, err := f.svc.Present(f.ctx, outsider, conv); !errors.Is(err, ErrNotFound) {
		t.Errorf("Olaf saw who is present: %v", err)
	}
	// The Analyst reads notes but writes none, and the refusal is recorded.
	if notes, err := f.svc.Notes(f.ctx, analyst, conv); err != nil || len(notes) != 1 {
		t.Errorf("the Analyst reads %d notes (%v), want 1", len(notes), err)
	}
	if _, err := f.svc.AddNote(f.ctx, analyst, conv, "hi"); !errors.Is(err, ErrForbidden) {
		t.Errorf("the Analyst wrote a note: %v", err)
	}
	// An empty note is refused with a reason and stores nothing.
	var fe FieldErrors
	if _, err := f.svc.AddNote(f.ctx, agent, conv, "   "); !errors.As(err, &fe) || fe["note"] == "" {
		t.Errorf("an empty note: %v", err)
	}
	var notes, events int
	f.db.R.QueryRow(`SELECT count(*) FROM conversation_notes`).Scan(&notes)
	f.db.R.QueryRow(`SELECT count(*) FROM audit_events WHERE action = 'conversation.note_added'`).Scan(&events)
	if notes != 1 || events != 2 { // the note, and the Analyst's recorded refusal
		t.Errorf("%d notes and %d activity events, want 1 and 2", notes, events)
	}
	present, err := f.svc.Present(f.ctx, agent, conv)
	if err != nil || len(present) != 1 || !present[0].Typing {
		t.Errorf("Alice sees present %+v (%v), want the admin typing", present, err)
	}
}

func TestMentionsIn(t *testing.T) {
	team := []Mentionable{{1, "Alice Agent"}, {2, "Bob Baker"}, {3, "Bob Builder"}, {4, "Zoë"}}
	for _, c := range []struct {
		body string
		want []int64
	}{
		{"@Alice Agent look", []int64{1}},
		{"@alice please", []int64{1}}, // unique first name
		{"@Bob can you", nil},         // two Bobs: the full name is needed
		{"@Bob Builder, can you", []int64{3}},
		{"@Alicea is not Alice", nil},
		{"mail alice@example.com", nil},
		{"@Zoë!", []int64{4}},
		{"@Alice Agent and @Alice Agent", []int64{1}},
	} {
		var got []int64
		for _, m := range mentionsIn(c.body, team, 99) {
			got = append(got, m.ID)
		}
		if len(got) != len(c.want) || (len(got) > 0 && got[0] != c.want[0]) {
			t.Errorf("%q mentions %v, want %v", c.body, got, c.want)
		}
	}
	if got := mentionsIn("@Alice Agent", team, 1); len(got) != 0 {
		t.Errorf("the author mentioned themself: %v", got)
	}
}
