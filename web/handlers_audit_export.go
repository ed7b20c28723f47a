package web

import (
	"io"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/switchboard/switchboard/internal/audit"
)

// activityExport streams the events of the current filter as CSV or JSON Lines. The export is
// recorded (audit.exported, with the filter) before the first byte goes out.
func (s *Server) activityExport(c echo.Context) error {
	q := s.parseActivityQueryIn(c.QueryParams(), s.viewerZoneName(c))
	if len(q.Errors) > 0 {
		return echo.NewHTTPError(http.StatusBadRequest, "The filter of this export is not valid. Go back to the activity page and export from there.")
	}
	format := audit.ExportFormat(c.QueryParam("format"))
	if format != audit.ExportCSV && format != audit.ExportJSONL {
		return echo.NewHTTPError(http.StatusBadRequest, "Choose CSV or JSON Lines.")
	}

	// Re-authentication is the route's: /activity/export is declared Fresh(), so a member who
	// has not entered a password or code in the last 10 minutes never reaches this handler.

	contentType, ext := "text/csv; charset=utf-8", "csv"
	if format == audit.ExportJSONL {
		contentType, ext = "application/x-ndjson; charset=utf-8", "jsonl"
	}
	name := "switchboard-activity-" + s.Clock.Now().UTC().Format("20060102T150405Z") + "." + ext
	res, err := s.Audit.Export(c.Request().Context(), q.Filter, format, func() io.Writer {
		h := c.Response().Header()
		h.Set(echo.HeaderContentType, contentType)
		h.Set(echo.HeaderContentDisposition, `attachment; filename="`+name+`"`)
		h.Set("Cache-Control", "no-store")
		c.Response().WriteHeader(http.StatusOK)
		return c.Response()
	})
	if err != nil && c.Response().Committed {
		// Too late for an error page: the file is cut short, which its last line shows (and a
		// JSON Lines file then fails to parse). The export itself is on record already.
		s.Logger.ErrorContext(c.Request().Context(), "activity export cut short", "error", err,
			"event_id", res.Event.ID, "rows", res.Rows)
		return nil
	}
	return err
}
