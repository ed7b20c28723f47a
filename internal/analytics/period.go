package analytics

import (
	"errors"
	"fmt"
	"time"
)

// Presets of the date range, in the viewer's time zone.
const (
	PresetToday  = "today"
	Preset7      = "7d"
	Preset30     = "30d"
	Preset90     = "90d"
	PresetCustom = "custom"
)

// MaxDays is the longest custom range: the rollups are kept for as long as messages are, but a
// chart of more than a year of days says little.
const MaxDays = 366

// Step is the width of one bar of the charts over time.
type Step int

const (
	StepHour Step = iota
	StepDay
)

// Period is a range of whole local days in a time zone, and the instants that bound it. The
// rollups are kept by the UTC hour, so the bounds are whole UTC hours: exact in every zone
// whose offset is whole hours. In a zone like India's (UTC+05:30) each local midnight is moved
// back to the hour before it (23:30 the day before); Shifted says so and the page tells the
// viewer.
type Period struct {
	Preset   string
	From, To time.Time // the first and last local day (midnight in Loc)
	Loc      *time.Location
	Start    time.Time // inclusive, a whole UTC hour
	End      time.Time // exclusive, a whole UTC hour
	Step     Step
	Shifted  bool // Loc's offset is not a whole number of hours
}

// ErrBadPeriod is a range the page cannot show; its message is for the viewer.
var ErrBadPeriod = errors.New("bad period")

// ParsePeriod reads a preset or a custom range ("2006-01-02" dates, both included).
func ParsePeriod(preset, from, to string, loc *time.Location, now time.Time) (Period, error) {
	if loc == nil {
		loc = time.UTC
	}
	today := midnight(now.In(loc))
	p := Period{Preset: preset, Loc: loc}
	switch preset {
	case "", Preset7:
		p.Preset, p.From, p.To = Preset7, today.AddDate(0, 0, -6), today
	case PresetToday:
		p.From, p.To = today, today
	case Preset30:
		p.From, p.To = today.AddDate(0, 0, -29), today
	case Preset90:
		p.From, p.To = today.AddDate(0, 0, -89), today
	case PresetCustom:
		f, err1 := time.ParseInLocation(time.DateOnly, from, loc)
		t, err2 := time.ParseInLocation(time.DateOnly, to, loc)
		if err1 != nil || err2 != nil {
			return Period{}, fmt.Errorf("%w: give both dates as YYYY-MM-DD", ErrBadPeriod)
		}
		if t.Before(f) {
			return Period{}, fmt.Errorf("%w: the end date is before the start date", ErrBadPeriod)
		}
		if t.Sub(f) > MaxDays*24*time.Hour {
			return Period{}, fmt.Errorf("%w: a range may be at most %d days", ErrBadPeriod, MaxDays)
		}
		p.From, p.To = f, t
	default:
		return Period{}, fmt.Errorf("%w: unknown range %q", ErrBadPeriod, preset)
	}
	p.Start = floorHour(p.From)
	p.End = floorHour(p.To.AddDate(0, 0, 1))
	_, off := p.From.Zone()
	_, off2 := p.To.Zone()
	p.Shifted = off%3600 != 0 || off2%3600 != 0
	p.Step = StepDay
	if p.To.Sub(p.From) < 48*time.Hour {
		p.Step = StepHour
	}
	return p, nil
}

func midnight(t time.Time) time.Time {
	y, m, d := t.Date()
	return time.Date(y, m, d, 0, 0, 0, 0, t.Location())
}

// floorHour is the whole UTC hour at or before t.
func floorHour(t time.Time) time.Time { return t.UTC().Truncate(time.Hour) }

// Bars are the starts of the charts' bars: local days or local hours, as whole UTC hours.
func (p Period) Bars() []time.Time {
	var out []time.Time
	if p.Step == StepHour {
		for t := p.Start; t.Before(p.End); t = t.Add(time.Hour) {
			out = append(out, t)
		}
		return out
	}
	for d := p.From; !d.After(p.To); d = d.AddDate(0, 0, 1) {
		out = append(out, floorHour(d))
	}
	return out
}

// span is a run of rollup rows of one grain: t in [from, to).
type span struct {
	grain    int
	from, to int64
}

// spans covers [Start, End) with whole weeks in the middle, whole UTC days around them and
// hours at the edges, so long ranges are summed from few rows.
func (p Period) spans() []span {
	return cover(p.Start.Unix()/3600, p.End.Unix()/3600, []int64{168, 24, 1})
}

// cover splits the hours [from, to) into runs of the coarsest grain that fits, then finer
// grains for what is left on either side.
func cover(from, to int64, grains []int64) []span {
	if from >= to {
		return nil
	}
	g := grains[0]
	if g == 1 {
		return []span{{1, from, to}}
	}
	lo, hi := (from+g-1)/g, to/g // whole units of g inside
	if lo >= hi {
		return cover(from, to, grains[1:])
	}
	out := cover(from, lo*g, grains[1:])
	out = append(out, span{int(g), lo, hi})
	return append(out, cover(hi*g, to, grains[1:])...)
}
