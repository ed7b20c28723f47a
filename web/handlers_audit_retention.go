package web

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/switchboard/switchboard/internal/audit"
	"github.com/switchboard/switchboard/web/views"
)

// activityRetention shows the retention setting and what pruning now would delete.
func (s *Server) activityRetention(c echo.Context) error {
	days, err := s.Audit.RetentionDays(c.Request().Context())
	if err != nil {
		return err
	}
	v := views.RetentionView{Forever: days == 0, Days: "365"}
	if days != 0 {
		v.Days = strconv.Itoa(days)
	}
	return s.renderRetention(c, http.StatusOK, v)
}

func (s *Server) renderRetention(c echo.Context, status int, v views.RetentionView) error {
	ctx := c.Request().Context()
	q := s.parseActivityQueryIn(c.QueryParams(), s.viewerZoneName(c)).zoneOnly()
	v.Page = s.page(c, "Retention", "activity")
	v.BackHref, v.MinDays, v.MaxDays = q.href("/activity"), audit.MinRetentionDays, audit.MaxRetentionDays
	plan, err := s.Audit.PlanPrune(ctx)
	if err != nil {
		return err
	}
	if !plan.Cutoff.IsZero() {
		v.Cutoff = plan.Cutoff.In(q.Loc).Format("2 Jan 2006 15:04 MST")
	}
	v.CanPrune, v.PruneCount = plan.Events > 0, thousands(plan.Events)
	v.PruneFirst = q.href("/activity/" + strconv.FormatInt(plan.FirstID, 10))
	cps, err := s.Audit.Checkpoints(ctx, 10)
	if err != nil {
		return err
	}
	for _, cp := range cps {
		v.Checkpoints = append(v.Checkpoints, views.CheckpointRow{
			At: cp.At.In(q.Loc).Format("2 Jan 2006 15:04"), By: printable(cp.ActorName),
			Pruned: thousands(cp.Pruned), FirstID: thousands(cp.FirstID),
			FirstHref: q.href("/activity/" + strconv.FormatInt(cp.FirstID, 10)),
			EventHref: q.href("/activity/" + strconv.FormatInt(cp.EventID, 10)),
		})
	}
	return render(c, status, views.Retention(v))
}

// activitySetRetention saves the retention period (recorded as audit.retention_changed).
func (s *Server) activitySetRetention(c echo.Context) error {
	keep, raw := c.FormValue("keep"), strings.TrimSpace(c.FormValue("days"))
	days := 0
	switch keep {
	case "forever":
	case "days":
		n, err := strconv.Atoi(raw)
		if err != nil || n < audit.MinRetentionDays || n > audit.MaxRetentionDays {
			return s.renderRetention(c, http.StatusUnprocessableEntity, views.RetentionView{
				Days: raw, DaysError: fmt.Sprintf("Enter a whole number of days from %d to %d.", audit.MinRetentionDays, audit.MaxRetentionDays),
			})
		}
		days = n
	default:
		return s.renderRetention(c, http.StatusUnprocessableEntity, views.RetentionView{Days: raw, DaysError: "Choose how long to keep events."})
	}
	if err := s.Audit.SetRetention(c.Request().Context(), days); err != nil {
		if errors.Is(err, audit.ErrRetention) {
			return s.renderRetention(c, http.StatusUnprocessableEntity, views.RetentionView{Days: raw, DaysError: err.Error()})
		}
		return err
	}
	msg := "Events are kept forever."
	if days != 0 {
		msg = fmt.Sprintf("Events are kept for %d days. Older ones are deleted at the next pruning.", days)
	}
	return s.redirectWithFlash(c, "/activity/retention", msg)
}

// activityPrune prunes now, as the member who asked.
func (s *Server) activityPrune(c echo.Context) error {
	res, err := s.Audit.Prune(c.Request().Context())
	if err != nil {
		return err
	}
	msg := "Nothing was old enough to delete."
	if res.Deleted > 0 {
		msg = fmt.Sprintf("Deleted %s events. The chain now starts at event %s.", thousands(res.Deleted), thousands(res.Checkpoint.FirstID))
	}
	return s.redirectWithFlash(c, "/activity/retention", msg)
}
