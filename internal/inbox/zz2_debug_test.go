package inbox

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/db"
)

func TestZZSQL(t *testing.T) {
	dir := os.Getenv("ZZ_DIR")
	if dir == "" { t.Skip() }
	d, err := db.OpenFile(context.Background(), dir+"/switchboard.db")
	if err != nil { t.Fatal(err) }
	for _, q := range strings.Split(os.Getenv("ZZ_SQL"), ";;") {
		rows, err := d.R.Query("EXPLAIN QUERY PLAN "+q)
		if err != nil { t.Fatal(err) }
		var b strings.Builder
		for rows.Next() { var id, parent, nu int; var detail string; rows.Scan(&id, &parent, &nu, &detail); b.WriteString("   "+detail+"\n") }
		rows.Close()
		t0 := time.Now()
		rows, err = d.R.Query(q)
		if err != nil { t.Fatal(err) }
		n := 0
		for rows.Next() { n++ }
		rows.Close()
		t.Logf("%s\n%s  %d rows in %v", q, b.String(), n, time.Since(t0))
	}
}
