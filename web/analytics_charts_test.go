package web

import "testing"

func TestChartCountAxisHasWholeRoundSteps(t *testing.T) {
	for _, c := range []struct {
		top   float64
		step  float64
		steps int
	}{
		{0, 1, 1}, {1, 1, 1}, {6, 1, 6}, {7, 2, 4}, {18, 5, 4}, {112, 20, 6}, {121, 50, 3}, {4300, 1000, 5},
	} {
		step, steps := countSteps(c.top, 6)
		if step != c.step || steps != c.steps {
			t.Errorf("countSteps(%v) = %v×%d, want %v×%d", c.top, step, steps, c.step, c.steps)
		}
		if float64(steps)*step < c.top {
			t.Errorf("countSteps(%v): axis ends at %v, below the largest bar", c.top, float64(steps)*step)
		}
	}
}
