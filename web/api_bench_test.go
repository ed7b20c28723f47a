package web_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/apikeys"
	"github.com/switchboard/switchboard/internal/authz"
	"github.com/switchboard/switchboard/internal/clock"
	"github.com/switchboard/switchboard/internal/inbox/inboxgen"
)

// Server time of API requests over the generated inbox (100,000 conversations, 1,000,000
// messages): key lookup, creator's principal, rate limit, the inbox query through the
// visibility predicate and the JSON encoding, through the app's own handler.
//
//	go test -run '^$' -bench APIConversations -benchtime 300x ./web/
func BenchmarkAPIConversations(b *testing.B) {
	in := startInboxBench(b)
	ctx := context.Background()
	admin, _, err := in.app.Members.Store().Principal(ctx, inboxgen.AdministratorID)
	if err != nil {
		b.Fatal(err)
	}
	newKey := func(in2 apikeys.NewKey) string {
		_, secret, err := in.app.APIKeys.Create(ctx, admin, in2)
		if err != nil {
			b.Fatal(err)
		}
		return secret
	}
	// Like the generated Supervisor: view all and assign, on numbers 1 and 2.
	scoped := newKey(apikeys.NewKey{Name: "supervisor-like", Scopes: []string{authz.ConversationsViewAll.ID(), authz.ConversationsAssign.ID()},
		NumberIDs: []int64{1, 2}})
	all := newKey(apikeys.NewKey{Name: "everything", Scopes: authz.FullSet().IDs(), AllNumbers: true})
	fake, _ := in.app.Clock.(*clock.Fake)

	get := func(target, key string) (int, string) {
		req := httptest.NewRequest(http.MethodGet, target, nil)
		req.Header.Set("Authorization", "Bearer "+key)
		rec := httptest.NewRecorder()
		in.h.ServeHTTP(rec, req)
		return rec.Code, rec.Body.String()
	}
	_, first := get("/api/v1/conversations?box=all", scoped)
	var page struct {
		NextCursor string `json:"next_cursor"`
	}
	_ = json.Unmarshal([]byte(first), &page)
	for _, tc := range []struct{ name, target, key string }{
		{"scoped/all", "/api/v1/conversations?box=all", scoped},
		{"scoped/all-page-2", "/api/v1/conversations?box=all&cursor=" + url.QueryEscape(page.NextCursor), scoped},
		{"scoped/unassigned", "/api/v1/conversations?box=unassigned", scoped},
		{"scoped/search-text", "/api/v1/conversations?box=all&q=warranty+repair", scoped},
		{"all-numbers/all", "/api/v1/conversations?box=all", all},
		{"all-numbers/messages-of-5000", "/api/v1/conversations/1/messages", all},
		{"all-numbers/contacts", "/api/v1/contacts", all},
	} {
		b.Run(tc.name, func(b *testing.B) {
			var items int
			serve := func() time.Duration {
				if fake != nil {
					fake.Advance(100 * time.Millisecond) // one token of the key's rate limit
				}
				start := time.Now()
				code, body := get(tc.target, tc.key)
				took := time.Since(start)
				items = strings.Count(body, `"id":`)
				if code != http.StatusOK || items == 0 {
					b.Fatalf("%s: %d\n%.300s", tc.target, code, body)
				}
				return took
			}
			for range 20 {
				serve()
			}
			lat := make([]time.Duration, 0, 1024)
			for b.Loop() {
				lat = append(lat, serve())
			}
			slices.Sort(lat)
			ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
			at := func(q float64) time.Duration { return lat[min(len(lat)-1, int(q*float64(len(lat))))] }
			b.ReportMetric(ms(at(0.50)), "p50-ms")
			b.ReportMetric(ms(at(0.95)), "p95-ms")
			b.ReportMetric(ms(lat[len(lat)-1]), "max-ms")
			b.ReportMetric(float64(items), "ids")
		})
	}
}
