package inbox

import (
	"context"
	"os"
	"testing"

	"github.com/switchboard/switchboard/internal/db"
)

func TestZZStat(t *testing.T) {
	dir := os.Getenv("ZZ_DIR")
	if dir == "" { t.Skip() }
	d, _ := db.OpenFile(context.Background(), dir+"/switchboard.db")
	rows, _ := d.R.Query("SELECT tbl, coalesce(idx,''), stat FROM sqlite_stat1 WHERE tbl IN ('conversations','contacts','conversation_participants','messages')")
	for rows.Next() { var a, b, c string; rows.Scan(&a, &b, &c); t.Log(a, b, c) }
}
