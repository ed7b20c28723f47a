package web_test

import (
	"bufio"
	"context"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/app/apptest"
	"github.com/switchboard/switchboard/internal/authz"
	"github.com/switchboard/switchboard/internal/inbox"
)

// liveStream is an open /inbox/live stream, read line by line in the background.
type liveStream struct {
	lines  chan string
	closed chan struct{}
	cancel context.CancelFunc
}

func openLive(t *testing.T, c *apptest.Client) *liveStream {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.URL("/inbox/live"), nil)
	if err != nil {
		t.Fatal(err)
	}
	hc := *c.HTTP
	hc.Timeout = 0 // a stream lasts as long as the page
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		t.Fatalf("live stream: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	s := &liveStream{lines: make(chan string, 1024), closed: make(chan struct{}), cancel: cancel}
	go func() {
		defer close(s.closed)
		defer resp.Body.Close()
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			s.lines <- sc.Text()
		}
	}()
	t.Cleanup(cancel)
	return s
}

var liveEventLine = regexp.MustCompile(`^event: c(\d+)$`)

// conversations returns the conversation ids the stream names until it is quiet for d.
func (s *liveStream) conversations(t *testing.T, d time.Duration) (ids []int64, raw []string) {
	t.Helper()
	for {
		select {
		case l := <-s.lines:
			raw = append(raw, l)
			if m := liveEventLine.FindStringSubmatch(l); m != nil {
				id, _ := strconv.ParseInt(m[1], 10, 64)
				ids = append(ids, id)
			}
		case <-time.After(d):
			return ids, raw
		}
	}
}

// The live stream names the conversations that changed, to the members who may see them and to
// no one else, carries no content, and stops once the member is deactivated.
func TestInboxLiveStreamFollowsVisibility(t *testing.T) {
	in := apptest.Start(t)
	in.ConnectSandbox()
	ctx := context.Background()
	admin := in.CreateMember("ada@example.com", "Ada Admin", authz.RoleAdministrator, ownerPassword)
	agent := in.CreateMember("aga@example.com", "Aga Agent", authz.RoleAgent, ownerPassword)
	in.CreateMember("oli@example.com", "Oli Other", authz.RoleAgent, ownerPassword)
	pa, _, err := in.App.Members.Store().Principal(ctx, admin.ID)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := in.Sim.CustomerSays(ctx, apptest.SandboxNumberA, "16505550101", "Mia Mine", "first"); err != nil {
		t.Fatal(err)
	}
	if _, err := in.Sim.CustomerSays(ctx, apptest.SandboxNumberA, "16505550102", "Otto Unassigned", "first"); err != nil {
		t.Fatal(err)
	}
	page, err := in.App.Inbox.List(ctx, pa, inbox.ListQuery{Box: inbox.BoxAll})
	if err != nil || len(page.Conversations) != 2 {
		t.Fatalf("conversations: %v %v", page.Conversations, err)
	}
	var mine, unassigned int64
	for _, c := range page.Conversations {
		if strings.Contains(c.Contact.Name, "Mia") {
			mine = c.ID
		} else {
			unassigned = c.ID
		}
	}
	if err := in.App.Inbox.Assign(ctx, pa, mine, agent.ID); err != nil {
		t.Fatal(err)
	}

	// Without a session there is no stream, only the way to sign in.
	if r := in.Client().Get("/inbox/live"); r.Status != http.StatusSeeOther || !strings.HasPrefix(r.Location(), "/login") {
		t.Errorf("signed out: %d %s", r.Status, r.Location())
	}

	streams := map[string]*liveStream{}
	for _, email := range []string{"ada@example.com", "aga@example.com", "oli@example.com"} {
		c := in.Client()
		c.SignIn(email, ownerPassword)
		streams[email] = openLive(t, c)
	}
	for _, s := range streams {
		s.conversations(t, 50*time.Millisecond) // the opening lines
	}

	for _, who := range []string{"16505550101", "16505550102"} {
		if _, err := in.Sim.CustomerSays(ctx, apptest.SandboxNumberA, who, "", "a secret message text"); err != nil {
			t.Fatal(err)
		}
	}
	got := map[string][]int64{}
	for email, s := range streams {
		ids, raw := s.conversations(t, 400*time.Millisecond)
		got[email] = ids
		if strings.Contains(strings.Join(raw, "\n"), "secret") {
			t.Errorf("%s's stream carries message content", email)
		}
	}
	if !slices.Contains(got["ada@example.com"], mine) || !slices.Contains(got["ada@example.com"], unassigned) {
		t.Errorf("administrator heard %v, want %d and %d", got["ada@example.com"], mine, unassigned)
	}
	if !slices.Contains(got["aga@example.com"], mine) {
		t.Errorf("agent heard %v, want %d", got["aga@example.com"], mine)
	}
	for _, id := range got["aga@example.com"] {
		if id != mine {
			t.Errorf("agent heard of conversation %d, which they cannot see", id)
		}
	}
	if len(got["oli@example.com"]) != 0 {
		t.Errorf("an agent with no conversation heard %v", got["oli@example.com"])
	}

	// Deactivation stops the stream, as it stops the next request.
	if err := in.App.Members.Deactivate(ctx, pa, agent.ID); err != nil {
		t.Fatal(err)
	}
	select {
	case <-streams["aga@example.com"].closed:
	case <-time.After(15 * time.Second):
		t.Error("a deactivated member's stream stays open")
	}
}
