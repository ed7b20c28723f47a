package main

import (
	"errors"
	"strconv"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/mail/mailtest"
)

const testMailFrom = "Switchboard <switchboard@example.com>"

// The outbox survives kill -9 of the real binary: mail committed to the outbox before the kill,
// including mail queued while the server was stuck mid-delivery, arrives after the restart, each
// message exactly once (no Message-ID twice). The kill lands while the mail server holds a DATA
// unanswered, the moment a careless sender would lose or repeat a message.
func TestKillDuringMailDeliveryLosesAndRepeatsNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and kills the binary")
	}
	const first, second, holdAt = 120, 40, 50
	srv := mailtest.Start(t, mailtest.Options{Hold: func(n int) bool { return n == holdAt }})
	bin := buildSwitchboard(t)
	dir := t.TempDir()
	queue := func(n int) {
		t.Helper()
		r := runWith(t, "", nil, "dev", "outbox", "--data", dir, "--count", strconv.Itoa(n), "--to", "ops@example.com",
			"--smtp-url", srv.URL(), "--smtp-from", testMailFrom, "--log-level", "warn")
		if r.code != 0 {
			t.Fatalf("dev outbox: exit %d: %s", r.code, r.stderr)
		}
	}
	queue(first)
	mailArgs := []string{"--smtp-url", srv.URL(), "--smtp-from", testMailFrom}

	p := startSwitchboard(t, bin, dir, freeLoopbackAddr(t), "warn", mailArgs...)
	srv.Held(30 * time.Second)
	// Queued (and acknowledged) while delivery is stuck.
	queue(second)
	p.kill(t)
	srv.Release(errors.New("the client is gone"))
	accepted := len(srv.Messages())
	if accepted != holdAt-1 {
		t.Logf("accepted before the kill: %d", accepted)
	}

	p = startSwitchboard(t, bin, dir, freeLoopbackAddr(t), "warn", mailArgs...)
	defer p.stop(t)

	q := openReadOnly(t, dir)
	var rows int
	if err := q.QueryRow(`SELECT count(*) FROM mail_outbox`).Scan(&rows); err != nil {
		t.Fatal(err)
	}
	if rows < first+second {
		t.Fatalf("%d outbox rows, want at least %d", rows, first+second)
	}
	got := srv.WaitFor(rows, 60*time.Second)
	time.Sleep(2 * time.Second) // a repeat would show up now
	got = srv.Messages()

	seen := map[string]int{}
	for _, m := range got {
		seen[m.MessageID]++
	}
	ids, err := q.Query(`SELECT message_id, sent_at IS NOT NULL FROM mail_outbox`)
	if err != nil {
		t.Fatal(err)
	}
	defer ids.Close()
	for ids.Next() {
		var id string
		var sent bool
		if err := ids.Scan(&id, &sent); err != nil {
			t.Fatal(err)
		}
		if seen[id] != 1 {
			t.Errorf("message %s arrived %d times", id, seen[id])
		}
		if !sent {
			t.Errorf("message %s is not marked sent", id)
		}
		delete(seen, id)
	}
	for id, n := range seen {
		t.Errorf("message %s (%d times) is not in the outbox", id, n)
	}
	t.Logf("%d messages in the outbox, %d accepted before kill -9, %d received in all, none twice", rows, accepted, len(got))
}
