package web

import (
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/switchboard/switchboard/internal/audit"
	"github.com/switchboard/switchboard/web/views"
)

// activityIntegrity verifies the chain. Opened normally, the page comes at once and fetches the
// verdict with htmx (?run=1), since a million events take a second or two; without script the
// page offers a link to the same. Concurrent checks share one run (VerifyShared).
func (s *Server) activityIntegrity(c echo.Context) error {
	q := s.parseActivityQueryIn(c.QueryParams(), s.viewerZoneName(c)).zoneOnly()
	v := views.IntegrityView{BackHref: q.href("/activity")}
	v.Report.RunHref = q.href("/activity/integrity", "run", "1")
	if c.QueryParam("run") == "1" {
		start := time.Now()
		rep, err := s.Audit.VerifyShared(c.Request().Context())
		if err != nil {
			return err
		}
		var lastHash string
		if rep.Intact && rep.LastID != 0 {
			ev, err := s.Audit.Get(c.Request().Context(), rep.LastID)
			if err != nil {
				return err
			}
			lastHash = ev.Hash
		}
		v.Report = integrityReport(rep, q, lastHash, time.Since(start))
		crep, ok, err := s.Audit.VerifyOwnCheckpoints(c.Request().Context())
		if err != nil {
			return err
		}
		if ok {
			v.Report.Anchor = integrityAnchor(crep, q)
		}
		if isHTMX(c) {
			return render(c, http.StatusOK, views.IntegrityReportPart(v.Report))
		}
	}
	v.Page = s.page(c, "Integrity", "activity")
	return render(c, http.StatusOK, views.Integrity(v))
}

func integrityReport(rep audit.Report, q activityQuery, lastHash string, took time.Duration) views.IntegrityReport {
	eventHref := func(id int64) string { return q.href("/activity/" + strconv.FormatInt(id, 10)) }
	r := views.IntegrityReport{
		Ran: true, Intact: rep.Intact, Empty: rep.Events == 0,
		Events: thousands(rep.Events), FirstID: thousands(rep.FirstID), LastID: thousands(rep.LastID),
		LastHref: eventHref(rep.LastID), LastHash: lastHash, Reason: rep.Reason,
		BrokenID: thousands(rep.BrokenID), BrokenHref: eventHref(rep.BrokenID),
		Took: tookLabel(took),
	}
	if !rep.LastAt.IsZero() {
		r.LastLocal = rep.LastAt.In(q.Loc).Format("2 Jan 2006 15:04:05 MST")
		r.LastUTC = rep.LastAt.UTC().Format("2006-01-02 15:04:05.000")
	}
	if cp := rep.Checkpoint; cp.ID != 0 {
		r.Pruned = true
		r.CheckpointFirst = thousands(cp.FirstID)
		r.CheckpointAt = cp.At.In(q.Loc).Format("2 Jan 2006 15:04 MST")
		r.CheckpointBy = printable(cp.ActorName)
		r.CheckpointCount = thousands(cp.Pruned)
	}
	return r
}

func integrityAnchor(rep audit.CheckpointReport, q activityQuery) views.IntegrityAnchor {
	a := views.IntegrityAnchor{Shown: true, OK: rep.OK(), None: !rep.HasLatest, Problems: rep.Problems, KeyID: rep.KeyID}
	if rep.HasLatest {
		cp := rep.Latest
		a.Seq, a.EventID = thousands(cp.Seq), thousands(cp.EventID)
		a.EventHref = q.href("/activity/" + strconv.FormatInt(cp.EventID, 10))
		a.At = cp.Time().In(q.Loc).Format("2 Jan 2006 15:04:05 MST")
		a.Pruned = rep.AnchorPruned
		a.Unanchored = thousands(rep.Unanchored) + " events"
		if rep.Unanchored == 1 {
			a.Unanchored = "1 event"
		}
	}
	return a
}

// thousands writes n with comma separators: 1,000,000.
func thousands(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := n < 0
	if neg {
		s = s[1:]
	}
	out := make([]byte, 0, len(s)+len(s)/3+1)
	for i := range len(s) {
		if i > 0 && (len(s)-i)%3 == 0 {
			out = append(out, ',')
		}
		out = append(out, s[i])
	}
	if neg {
		return "-" + string(out)
	}
	return string(out)
}

func tookLabel(d time.Duration) string {
	switch {
	case d < time.Millisecond:
		return "under a millisecond"
	case d < time.Second:
		return strconv.FormatInt(d.Milliseconds(), 10) + " ms"
	}
	return strconv.FormatFloat(d.Seconds(), 'f', 1, 64) + " s"
}
