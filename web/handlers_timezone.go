package web

import (
	"errors"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/switchboard/switchboard/internal/members"
	"github.com/switchboard/switchboard/web/views"
)

// viewerZone is the signed-in member's own time zone, by name and loaded; UTC when they have not
// chosen one (or nobody is signed in). Pages show times in it and read times typed in it.
func (s *Server) viewerZone(c echo.Context) (string, *time.Location) {
	p := principalOf(c)
	if p == nil {
		return "UTC", time.UTC
	}
	loc, ok := s.zoneFor(p.TimeZone)
	if !ok || loc == time.UTC {
		return "UTC", time.UTC
	}
	return p.TimeZone, loc
}

// viewerZoneName is the name of viewerZone.
func (s *Server) viewerZoneName(c echo.Context) string {
	name, _ := s.viewerZone(c)
	return name
}

// zoneOptions is the zone select: the common zones, and the chosen one if it is not among them.
func (s *Server) zoneOptions(chosen string, now time.Time) []views.Option {
	out := make([]views.Option, 0, len(commonZones)+1)
	for _, z := range commonZones {
		out = append(out, views.Option{Value: z, Label: s.zoneLabel(z, now)})
	}
	if chosen != "" && !hasOption(out, chosen) {
		out = append(out, views.Option{Value: chosen, Label: s.zoneLabel(chosen, now)})
	}
	return out
}

// timeZoneChoice is the account page's zone card.
func (s *Server) timeZoneChoice(c echo.Context, errMsg string) views.TimeZoneChoice {
	p := principalOf(c)
	return views.TimeZoneChoice{Zone: p.TimeZone, Options: s.zoneOptions(p.TimeZone, s.Clock.Now()), Error: errMsg}
}

// saveTimeZone sets the member's own zone; an unknown zone re-renders the page with the error.
func (s *Server) saveTimeZone(c echo.Context) error {
	p := principalOf(c)
	zone := c.FormValue("time_zone")
	err := s.Members.SetTimeZone(c.Request().Context(), p.MemberID, zone)
	var fe members.FieldErrors
	if errors.As(err, &fe) {
		return s.renderAccountWith(c, http.StatusBadRequest, nil, fe["time_zone"])
	}
	if err != nil {
		return err
	}
	return s.redirectWithFlash(c, "/account", "Times are now shown in "+s.zoneLabel(zone, s.Clock.Now())+".")
}

// viewerTime is t as the viewer reads it, in their own zone, named: "24 Dec 2026 09:00
// Asia/Kolkata", or "… UTC" when they have not chosen one.
func (s *Server) viewerTime(c echo.Context, t time.Time) string { return s.viewerTimes(c)(t) }

// viewerNow is the time now in the viewer's zone.
func (s *Server) viewerNow(c echo.Context) time.Time {
	_, loc := s.viewerZone(c)
	return s.Clock.Now().In(loc)
}

// viewerTimes is viewerTime for view builders that are not given the request.
func (s *Server) viewerTimes(c echo.Context) func(time.Time) string {
	zone, loc := s.viewerZone(c)
	return func(t time.Time) string { return formatTimeIn(t, loc, zone) }
}

// formatTimeIn is t in loc, named zone: "24 Dec 2026 09:00 Asia/Kolkata".
func formatTimeIn(t time.Time, loc *time.Location, zone string) string {
	return t.In(loc).Format("2 Jan 2006 15:04") + " " + zone
}
