package inbox

import (
	"context"
	"fmt"
	"io"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/audit"
	"github.com/switchboard/switchboard/internal/authz"
	"github.com/switchboard/switchboard/internal/clock"
	"github.com/switchboard/switchboard/internal/members"
)

// BenchmarkExportContacts streams 10k and 100k contacts (two custom fields, a label each) to
// io.Discard and reports the peak heap in use while it runs: the export writes row by row, so
// the peak should not grow with the number of contacts.
//
//	go test -run '^$' -bench ExportContacts -benchtime 3x ./internal/inbox
func BenchmarkExportContacts(b *testing.B) {
	for _, n := range []int{10_000, 100_000} {
		b.Run(fmt.Sprintf("%dk", n/1000), func(b *testing.B) {
			ctx := context.Background()
			d := openDB(b)
			clk := clock.NewFake(testStart)
			if err := members.NewStore(d).SyncBuiltinRoles(ctx, clk.Now()); err != nil {
				b.Fatal(err)
			}
			svc := NewService(d, audit.New(d, clk), clk, nil)
			id := insertMember(b, d, "Ada Admin", authz.RoleAdministrator)
			admin, _, err := members.NewStore(d).Principal(ctx, id)
			if err != nil {
				b.Fatal(err)
			}
			tier, _ := svc.CreateContactField(ctx, admin, ContactFieldInput{Label: "Tier", Kind: "choice", Choices: "Gold\nSilver"})
			since, _ := svc.CreateContactField(ctx, admin, ContactFieldInput{Label: "Since", Kind: "date"})
			vip, _ := svc.CreateLabel(ctx, admin, LabelInput{Name: "VIP"})
			tx, err := d.W.BeginTx(ctx, nil)
			if err != nil {
				b.Fatal(err)
			}
			for i := range n {
				res, err := tx.ExecContext(ctx, `INSERT INTO contacts (wa_id, profile_name, name, notes, created_at, updated_at) VALUES (?, ?, ?, ?, 0, 0)`,
					fmt.Sprintf("491511%07d", i), fmt.Sprintf("Customer %d", i), fmt.Sprintf("Kunde %d", i), "Prefers mornings")
				if err != nil {
					b.Fatal(err)
				}
				cid, _ := res.LastInsertId()
				if _, err := tx.ExecContext(ctx, `INSERT INTO contact_field_values VALUES (?, ?, 'Gold'), (?, ?, '2024-03-01')`, cid, tier.ID, cid, since.ID); err != nil {
					b.Fatal(err)
				}
				if _, err := tx.ExecContext(ctx, `INSERT INTO contact_labels VALUES (?, ?, NULL, 0)`, cid, vip.ID); err != nil {
					b.Fatal(err)
				}
			}
			if err := tx.Commit(); err != nil {
				b.Fatal(err)
			}
			var peak atomic.Uint64
			b.ResetTimer()
			for range b.N {
				runtime.GC()
				var ms runtime.MemStats
				runtime.ReadMemStats(&ms)
				base := ms.HeapInuse
				stop := make(chan struct{})
				done := make(chan struct{})
				go func() {
					defer close(done)
					t := time.NewTicker(5 * time.Millisecond)
					defer t.Stop()
					for {
						select {
						case <-stop:
							return
						case <-t.C:
							var m runtime.MemStats
							runtime.ReadMemStats(&m)
							if m.HeapInuse > base && m.HeapInuse-base > peak.Load() {
								peak.Store(m.HeapInuse - base)
							}
						}
					}
				}()
				got, err := svc.ExportContacts(ctx, admin, func() io.Writer { return io.Discard })
				close(stop)
				<-done
				if err != nil || got != n {
					b.Fatalf("exported %d of %d: %v", got, n, err)
				}
			}
			b.ReportMetric(float64(peak.Load())/(1<<20), "peak-heap-MB")
			b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "contacts/s")
		})
	}
}
