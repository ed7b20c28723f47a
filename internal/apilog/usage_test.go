package apilog_test

import (
	"context"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/apilog"
	"github.com/switchboard/switchboard/internal/clock"
	"github.com/switchboard/switchboard/internal/db"
	"github.com/switchboard/switchboard/internal/whatsapp"
)

func TestEndpointShapes(t *testing.T) {
	for _, c := range []struct{ method, path, endpoint, id string }{
		{"POST", "/v21.0/1234567/messages", "POST /{id}/messages", "1234567"},
		{"GET", "/v21.0/998877/message_templates?fields=name&limit=100", "GET /{id}/message_templates", "998877"},
		{"GET", "/v21.0/55501", "GET /{id}", "55501"},
		{"GET", "/whatsapp_business/attachments/?mid=…", "GET /whatsapp_business/attachments", ""},
		{"POST", "/v21.0/1234567/media", "POST /{id}/media", "1234567"},
	} {
		ep, id := apilog.Endpoint(c.method, c.path)
		if ep != c.endpoint || id != c.id {
			t.Errorf("Endpoint(%s %s) = %q, %q; want %q, %q", c.method, c.path, ep, id, c.endpoint, c.id)
		}
	}
}

// The daily counts written with the call log equal those rebuilt from it, and a call belongs
// to a number only when its path names one of the workspace's numbers.
func TestUsageKeptWithTheLogMatchesRebuild(t *testing.T) {
	ctx := context.Background()
	d, _, err := db.OpenAndMigrate(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	res, err := d.W.Exec(`INSERT INTO wabas (waba_id, name, created_at, updated_at) VALUES ('9000', 'WABA', 0, 0)`)
	if err != nil {
		t.Fatal(err)
	}
	waba, _ := res.LastInsertId()
	if _, err := d.W.Exec(`INSERT INTO phone_numbers (waba_ref, phone_number_id, created_at, updated_at) VALUES (?, '4242', 0, 0)`, waba); err != nil {
		t.Fatal(err)
	}
	clk := clock.NewFake(time.Date(2026, 11, 10, 12, 0, 0, 0, time.UTC))
	l := apilog.New(d, clk, nil)
	defer l.Close()
	for i := range 30 {
		at := clk.Now().Add(-time.Duration(i) * 5 * time.Hour)
		status := 200
		if i%7 == 0 {
			status = 400
		}
		l.Record(ctx, whatsapp.Call{At: at, Method: "POST", Path: "/v21.0/4242/messages", Status: status})
		l.Record(ctx, whatsapp.Call{At: at, Method: "GET", Path: "/v21.0/9000/message_templates?limit=100", Status: 200})
	}
	if err := l.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	dump := func() []string {
		rows, err := d.R.Query(`SELECT day, phone_number_id, endpoint, calls, errors FROM cloud_api_usage ORDER BY 1, 2, 3`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var out []string
		for rows.Next() {
			var day, number, calls, errs int64
			var ep string
			rows.Scan(&day, &number, &ep, &calls, &errs)
			out = append(out, fmt.Sprint(day, number, ep, calls, errs))
		}
		return out
	}
	live := dump()
	var numberCalls, numberErrors, accountCalls int64
	d.R.QueryRow(`SELECT sum(calls), sum(errors) FROM cloud_api_usage WHERE phone_number_id <> 0 AND endpoint = 'POST /{phone-number-id}/messages'`).Scan(&numberCalls, &numberErrors)
	d.R.QueryRow(`SELECT sum(calls) FROM cloud_api_usage WHERE phone_number_id = 0 AND endpoint = 'GET /{id}/message_templates'`).Scan(&accountCalls)
	if numberCalls != 30 || numberErrors != 5 || accountCalls != 30 {
		t.Fatalf("number's sends %d (%d failed), account's template calls %d", numberCalls, numberErrors, accountCalls)
	}
	if err := l.RebuildUsage(ctx); err != nil {
		t.Fatal(err)
	}
	if rebuilt := dump(); !reflect.DeepEqual(live, rebuilt) {
		t.Fatalf("kept with the log:\n%v\nrebuilt:\n%v", live, rebuilt)
	}
}
