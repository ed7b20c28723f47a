package web

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/go-analyze/charts"

	"github.com/switchboard/switchboard/web/views"
)

// Charts are drawn on the server as SVG by go-analyze/charts from the same tables the page
// lists and the CSV exports write. The library writes style attributes, which the page's CSP
// (style-src 'self') would refuse inline; served as images of their own (image/svg+xml from a
// route with the page's permission) they are isolated documents and keep their styles. The
// page offers a dark variant through <picture> and prefers-color-scheme.

// chartColors are the series colors, distinguishable for the common colour-vision deficiencies
// (Okabe–Ito) and readable on both the light and the dark background.
var chartColors = []charts.Color{
	charts.ColorFromHex("#009E73"), // read: green
	charts.ColorFromHex("#56B4E9"), // delivered: sky blue
	charts.ColorFromHex("#E69F00"), // sent: orange
	charts.ColorFromHex("#D55E00"), // failed: vermillion
	charts.ColorFromHex("#CC79A7"),
	charts.ColorFromHex("#0072B2"),
}

func chartTheme(dark bool) charts.ColorPalette {
	opt := charts.ThemeOption{
		IsDarkMode:         dark,
		AxisStrokeColor:    charts.ColorFromHex("#6b7280"),
		AxisSplitLineColor: charts.ColorFromHex("#e5e7eb"),
		BackgroundColor:    charts.ColorFromHex("#ffffff"),
		TextColor:          charts.ColorFromHex("#1f2937"),
		SeriesColors:       chartColors,
	}
	if dark {
		opt.AxisSplitLineColor = charts.ColorFromHex("#374151")
		opt.AxisStrokeColor = charts.ColorFromHex("#9ca3af")
		opt.BackgroundColor = charts.ColorFromHex("#111827")
		opt.TextColor = charts.ColorFromHex("#e5e7eb")
	}
	return charts.MakeTheme(opt)
}

// Charts come in two sizes: wide for desktops, narrow for phones (where a wide chart scaled
// down to 350 px would have unreadable labels).
const (
	chartWidth, chartHeight   = 880, 340
	narrowWidth, narrowHeight = 420, 320
)

// analyticsChart draws the chart of a table, or ok=false for a table without one.
func analyticsChart(t views.DataTable, dark, narrow bool) ([]byte, bool, error) {
	theme := chartTheme(dark)
	w, h := chartWidth, chartHeight
	if narrow {
		w, h = narrowWidth, narrowHeight
	}
	p := charts.NewPainter(charts.PainterOptions{OutputFormat: charts.ChartOutputSVG, Width: w, Height: h},
		charts.PainterThemeOption(theme))
	var err error
	switch t.Name {
	case tableMessages:
		// Read, delivered, sent and failed are exclusive: stacked, they make the outgoing total.
		err = p.BarChart(barOption(t, theme, []int{1, 2, 3, 4}, true))
	case tableConversations:
		err = p.BarChart(categoryBars(barOption(t, theme, []int{1, 2}, false)))
	case tableFailures:
		opt := categoryBars(barOption(t, theme, []int{2}, false))
		opt.Legend.Show = charts.Ptr(false)
		err = p.BarChart(opt)
	case tableHeat:
		values := make([][]float64, len(t.Rows))
		for i, row := range t.Rows {
			values[i] = make([]float64, len(row)-1)
			for j, cell := range row[1:] {
				values[i][j] = number(cell)
			}
		}
		opt := charts.NewHeatMapOptionWithData(values)
		opt.Theme = theme
		opt.XAxis.Labels = t.Columns[1:]
		opt.XAxis.Title = "Hour"
		opt.XAxis.LabelCount = 12
		if narrow {
			opt.XAxis.LabelCount = 6
		}
		ys := make([]string, len(t.Rows))
		for i, row := range t.Rows {
			ys[i] = row[0][:3]
		}
		opt.YAxis.Labels = ys
		err = p.HeatMapChart(opt)
	default:
		return nil, false, nil
	}
	if err != nil {
		return nil, true, fmt.Errorf("draw %s chart: %w", t.Name, err)
	}
	b, err := p.Bytes()
	return b, true, err
}

// categoryBars lays bars of named things (numbers, error codes) sideways: their names then sit
// one per line beside the bars, where under vertical bars long names collide or are skipped.
// Names are cut to their first part ("Lucky Shrub", not the number after it); the table
// under the chart has them whole.
func categoryBars(opt charts.BarChartOption) charts.BarChartOption {
	opt.Horizontal = true
	labels := make([]string, len(opt.CategoryAxis.Labels))
	for i, l := range opt.CategoryAxis.Labels {
		if cut, _, ok := strings.Cut(l, " ("); ok {
			l = cut
		}
		if r := []rune(l); len(r) > 22 {
			l = string(r[:21]) + "…"
		}
		labels[i] = l
	}
	opt.CategoryAxis.Labels = labels
	return opt
}

func number(s string) float64 {
	f, _ := strconv.ParseFloat(s, 64)
	return f
}

// barOption is a bar chart of columns cols of t, one bar (or stack) per row.
func barOption(t views.DataTable, theme charts.ColorPalette, cols []int, stack bool) charts.BarChartOption {
	data := make([][]float64, len(cols))
	names := make([]string, len(cols))
	for i, c := range cols {
		names[i] = t.Columns[c]
		data[i] = make([]float64, len(t.Rows))
		for r, row := range t.Rows {
			data[i][r] = number(row[c])
		}
	}
	labels := make([]string, len(t.Rows))
	for r, row := range t.Rows {
		labels[r] = row[0]
	}
	opt := charts.NewBarChartOptionWithData(data)
	opt.Theme = theme
	opt.StackSeries = charts.Ptr(stack)
	opt.CategoryAxis.Labels = labels
	opt.Legend = charts.LegendOption{SeriesNames: names, Offset: charts.OffsetRight}
	opt.Padding = charts.Box{Top: 16, Right: 16, Bottom: 8, Left: 8}
	// Counts: whole numbers from zero, so bars compare honestly, on steps of 1, 2 or 5 times a
	// power of ten (the library's own steps would print 2.5 rounded to 2).
	var top float64
	for r := range t.Rows {
		var sum float64
		for i := range data {
			if stack {
				sum += data[i][r]
			} else {
				sum = max(sum, data[i][r])
			}
		}
		top = max(top, sum)
	}
	step, steps := countSteps(top, 6)
	opt.ValueAxis = []charts.ValueAxisOption{{
		Min: charts.Ptr(0.0), Max: charts.Ptr(step * float64(steps)), LabelCount: steps + 1,
		ValueFormatter: func(f float64) string { return strconv.FormatFloat(f, 'f', 0, 64) },
	}}
	return opt
}

// countSteps divides 0..top into at most maxSteps whole steps of 1, 2 or 5 times a power of ten.
func countSteps(top float64, maxSteps int) (step float64, steps int) {
	if top <= 0 {
		return 1, 1
	}
	for base := 1.0; ; base *= 10 {
		for _, m := range []float64{1, 2, 5} {
			step = base * m
			if n := int(math.Ceil(top / step)); n <= maxSteps {
				return step, max(n, 1)
			}
		}
	}
}
