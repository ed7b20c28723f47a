package reviews

import (
	"context"
	"strings"
	"testing"

	"github.com/switchboard/switchboard/internal/db"
)

// The Reviews page reads the activity log with two statements whatever its size: the newest
// event per member through the actor index (an index lookup per member, no scan of the log),
// and the usage window as an id range on the primary key.
func TestActivityQueriesUseIndexes(t *testing.T) {
	d, err := db.Open(context.Background(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	plan := func(q string) string {
		rows, err := d.R.Query(`EXPLAIN QUERY PLAN ` + q)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var out []string
		for rows.Next() {
			var id, parent, notused int
			var detail string
			if err := rows.Scan(&id, &parent, &notused, &detail); err != nil {
				t.Fatal(err)
			}
			out = append(out, detail)
		}
		return strings.Join(out, "; ")
	}
	last := plan(`SELECT m.id, (SELECT e.occurred_at FROM audit_events e
		WHERE e.actor_type = 'member' AND e.actor_id = CAST(m.id AS TEXT) ORDER BY e.id DESC LIMIT 1) FROM members m`)
	if !strings.Contains(last, "audit_events_actor_idx") || strings.Contains(last, "TEMP B-TREE") {
		t.Errorf("last activity plan: %s", last)
	}
	used := plan(`SELECT actor_id, action, ` + sendKindSQL + ` AS kind FROM audit_events
		WHERE id >= 1 AND actor_type = 'member' AND outcome = 'success' GROUP BY actor_id, action, kind`)
	if strings.Contains(used, "SCAN audit_events") && !strings.Contains(used, "USING") {
		t.Errorf("usage plan scans the whole log: %s", used)
	}
	t.Logf("last activity: %s", last)
	t.Logf("usage: %s", used)
}
