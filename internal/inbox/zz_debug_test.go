package inbox

import (
	"context"
	"os"
	"strings"
	"testing"
	"database/sql"
	_ "modernc.org/sqlite"

	"github.com/switchboard/switchboard/internal/authz"
	"github.com/switchboard/switchboard/internal/members"
	"github.com/switchboard/switchboard/internal/db"
)

func TestZZPlans(t *testing.T) {
	dir := os.Getenv("ZZ_DIR")
	if dir == "" { t.Skip() }
	ctx := context.Background()
	d, err := db.OpenFile(ctx, dir+"/switchboard.db")
	if err != nil { t.Fatal(err) }
	st := members.NewStore(d)
	load := func(id int64) *authz.Principal { p, _, err := st.Principal(ctx, id); if err != nil { t.Fatal(err) }; return p }
	admin, agent, sup := load(1), load(2), load(3)
	plan := func(name, q string, args []any) {
		rows, err := d.R.Query("EXPLAIN QUERY PLAN "+q, args...)
		if err != nil { t.Fatal(err) }
		var b strings.Builder
		for rows.Next() { var id, parent, nu int; var detail string; rows.Scan(&id, &parent, &nu, &detail); b.WriteString("   "+detail+"\n") }
		rows.Close()
		t.Logf("%s:\n%s", name, b.String())
	}
	for _, c := range []struct{ n string; p *authz.Principal; q ListQuery }{
		{"admin all", admin, ListQuery{Box: BoxAll}},
		{"admin escalated", admin, ListQuery{Box: BoxEscalated}},
		{"agent all", agent, ListQuery{Box: BoxAll}},
		{"agent mine", agent, ListQuery{Box: BoxMine}},
		{"sup all", sup, ListQuery{Box: BoxAll}},
		{"sup escalated", sup, ListQuery{Box: BoxEscalated}},
		{"admin search", admin, ListQuery{Box: BoxAll, Search: "warranty rep"}},
	} {
		q, args, err := listSQL(c.p, c.q, ViewFor(c.p), 51)
		if err != nil { t.Fatal(err) }
		plan(c.n, q, args)
	}
	_ = sql.ErrNoRows
}
