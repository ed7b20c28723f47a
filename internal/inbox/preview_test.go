package inbox

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
)

// TestPreviewIsTheNewestMessagesText writes messages at random, as any writer could (in order,
// with an older timestamp than the newest as Meta's clock allows, edited texts, deleted messages
// as retention and erasure delete them), and checks after each change that every conversation's
// preview (migrations/0028) is what the inbox showed before it was kept: the first 200
// characters of the newest message's text by (created_at, id), or "" without messages.
func TestPreviewIsTheNewestMessagesText(t *testing.T) {
	ctx := context.Background()
	d := openDB(t)
	seedNumbers(t, d, 1)
	rng := rand.New(rand.NewPCG(5, 6))
	var convs, msgs []int64
	for i := range 6 {
		res, err := d.W.ExecContext(ctx, `INSERT INTO contacts (wa_id, created_at, updated_at) VALUES (?, 0, 0)`, fmt.Sprintf("49153%08d", i))
		if err != nil {
			t.Fatal(err)
		}
		contact, _ := res.LastInsertId()
		res, err = d.W.ExecContext(ctx, `INSERT INTO conversations (contact_id, phone_number_id, last_message_at, created_at, updated_at)
			VALUES (?, 1, 0, 0, 0)`, contact)
		if err != nil {
			t.Fatal(err)
		}
		id, _ := res.LastInsertId()
		convs = append(convs, id)
	}
	long := strings.Repeat("é", 250) // longer than the preview keeps
	for step := range 300 {
		c := convs[rng.IntN(len(convs))]
		switch k := rng.IntN(10); {
		case k < 6 || len(msgs) == 0:
			text := fmt.Sprintf("message %d", step)
			if rng.IntN(10) == 0 {
				text = long
			}
			res, err := d.W.ExecContext(ctx, `INSERT INTO messages (conversation_id, direction, wamid, type, text, status, created_at)
				VALUES (?, 'in', ?, 'text', ?, 'received', ?)`, c, fmt.Sprintf("wamid.preview.%d", step), text, int64(step)-rng.Int64N(40))
			if err != nil {
				t.Fatal(err)
			}
			id, _ := res.LastInsertId()
			msgs = append(msgs, id)
		case k < 8:
			if _, err := d.W.ExecContext(ctx, `UPDATE messages SET text = ? WHERE id = ?`, fmt.Sprintf("edited %d", step), msgs[rng.IntN(len(msgs))]); err != nil {
				t.Fatal(err)
			}
		default:
			i := rng.IntN(len(msgs))
			if _, err := d.W.ExecContext(ctx, `DELETE FROM messages WHERE id = ?`, msgs[i]); err != nil {
				t.Fatal(err)
			}
			msgs = append(msgs[:i], msgs[i+1:]...)
		}
		var wrong int
		var example string
		if err := d.R.QueryRow(`SELECT count(*), coalesce(max(c.id || ': ' || c.preview), '') FROM conversations c
			WHERE c.preview IS NOT coalesce((SELECT substr(m.text, 1, 200) FROM messages m WHERE m.conversation_id = c.id
				ORDER BY m.created_at DESC, m.id DESC LIMIT 1), '')`).Scan(&wrong, &example); err != nil {
			t.Fatal(err)
		}
		if wrong != 0 {
			t.Fatalf("after step %d, %d conversations show a preview that is not their newest message's text, e.g. %s", step, wrong, example)
		}
	}
	// Retention deletes many at once; the conversations emptied show nothing.
	if _, err := d.W.ExecContext(ctx, `DELETE FROM messages WHERE conversation_id IN (?, ?)`, convs[0], convs[1]); err != nil {
		t.Fatal(err)
	}
	var previews int
	if err := d.R.QueryRow(`SELECT count(*) FROM conversations WHERE id IN (?, ?) AND preview <> ''`, convs[0], convs[1]).Scan(&previews); err != nil || previews != 0 {
		t.Fatalf("emptied conversations keep %d previews (%v)", previews, err)
	}
}
